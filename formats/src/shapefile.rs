//! Zipped Shapefile import, read by hand: every `.shp` in the archive (through
//! `archive`, so bombs and traversal are refused) with its `.dbf` attributes, its `.prj`
//! CRS (`crs`) and its `.cpg` encoding. Polygon, PolygonZ and PolygonM records become
//! features, one per record with all its parts (rings grouped by nesting, since
//! orientation in real files is unreliable, and not reported as repaired);
//! other shape types are skipped. Every length and count in the binary is checked
//! against the bytes present before it is used.

use std::collections::BTreeMap;

use super::archive::read_entries;
use super::crs::Crs;
use super::repair::{Repair, Rings, assemble_rings, clean_polygon_any_orientation};
use entmoot_plugin_sdk::geo::MultiPolygon;

use super::{ImportError, NamedPolygon};

/// Most rings one record may hold: grouping them by nesting compares every pair.
pub const MAX_RINGS_PER_RECORD: usize = 2_000;

/// Columns that name a feature, in order of preference (case-insensitive).
const NAME_COLUMNS: &[&str] = &["name", "label", "title", "descriptio", "parcel", "id"];

fn bad(file: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Shapefile {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// Reads every polygon layer of a zipped Shapefile; returns them with a description of
/// the source CRS.
pub fn read_polygons(
    bytes: &[u8],
    declared: Option<&Crs>,
) -> Result<(Vec<NamedPolygon>, String), ImportError> {
    let entries = read_entries(bytes, "Shapefile zip", |name| {
        let lower = name.to_ascii_lowercase();
        [".shp", ".dbf", ".prj", ".cpg"]
            .iter()
            .any(|extension| lower.ends_with(extension))
            && !lower.starts_with("__macosx/")
    })?;
    let mut layers: BTreeMap<String, [Option<&[u8]>; 4]> = BTreeMap::new();
    for entry in &entries {
        let lower = entry.name.to_ascii_lowercase();
        let Some((stem, extension)) = lower.rsplit_once('.') else {
            continue;
        };
        let slot = match extension {
            "shp" => 0,
            "dbf" => 1,
            "prj" => 2,
            "cpg" => 3,
            _ => continue,
        };
        let original_stem = entry.name[..stem.len()].to_owned();
        layers.entry(original_stem).or_default()[slot] = Some(&entry.bytes);
    }
    let mut polygons = Vec::new();
    let mut crs_names: Vec<String> = Vec::new();
    let mut shp_count = 0;
    for (stem, [shp, dbf, prj, cpg]) in &layers {
        let Some(shp) = shp else { continue };
        shp_count += 1;
        let shp_name = format!("{stem}.shp");
        let records = read_shp(shp, &shp_name)?;
        if records.is_empty() {
            continue;
        }
        let utf8 = cpg.is_none_or(|cpg| {
            let label = String::from_utf8_lossy(cpg).trim().to_ascii_uppercase();
            label.contains("UTF") && label.contains('8')
        });
        let attributes = match dbf {
            Some(dbf) => read_dbf(dbf, &format!("{stem}.dbf"), utf8)?,
            None => Vec::new(),
        };
        let mut layer_repairs = Vec::new();
        let crs = match (prj, declared) {
            (Some(prj), _) => {
                let wkt = String::from_utf8_lossy(prj);
                Crs::from_wkt(&wkt, &format!("{stem}.prj"))?
            }
            (None, Some(declared)) => declared.clone(),
            (None, None) => {
                let degrees = records
                    .iter()
                    .flat_map(|r| r.iter().flatten())
                    .all(|(x, y)| x.abs() <= 180.0 && y.abs() <= 90.0);
                if !degrees {
                    return Err(ImportError::UnknownCrs {
                        location: shp_name,
                        detail: "there is no .prj and no CRS was declared, and the coordinates are not longitudes and latitudes".into(),
                    });
                }
                layer_repairs.push(Repair {
                    location: shp_name.clone(),
                    action: "there is no .prj: the coordinates are within longitude/latitude range, so WGS84 was assumed".into(),
                });
                Crs::wgs84()
            }
        };
        if !crs_names.contains(&crs.name) {
            crs_names.push(crs.name.clone());
        }
        let to_wgs84 = crs.transformer(&shp_name)?;
        for (index, rings) in records.into_iter().enumerate() {
            if rings.is_empty() {
                continue;
            }
            let row = attributes.get(index).cloned().unwrap_or_default();
            let name = NAME_COLUMNS.iter().find_map(|column| {
                row.iter()
                    .find(|(key, value)| key.eq_ignore_ascii_case(column) && !value.is_empty())
                    .map(|(_, value)| value.clone())
            });
            let record_location = match &name {
                Some(name) => format!("{shp_name} record {} \"{name}\"", index + 1),
                None => format!("{shp_name} record {}", index + 1),
            };
            let mut converted = Vec::with_capacity(rings.len());
            for (ring_index, ring) in rings.into_iter().enumerate() {
                let mut points = Vec::with_capacity(ring.len());
                for (point_index, (x, y)) in ring.into_iter().enumerate() {
                    if !x.is_finite() || !y.is_finite() {
                        return Err(ImportError::InvalidGeometry {
                            location: format!(
                                "{record_location}, ring {ring_index}, point {point_index}"
                            ),
                            reason: format!(
                                "({x}, {y}) is not a number (NaN or infinite coordinate)"
                            ),
                        });
                    }
                    let converted_point =
                        to_wgs84
                            .convert(x, y)
                            .ok_or_else(|| ImportError::InvalidGeometry {
                                location: format!(
                                    "{record_location}, ring {ring_index}, point {point_index}"
                                ),
                                reason: format!(
                                    "({x}, {y}) cannot be converted from {} to WGS84",
                                    crs.name
                                ),
                            })?;
                    points.push(converted_point);
                }
                converted.push(points);
            }
            // A record with several exterior rings is one multi-part feature.
            let mut repairs = std::mem::take(&mut layer_repairs);
            let mut parts = Vec::new();
            for (part_index, part) in assemble_rings(converted).into_iter().enumerate() {
                let location = format!("{record_location}, part {part_index}");
                parts.push(clean_polygon_any_orientation(
                    &location,
                    &part,
                    &mut repairs,
                )?);
            }
            if parts.is_empty() {
                continue;
            }
            let mut properties: BTreeMap<String, String> = row.iter().cloned().collect();
            properties.insert("layer".into(), stem.clone());
            polygons.push(NamedPolygon {
                name: name.clone(),
                location: record_location,
                geometry: MultiPolygon::new(parts),
                properties,
                repairs,
            });
        }
    }
    if shp_count == 0 {
        return Err(bad("Shapefile zip", "the archive holds no .shp file"));
    }
    Ok((polygons, crs_names.join(", ")))
}

fn be_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le_f64(bytes: &[u8], at: usize) -> Option<f64> {
    Some(f64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The rings of every polygon record (empty for null and non-polygon records), in
/// record order.
pub fn read_shp(bytes: &[u8], file: &str) -> Result<Vec<Rings>, ImportError> {
    if bytes.len() < 100 || be_i32(bytes, 0) != Some(9994) {
        return Err(bad(
            file,
            "not a shapefile (no 9994 file code in a 100-byte header)",
        ));
    }
    let shape_type = le_i32(bytes, 32).unwrap_or(0);
    let mut records = Vec::new();
    let mut at = 100usize;
    while at + 8 <= bytes.len() {
        let number = be_i32(bytes, at).unwrap_or(0);
        let words = be_i32(bytes, at + 4).unwrap_or(-1);
        let content_start = at + 8;
        let length = usize::try_from(words)
            .ok()
            .and_then(|w| w.checked_mul(2))
            .filter(|length| content_start + length <= bytes.len())
            .ok_or_else(|| {
                bad(
                    file,
                    format!("record {number} at byte {at} claims {words} words, past the end of the file"),
                )
            })?;
        let content = &bytes[content_start..content_start + length];
        records.push(read_record(content, file, number, at)?);
        at = content_start + length;
    }
    if records.is_empty() && ![0, 5, 15, 25].contains(&shape_type) {
        return Ok(Vec::new());
    }
    Ok(records)
}

fn read_record(content: &[u8], file: &str, number: i32, at: usize) -> Result<Rings, ImportError> {
    let fail = |reason: String| bad(file, format!("record {number} (byte {at}): {reason}"));
    let record_type = le_i32(content, 0).ok_or_else(|| fail("is empty".into()))?;
    if ![5, 15, 25].contains(&record_type) {
        return Ok(Vec::new()); // null shapes, points, lines, multipatches
    }
    let parts_count = le_i32(content, 36).ok_or_else(|| fail("is truncated".into()))?;
    let points_count = le_i32(content, 40).ok_or_else(|| fail("is truncated".into()))?;
    let (Ok(parts_count), Ok(points_count)) =
        (usize::try_from(parts_count), usize::try_from(points_count))
    else {
        return Err(fail(format!(
            "negative part or point count ({parts_count}, {points_count})"
        )));
    };
    if parts_count > MAX_RINGS_PER_RECORD {
        return Err(fail(format!(
            "{parts_count} rings in one record; at most {MAX_RINGS_PER_RECORD} are read"
        )));
    }
    let points_at = 44 + 4 * parts_count;
    let needed = parts_count
        .checked_mul(4)
        .and_then(|p| points_count.checked_mul(16).map(|q| 44 + p + q));
    if parts_count == 0 || parts_count > points_count || needed.is_none_or(|n| n > content.len()) {
        return Err(fail(format!(
            "{parts_count} parts and {points_count} points do not fit in its {} bytes",
            content.len()
        )));
    }
    let mut starts = Vec::with_capacity(parts_count);
    for part in 0..parts_count {
        let start = le_i32(content, 44 + 4 * part)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|s| *s < points_count)
            .ok_or_else(|| fail(format!("part {part} starts outside its points")))?;
        if starts.last().is_some_and(|previous| start <= *previous) {
            return Err(fail(format!(
                "part {part} does not start after part {}",
                part - 1
            )));
        }
        starts.push(start);
    }
    if starts.first() != Some(&0) {
        return Err(fail("the first part does not start at point 0".into()));
    }
    let mut rings = Vec::with_capacity(parts_count);
    for (part, start) in starts.iter().enumerate() {
        let end = starts.get(part + 1).copied().unwrap_or(points_count);
        let mut ring = Vec::with_capacity(end - start);
        for point in *start..end {
            let offset = points_at + 16 * point;
            match (le_f64(content, offset), le_f64(content, offset + 8)) {
                (Some(x), Some(y)) => ring.push((x, y)),
                _ => return Err(fail(format!("point {point} is truncated"))),
            }
        }
        rings.push(ring);
    }
    Ok(rings)
}

/// The rows of a dBASE table as `(column, trimmed text)` pairs.
pub fn read_dbf(
    bytes: &[u8],
    file: &str,
    utf8: bool,
) -> Result<Vec<Vec<(String, String)>>, ImportError> {
    if bytes.len() < 33 {
        return Err(bad(file, "the dBASE header is truncated"));
    }
    let records = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let header_length = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let record_length = u16::from_le_bytes([bytes[10], bytes[11]]) as usize;
    if header_length < 33 || header_length > bytes.len() || record_length == 0 {
        return Err(bad(
            file,
            format!("header length {header_length} or record length {record_length} is impossible"),
        ));
    }
    let mut columns: Vec<(String, usize)> = Vec::new();
    let mut at = 32;
    while at + 32 <= header_length && bytes[at] != 0x0D {
        let raw_name = &bytes[at..at + 11];
        let end = raw_name.iter().position(|b| *b == 0).unwrap_or(11);
        let name = String::from_utf8_lossy(&raw_name[..end]).trim().to_owned();
        columns.push((name, bytes[at + 16] as usize));
        at += 32;
    }
    let total: usize = 1 + columns.iter().map(|(_, width)| width).sum::<usize>();
    if total > record_length {
        return Err(bad(
            file,
            format!("columns need {total} bytes but records have {record_length}"),
        ));
    }
    let available = (bytes.len() - header_length) / record_length;
    let mut rows = Vec::with_capacity(records.min(available));
    for record in 0..records.min(available) {
        let start = header_length + record * record_length;
        let mut at = start + 1;
        let mut row = Vec::with_capacity(columns.len());
        for (name, width) in &columns {
            let raw = &bytes[at..at + width];
            let text = if utf8 {
                String::from_utf8_lossy(raw).into_owned()
            } else {
                raw.iter().map(|b| char::from(*b)).collect()
            };
            row.push((name.clone(), text.trim().to_owned()));
            at += width;
        }
        rows.push(row);
    }
    Ok(rows)
}
