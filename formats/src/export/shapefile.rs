//! Zipped Shapefile export, written by hand (ESRI Shapefile Technical Description, 1998):
//! one `.shp`/`.shx`/`.dbf`/`.prj`/`.cpg` set per layer (boundary, setback, exclusions,
//! steep ground, entrances, roads, assets) in WGS84, attributes as dBASE III columns (UTF-8, as the
//! `.cpg` says). Outer rings are clockwise and holes counter-clockwise, as the format
//! requires.

use std::io::Write as _;

use entmoot_plugin_sdk::geo::{Geometry, LineString, Winding};

use super::{ExportError, FeatureKind, Scene, SceneFeature, Value, polygons_of};

/// The `.prj` of WGS84 longitude/latitude, in ESRI's WKT dialect.
pub const WGS84_PRJ: &str = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

const LAYERS: &[(FeatureKind, &str, ShapeType)] = &[
    (FeatureKind::Boundary, "boundary", ShapeType::Polygon),
    (FeatureKind::Setback, "setback", ShapeType::Polygon),
    (FeatureKind::Exclusion, "exclusions", ShapeType::Polygon),
    (FeatureKind::SteepGround, "steep_ground", ShapeType::Polygon),
    (FeatureKind::Entrance, "entrances", ShapeType::Point),
    (FeatureKind::Road, "roads", ShapeType::PolyLine),
    (FeatureKind::Asset, "assets", ShapeType::Polygon),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeType {
    Point = 1,
    PolyLine = 3,
    Polygon = 5,
}

/// The files of one layer.
pub struct LayerFiles {
    pub shp: Vec<u8>,
    pub shx: Vec<u8>,
    pub dbf: Vec<u8>,
}

pub fn write_zip(scene: &Scene) -> Result<Vec<u8>, ExportError> {
    let fail = |error: &dyn std::fmt::Display| ExportError::Write {
        format: "Shapefile",
        reason: error.to_string(),
    };
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (kind, name, shape_type) in LAYERS {
        let features: Vec<&SceneFeature> = scene.of_kind(*kind).collect();
        if features.is_empty() {
            continue;
        }
        let files = write_layer(&features, *shape_type);
        for (extension, bytes) in [
            ("shp", files.shp.as_slice()),
            ("shx", files.shx.as_slice()),
            ("dbf", files.dbf.as_slice()),
            ("prj", WGS84_PRJ.as_bytes()),
            ("cpg", b"UTF-8".as_slice()),
        ] {
            archive
                .start_file(format!("{name}.{extension}"), options)
                .map_err(|e| fail(&e))?;
            archive.write_all(bytes).map_err(|e| fail(&e))?;
        }
    }
    let cursor = archive.finish().map_err(|e| fail(&e))?;
    Ok(cursor.into_inner())
}

/// Writes one layer's `.shp`, `.shx` and `.dbf` from features in WGS84.
pub fn write_layer(features: &[&SceneFeature], shape_type: ShapeType) -> LayerFiles {
    let mut records: Vec<Vec<u8>> = Vec::with_capacity(features.len());
    let mut bounds = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for feature in features {
        let parts = parts_of(&feature.wgs84, shape_type);
        for (x, y) in parts.iter().flatten() {
            bounds = [
                bounds[0].min(*x),
                bounds[1].min(*y),
                bounds[2].max(*x),
                bounds[3].max(*y),
            ];
        }
        records.push(record_content(shape_type, &parts));
    }
    if !bounds.iter().all(|b| b.is_finite()) {
        bounds = [0.0; 4];
    }
    let shp_length: usize = 100 + records.iter().map(|r| 8 + r.len()).sum::<usize>();
    let shx_length = 100 + 8 * records.len();
    let mut shp = header(shape_type, shp_length, bounds);
    let mut shx = header(shape_type, shx_length, bounds);
    for (index, content) in records.iter().enumerate() {
        let offset_words = shp.len() / 2;
        shp.extend_from_slice(&(index as i32 + 1).to_be_bytes());
        shp.extend_from_slice(&((content.len() / 2) as i32).to_be_bytes());
        shp.extend_from_slice(content);
        shx.extend_from_slice(&(offset_words as i32).to_be_bytes());
        shx.extend_from_slice(&((content.len() / 2) as i32).to_be_bytes());
    }
    LayerFiles {
        shp,
        shx,
        dbf: write_dbf(features),
    }
}

/// The parts of a geometry in Shapefile order: outer rings clockwise, holes
/// counter-clockwise; a point is one part of one position.
fn parts_of(geometry: &Geometry<f64>, shape_type: ShapeType) -> Vec<Vec<(f64, f64)>> {
    let ring = |line: &LineString<f64>, clockwise: bool| -> Vec<(f64, f64)> {
        let mut line = line.clone();
        line.close();
        if clockwise {
            line.make_cw_winding();
        } else {
            line.make_ccw_winding();
        }
        line.0.iter().map(|c| (c.x, c.y)).collect()
    };
    match (shape_type, geometry) {
        (ShapeType::Point, Geometry::Point(point)) => vec![vec![(point.x(), point.y())]],
        (ShapeType::PolyLine, Geometry::LineString(line)) => {
            vec![line.0.iter().map(|c| (c.x, c.y)).collect()]
        }
        (ShapeType::Polygon, other) => {
            let mut parts = Vec::new();
            for polygon in polygons_of(other) {
                parts.push(ring(polygon.exterior(), true));
                for hole in polygon.interiors() {
                    parts.push(ring(hole, false));
                }
            }
            parts
        }
        _ => Vec::new(),
    }
}

fn record_content(shape_type: ShapeType, parts: &[Vec<(f64, f64)>]) -> Vec<u8> {
    let mut out = Vec::new();
    let points: Vec<(f64, f64)> = parts.iter().flatten().copied().collect();
    if points.is_empty() {
        out.extend_from_slice(&0i32.to_le_bytes()); // null shape
        return out;
    }
    out.extend_from_slice(&(shape_type as i32).to_le_bytes());
    if shape_type == ShapeType::Point {
        out.extend_from_slice(&points[0].0.to_le_bytes());
        out.extend_from_slice(&points[0].1.to_le_bytes());
        return out;
    }
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in &points {
        min_x = min_x.min(*x);
        min_y = min_y.min(*y);
        max_x = max_x.max(*x);
        max_y = max_y.max(*y);
    }
    for value in [min_x, min_y, max_x, max_y] {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&(parts.len() as i32).to_le_bytes());
    out.extend_from_slice(&(points.len() as i32).to_le_bytes());
    let mut start = 0i32;
    for part in parts {
        out.extend_from_slice(&start.to_le_bytes());
        start += part.len() as i32;
    }
    for (x, y) in points {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
    out
}

fn header(shape_type: ShapeType, length_bytes: usize, bounds: [f64; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(100);
    out.extend_from_slice(&9994i32.to_be_bytes());
    out.extend_from_slice(&[0u8; 20]);
    out.extend_from_slice(&((length_bytes / 2) as i32).to_be_bytes());
    out.extend_from_slice(&1000i32.to_le_bytes());
    out.extend_from_slice(&(shape_type as i32).to_le_bytes());
    for value in bounds {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&[0u8; 32]);
    out
}

/// A dBASE III table of the features' attributes: text as `C` columns as wide as the
/// longest value (at most 254 bytes), numbers as `N` 19.6 columns.
fn write_dbf(features: &[&SceneFeature]) -> Vec<u8> {
    struct Column {
        name: &'static str,
        numeric: bool,
        width: usize,
    }
    let mut columns: Vec<Column> = Vec::new();
    for feature in features {
        for (name, value) in &feature.attributes {
            let text_width = match value {
                Value::Text(text) => text.len().clamp(1, 254),
                Value::Number(_) => 0,
            };
            match columns.iter_mut().find(|c| c.name == *name) {
                Some(column) => column.width = column.width.max(text_width),
                None => columns.push(Column {
                    name,
                    numeric: matches!(value, Value::Number(_)),
                    width: if matches!(value, Value::Number(_)) {
                        19
                    } else {
                        text_width
                    },
                }),
            }
        }
    }
    let record_length = 1 + columns.iter().map(|c| c.width).sum::<usize>();
    let header_length = 32 + 32 * columns.len() + 1;
    let mut out = Vec::new();
    out.push(0x03);
    out.extend_from_slice(&[126, 1, 1]); // 2026-01-01: the date is informative only
    out.extend_from_slice(&(features.len() as u32).to_le_bytes());
    out.extend_from_slice(&(header_length as u16).to_le_bytes());
    out.extend_from_slice(&(record_length as u16).to_le_bytes());
    out.extend_from_slice(&[0u8; 20]);
    for column in &columns {
        let mut name = [0u8; 11];
        for (slot, byte) in name
            .iter_mut()
            .zip(dbase_column(column.name).bytes().take(10))
        {
            *slot = byte;
        }
        out.extend_from_slice(&name);
        out.push(if column.numeric { b'N' } else { b'C' });
        out.extend_from_slice(&[0u8; 4]);
        out.push(column.width as u8);
        out.push(if column.numeric { 6 } else { 0 });
        out.extend_from_slice(&[0u8; 14]);
    }
    out.push(0x0D);
    for feature in features {
        out.push(b' ');
        for column in &columns {
            let cell = match feature.attribute(column.name) {
                Some(Value::Number(number)) if column.numeric && number.is_finite() => {
                    let text = format!("{number:.6}");
                    if text.len() <= column.width {
                        format!("{text:>width$}", width = column.width)
                    } else {
                        " ".repeat(column.width)
                    }
                }
                Some(value) if !column.numeric => {
                    let full = value.display_full();
                    let text = truncate_utf8(&full, column.width);
                    let mut cell = text.to_owned();
                    cell.push_str(&" ".repeat(column.width - text.len()));
                    cell
                }
                _ => " ".repeat(column.width),
            };
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.push(0x1A);
    out
}

/// A column's name in the `.dbf`: dBASE names have at most 10 characters, so the two
/// longer attribute names of the export schema get the short forms
/// docs/export-attributes.md lists; every other name fits as it is.
pub fn dbase_column(attribute: &str) -> &str {
    match attribute {
        "exclusion_kind" => "excl_kind",
        "max_slope_percent" => "max_slope",
        other => other,
    }
}

fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo_scene;
    use super::*;

    #[test]
    fn every_attribute_has_a_dbase_column_of_ten_characters_or_fewer() {
        assert_eq!(dbase_column("exclusion_kind"), "excl_kind");
        assert_eq!(dbase_column("max_slope_percent"), "max_slope");
        for feature in &demo_scene("Demo").features {
            let mut seen = std::collections::BTreeSet::new();
            for (name, _) in &feature.attributes {
                let column = dbase_column(name);
                assert!(column.len() <= 10, "{name} → {column}");
                assert!(
                    seen.insert(column),
                    "two attributes share the column {column}"
                );
            }
        }
    }

    #[test]
    fn layers_have_consistent_lengths_and_clockwise_rings() {
        let scene = demo_scene("Demo");
        let assets: Vec<&SceneFeature> = scene.of_kind(FeatureKind::Asset).collect();
        let files = write_layer(&assets, ShapeType::Polygon);
        let words = i32::from_be_bytes(files.shp[24..28].try_into().unwrap());
        assert_eq!(words as usize * 2, files.shp.len());
        assert_eq!(files.shx.len(), 100 + 8 * 2);
        let records = u32::from_le_bytes(files.dbf[4..8].try_into().unwrap());
        assert_eq!(records, 2);
        assert_eq!(*files.dbf.last().unwrap(), 0x1A);
        let parts = parts_of(&assets[0].wgs84, ShapeType::Polygon);
        assert!(LineString::from(parts[0].clone()).is_cw());
        assert_eq!(truncate_utf8("éé", 3), "é");
        assert_eq!(&write_zip(&scene).unwrap()[..2], b"PK");
    }
}
