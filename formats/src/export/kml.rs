//! KML and KMZ export: one Folder per layer (boundary, setback, exclusions, steep ground, entrances,
//! roads, assets), a shared Style per kind (and per asset type), each Placemark with its
//! attributes as typed ExtendedData: one `Schema` per layer declares every attribute as
//! `string` or `double`, and each Placemark's `SchemaData` fills it, so GIS readers get
//! numbers as numbers (untyped `Data` elements arrive as text). KMZ is the same document
//! zipped as `doc.kml`.

use std::fmt::Write as _;
use std::io::Write as _;

use entmoot_plugin_sdk::geo::{Geometry, LineString, Polygon};

use super::{ExportError, FeatureKind, Scene, SceneFeature, Value, polygons_of, xml_escape};

/// `(style id, line colour, line width, fill colour or None)`, colours as KML `aabbggrr`.
const STYLES: &[(&str, &str, f64, Option<&str>)] = &[
    ("boundary", "ff00ffff", 3.0, None),
    ("setback", "ff00a5ff", 1.5, None),
    ("exclusion", "ff0000ff", 2.0, Some("660000ff")),
    ("steep_ground", "ff1e5a8c", 1.0, Some("661e5a8c")),
    ("entrance", "ff00ff00", 2.0, None),
    ("road", "ff808080", 4.0, None),
    ("asset-building", "ffff0000", 1.5, Some("b3ff8000")),
    ("asset-parking_lot", "ff606060", 1.5, Some("b3a0a0a0")),
    ("asset-equipment_yard", "ff008080", 1.5, Some("b300c0c0")),
    ("asset-storage_tank", "ff800080", 1.5, Some("b3c000c0")),
    ("asset-pond", "ffc08000", 1.5, Some("b3ffc000")),
    ("asset-custom", "ff404040", 1.5, Some("b3808080")),
];

const FOLDERS: &[(FeatureKind, &str)] = &[
    (FeatureKind::Boundary, "Boundary"),
    (FeatureKind::Setback, "Setback"),
    (FeatureKind::Exclusion, "Exclusion zones"),
    (FeatureKind::SteepGround, "Steep ground"),
    (FeatureKind::Entrance, "Entrances"),
    (FeatureKind::Road, "Roads"),
    (FeatureKind::Asset, "Assets"),
];

pub fn write_kml(scene: &Scene) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n");
    let _ = writeln!(out, "<name>{}</name>", xml_escape(&scene.title));
    let _ = writeln!(
        out,
        "<description>Entmoot layout; computed in UTM (EPSG:{}), written in WGS84.</description>",
        scene.epsg
    );
    for (id, line, width, fill) in STYLES {
        let _ = write!(
            out,
            "<Style id=\"{id}\"><LineStyle><color>{line}</color><width>{width}</width></LineStyle>"
        );
        match fill {
            Some(fill) => {
                let _ = write!(out, "<PolyStyle><color>{fill}</color></PolyStyle>");
            }
            None => out.push_str("<PolyStyle><fill>0</fill></PolyStyle>"),
        }
        if *id == "entrance" {
            out.push_str("<IconStyle><color>ff00ff00</color></IconStyle>");
        }
        out.push_str("</Style>\n");
    }
    for (kind, _) in FOLDERS {
        let members: Vec<&SceneFeature> = scene.of_kind(*kind).collect();
        schema(&mut out, *kind, &members);
    }
    for (kind, folder) in FOLDERS {
        let members: Vec<&SceneFeature> = scene.of_kind(*kind).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<Folder><name>{folder}</name>");
        for feature in members {
            placemark(&mut out, feature);
        }
        out.push_str("</Folder>\n");
    }
    out.push_str("</Document>\n</kml>\n");
    out
}

pub fn write_kmz(scene: &Scene) -> Result<Vec<u8>, ExportError> {
    let kml = write_kml(scene);
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let fail = |error: &dyn std::fmt::Display| ExportError::Write {
        format: "KMZ",
        reason: error.to_string(),
    };
    archive
        .start_file(
            "doc.kml",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .map_err(|e| fail(&e))?;
    archive.write_all(kml.as_bytes()).map_err(|e| fail(&e))?;
    let cursor = archive.finish().map_err(|e| fail(&e))?;
    Ok(cursor.into_inner())
}

fn style_of(feature: &SceneFeature) -> String {
    match feature.kind {
        FeatureKind::Asset => {
            let asset_type = feature
                .attribute("asset_type")
                .map(|value| value.display())
                .unwrap_or_else(|| "custom".into());
            if STYLES
                .iter()
                .any(|(id, ..)| id.strip_prefix("asset-") == Some(asset_type.as_str()))
            {
                format!("asset-{asset_type}")
            } else {
                "asset-custom".into()
            }
        }
        other => other.as_str().to_owned(),
    }
}

/// The id of a layer's `Schema`.
fn schema_id(kind: FeatureKind) -> String {
    format!("{}-attributes", kind.as_str())
}

/// A layer's `Schema`: every attribute any of its features has, in order of first
/// appearance, typed by its value (the scene gives one attribute the same type in every
/// feature).
fn schema(out: &mut String, kind: FeatureKind, members: &[&SceneFeature]) {
    if members.is_empty() {
        return;
    }
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for feature in members {
        for (key, value) in &feature.attributes {
            if fields.iter().any(|(name, _)| name == key) {
                continue;
            }
            let kml_type = match value {
                Value::Text(_) => "string",
                Value::Number(_) => "double",
            };
            fields.push((key, kml_type));
        }
    }
    let _ = write!(
        out,
        "<Schema name=\"{}\" id=\"{}\">",
        kind.as_str(),
        schema_id(kind)
    );
    for (name, kml_type) in fields {
        let _ = write!(out, "<SimpleField name=\"{name}\" type=\"{kml_type}\"/>");
    }
    out.push_str("</Schema>\n");
}

fn placemark(out: &mut String, feature: &SceneFeature) {
    let _ = write!(
        out,
        "<Placemark><name>{}</name><styleUrl>#{}</styleUrl><ExtendedData><SchemaData schemaUrl=\"#{}\">",
        xml_escape(&feature.label),
        style_of(feature),
        schema_id(feature.kind)
    );
    for (key, value) in &feature.attributes {
        let _ = write!(
            out,
            "<SimpleData name=\"{key}\">{}</SimpleData>",
            xml_escape(&value.display_full())
        );
    }
    out.push_str("</SchemaData></ExtendedData>");
    geometry(out, &feature.wgs84);
    out.push_str("</Placemark>\n");
}

fn geometry(out: &mut String, geometry: &Geometry<f64>) {
    match geometry {
        Geometry::Point(point) => {
            let _ = write!(
                out,
                "<Point><coordinates>{:.9},{:.9},0</coordinates></Point>",
                point.x(),
                point.y()
            );
        }
        Geometry::LineString(line) => {
            out.push_str("<LineString><tessellate>1</tessellate><coordinates>");
            coordinates(out, line);
            out.push_str("</coordinates></LineString>");
        }
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => {
            let polygons = polygons_of(geometry);
            if polygons.len() == 1 {
                polygon(out, polygons[0]);
            } else {
                out.push_str("<MultiGeometry>");
                for part in polygons {
                    polygon(out, part);
                }
                out.push_str("</MultiGeometry>");
            }
        }
        _ => {}
    }
}

fn polygon(out: &mut String, polygon: &Polygon<f64>) {
    out.push_str("<Polygon><outerBoundaryIs><LinearRing><coordinates>");
    coordinates(out, polygon.exterior());
    out.push_str("</coordinates></LinearRing></outerBoundaryIs>");
    for hole in polygon.interiors() {
        out.push_str("<innerBoundaryIs><LinearRing><coordinates>");
        coordinates(out, hole);
        out.push_str("</coordinates></LinearRing></innerBoundaryIs>");
    }
    out.push_str("</Polygon>");
}

fn coordinates(out: &mut String, line: &LineString<f64>) {
    for (index, c) in line.0.iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{:.9},{:.9},0", c.x, c.y);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo_scene;
    use super::*;

    #[test]
    fn writes_styles_folders_and_extended_data_that_read_back() {
        let scene = demo_scene("Demo & <test>");
        let kml = write_kml(&scene);
        assert!(kml.contains("<name>Demo &amp; &lt;test&gt;</name>"));
        assert!(kml.contains("<styleUrl>#asset-building</styleUrl>"));
        assert!(kml.contains("<SimpleData name=\"asset_id\">building-1</SimpleData>"));
        assert!(kml.contains(
            "<Schema name=\"asset\" id=\"asset-attributes\"><SimpleField name=\"kind\" type=\"string\"/>"
        ));
        assert!(kml.contains("<SimpleField name=\"area_m2\" type=\"double\"/>"));
        // Our own reader finds the boundary, setback and both footprints.
        let polygons = crate::kml::read_polygons(&kml).unwrap();
        assert_eq!(polygons.len(), 4);
        let kmz = write_kmz(&scene).unwrap();
        assert_eq!(&kmz[..2], b"PK");
    }
}
