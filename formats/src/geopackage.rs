//! GeoPackage parcels (OGC 12-128): every polygon feature table named in
//! `gpkg_geometry_columns`, each feature's GeoPackage binary geometry (the `GP` header,
//! then WKB: Polygon or MultiPolygon, with Z or M dropped) converted to WGS84 from the
//! table's `srs_id` through `gpkg_spatial_ref_sys` (an EPSG code, or the WKT there).
//!
//! The file is a stranger's SQLite database, opened read-only from a private copy with
//! SQLite's defensive mode on and untrusted schema objects (views, triggers, functions
//! in the schema) refused; only plain SELECTs on the tables the package names run, table
//! names quoted. At most `MAX_FEATURES` features and `MAX_VERTICES` vertices are read.

use std::collections::BTreeMap;

use entmoot_plugin_sdk::geo::MultiPolygon;

use crate::crs::Crs;
use crate::repair::{Repair, clean_polygon_any_orientation};
use crate::{ImportError, NamedPolygon};

/// More polygon features than any parcel file has; a larger package is refused.
pub const MAX_FEATURES: usize = 10_000;
/// Vertices read over all features, before any other limit of the caller applies.
pub const MAX_VERTICES: usize = 2_000_000;
/// Columns that name a feature, in order of preference (case-insensitive).
const NAME_COLUMNS: &[&str] = &["name", "label", "title", "description", "parcel", "id"];

/// A GeoPackage is an SQLite file whose application id says GPKG (1.2 and later) or GP10
/// / GP11 (1.0, 1.1).
pub fn looks_like_geopackage(bytes: &[u8]) -> bool {
    bytes.starts_with(b"SQLite format 3\0")
        && matches!(bytes.get(68..72), Some(b"GPKG" | b"GP10" | b"GP11"))
}

fn refused(location: impl Into<String>, reason: impl Into<String>) -> ImportError {
    ImportError::GeoPackage {
        location: location.into(),
        reason: reason.into(),
    }
}

/// The polygons of every polygon layer, and the names of the CRSs they were in.
pub fn read_polygons(
    bytes: &[u8],
    declared: Option<&Crs>,
) -> Result<(Vec<NamedPolygon>, String), ImportError> {
    let directory = tempfile::tempdir()
        .map_err(|error| refused("the file", format!("cannot be copied to read: {error}")))?;
    let path = directory.path().join("upload.gpkg");
    std::fs::write(&path, bytes)
        .map_err(|error| refused("the file", format!("cannot be copied to read: {error}")))?;
    let connection = open_untrusted(&path)?;
    let sql_error = |location: &str| {
        let location = location.to_owned();
        move |error: rusqlite::Error| refused(location.clone(), error.to_string())
    };
    let layers: Vec<(String, String, String, i64)> = connection
        .prepare(
            "SELECT table_name, column_name, upper(geometry_type_name), srs_id FROM gpkg_geometry_columns ORDER BY table_name",
        )
        .and_then(|mut statement| {
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(sql_error("gpkg_geometry_columns"))?;
    let mut polygons = Vec::new();
    let mut crs_names: Vec<String> = Vec::new();
    let mut vertices = 0usize;
    for (table, column, geometry_type, srs_id) in layers {
        if !matches!(
            geometry_type.as_str(),
            "POLYGON" | "MULTIPOLYGON" | "GEOMETRY" | "CURVEPOLYGON" | "MULTISURFACE"
        ) {
            continue;
        }
        let crs = crs_of(&connection, srs_id, &table, declared)?;
        if !crs_names.contains(&crs.name) {
            crs_names.push(crs.name.clone());
        }
        let to_wgs84 = crs.transformer(&format!("layer \"{table}\""))?;
        let names = column_names(&connection, &table)?;
        let name_column = NAME_COLUMNS.iter().find_map(|wanted| {
            names
                .iter()
                .find(|name| name.eq_ignore_ascii_case(wanted) && **name != column)
        });
        let mut statement = connection
            .prepare(&format!(
                "SELECT {}, {} FROM {}",
                quoted(&column),
                name_column.map_or_else(|| "NULL".to_owned(), |name| quoted(name)),
                quoted(&table)
            ))
            .map_err(sql_error(&format!("layer \"{table}\"")))?;
        let mut rows = statement
            .query([])
            .map_err(sql_error(&format!("layer \"{table}\"")))?;
        let mut index = 0usize;
        while let Some(row) = rows
            .next()
            .map_err(sql_error(&format!("layer \"{table}\"")))?
        {
            index += 1;
            let geometry: rusqlite::types::Value = row
                .get(0)
                .map_err(sql_error(&format!("layer \"{table}\" feature {index}")))?;
            let name: Option<String> = row
                .get::<_, Option<String>>(1)
                .ok()
                .flatten()
                .filter(|name| !name.trim().is_empty());
            let location = match &name {
                Some(name) => format!("layer \"{table}\" feature {index} \"{name}\""),
                None => format!("layer \"{table}\" feature {index}"),
            };
            let blob = match geometry {
                rusqlite::types::Value::Null => continue,
                rusqlite::types::Value::Blob(blob) => blob,
                other => {
                    return Err(ImportError::InvalidGeometry {
                        location,
                        reason: format!(
                            "the geometry column holds {:?}, not a GeoPackage geometry (a BLOB)",
                            other.data_type()
                        ),
                    });
                }
            };
            let parts = geometry_of(&blob, &location)?;
            if parts.is_empty() {
                continue;
            }
            if polygons.len() >= MAX_FEATURES {
                return Err(refused(
                    "the file",
                    format!("it holds more than {MAX_FEATURES} polygon features"),
                ));
            }
            let mut repairs: Vec<Repair> = Vec::new();
            let mut cleaned = Vec::new();
            for (part_index, rings) in parts.into_iter().enumerate() {
                let mut converted = Vec::with_capacity(rings.len());
                for (ring_index, ring) in rings.into_iter().enumerate() {
                    vertices += ring.len();
                    if vertices > MAX_VERTICES {
                        return Err(refused(
                            "the file",
                            format!("it holds more than {MAX_VERTICES} polygon vertices"),
                        ));
                    }
                    let mut points = Vec::with_capacity(ring.len());
                    for (point_index, (x, y)) in ring.into_iter().enumerate() {
                        let place = || {
                            format!(
                                "{location}, part {part_index}, ring {ring_index}, point {point_index}"
                            )
                        };
                        if !x.is_finite() || !y.is_finite() {
                            return Err(ImportError::InvalidGeometry {
                                location: place(),
                                reason: format!(
                                    "({x}, {y}) is not a number (NaN or infinite coordinate)"
                                ),
                            });
                        }
                        points.push(to_wgs84.convert(x, y).ok_or_else(|| {
                            ImportError::InvalidGeometry {
                                location: place(),
                                reason: format!(
                                    "({x}, {y}) cannot be converted from {} to WGS84",
                                    crs.name
                                ),
                            }
                        })?);
                    }
                    converted.push(points);
                }
                cleaned.push(clean_polygon_any_orientation(
                    &format!("{location}, part {part_index}"),
                    &converted,
                    &mut repairs,
                )?);
            }
            let mut properties = BTreeMap::new();
            properties.insert("layer".to_owned(), table.clone());
            if let Some(name) = &name {
                properties.insert("name".to_owned(), name.clone());
            }
            polygons.push(NamedPolygon {
                name,
                location,
                geometry: MultiPolygon::new(cleaned),
                properties,
                repairs,
            });
        }
    }
    Ok((polygons, crs_names.join(", ")))
}

fn open_untrusted(path: &std::path::Path) -> Result<rusqlite::Connection, ImportError> {
    use rusqlite::OpenFlags;
    use rusqlite::config::DbConfig;
    let fail = |error: rusqlite::Error| {
        refused("the file", format!("is not a readable GeoPackage: {error}"))
    };
    let connection = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    connection
        .set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
        .map_err(fail)?;
    connection
        .set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
        .map_err(fail)?;
    // A damaged or hand-made file is found out here, before any feature is read.
    let check: String = connection
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(fail)?;
    if check != "ok" {
        return Err(refused(
            "the file",
            format!("the SQLite database is damaged: {check}"),
        ));
    }
    Ok(connection)
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn column_names(
    connection: &rusqlite::Connection,
    table: &str,
) -> Result<Vec<String>, ImportError> {
    connection
        .prepare(&format!("SELECT * FROM {} LIMIT 0", quoted(table)))
        .map(|statement| {
            statement
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect()
        })
        .map_err(|error| refused(format!("layer \"{table}\""), error.to_string()))
}

/// The CRS of a layer: EPSG codes the crate knows, else the WKT the package stores; an
/// undefined SRS (0 or -1) is the declared CRS, or WGS84 when none was declared.
fn crs_of(
    connection: &rusqlite::Connection,
    srs_id: i64,
    table: &str,
    declared: Option<&Crs>,
) -> Result<Crs, ImportError> {
    let location = format!("layer \"{table}\"");
    if srs_id == 0 || srs_id == -1 {
        return Ok(declared.cloned().unwrap_or_else(Crs::wgs84));
    }
    let row: Option<(String, i64, String)> = connection
        .query_row(
            "SELECT upper(organization), organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .ok();
    let Some((organization, code, definition)) = row else {
        return Err(ImportError::UnknownCrs {
            location,
            detail: format!("srs_id {srs_id} is not in gpkg_spatial_ref_sys"),
        });
    };
    if organization == "EPSG"
        && let Some(crs) = u32::try_from(code).ok().and_then(Crs::from_epsg)
    {
        return Ok(crs);
    }
    Crs::from_wkt(&definition, &location)
}

type Rings = Vec<Vec<(f64, f64)>>;

/// The polygons of a GeoPackage binary geometry, each as rings (exterior first).
fn geometry_of(blob: &[u8], location: &str) -> Result<Vec<Rings>, ImportError> {
    let bad = |reason: &str| ImportError::InvalidGeometry {
        location: location.to_owned(),
        reason: reason.to_owned(),
    };
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(bad("the geometry is not GeoPackage binary (no GP header)"));
    }
    let flags = blob[3];
    if flags & 0b0010_0000 != 0 {
        return Err(bad(
            "the geometry uses an extended GeoPackage geometry type, which is not read",
        ));
    }
    if flags & 0b0001_0000 != 0 {
        return Ok(Vec::new());
    }
    let envelope_bytes = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => {
            return Err(bad(
                "the GeoPackage geometry header has an invalid envelope code",
            ));
        }
    };
    let wkb = blob
        .get(8 + envelope_bytes..)
        .ok_or_else(|| bad("the geometry ends inside its header"))?;
    let mut reader = WkbReader {
        bytes: wkb,
        at: 0,
        location,
    };
    let polygons = reader.geometry(0)?;
    Ok(polygons)
}

struct WkbReader<'a> {
    bytes: &'a [u8],
    at: usize,
    location: &'a str,
}

impl WkbReader<'_> {
    fn bad(&self, reason: String) -> ImportError {
        ImportError::InvalidGeometry {
            location: self.location.to_owned(),
            reason: format!("WKB at byte {}: {reason}", self.at),
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], ImportError> {
        let taken = self
            .bytes
            .get(self.at..self.at + N)
            .and_then(|slice| <[u8; N]>::try_from(slice).ok())
            .ok_or_else(|| self.bad("the geometry ends early".into()))?;
        self.at += N;
        Ok(taken)
    }

    fn u32(&mut self, little: bool) -> Result<u32, ImportError> {
        let bytes = self.take::<4>()?;
        Ok(if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    }

    fn f64(&mut self, little: bool) -> Result<f64, ImportError> {
        let bytes = self.take::<8>()?;
        Ok(if little {
            f64::from_le_bytes(bytes)
        } else {
            f64::from_be_bytes(bytes)
        })
    }

    /// A count that cannot exceed what the remaining bytes could hold, so a forged count
    /// never makes us reserve memory the geometry does not have.
    fn count(&mut self, little: bool, smallest_item_bytes: usize) -> Result<usize, ImportError> {
        let count = self.u32(little)? as usize;
        let remaining = self.bytes.len().saturating_sub(self.at);
        if count.saturating_mul(smallest_item_bytes) > remaining {
            return Err(self.bad(format!(
                "{count} items announced, more than the remaining {remaining} bytes hold"
            )));
        }
        Ok(count)
    }

    /// Polygons of a (Multi)Polygon; other types are skipped as not polygonal.
    fn geometry(&mut self, depth: usize) -> Result<Vec<Rings>, ImportError> {
        let little = match self.take::<1>()?[0] {
            0 => false,
            1 => true,
            other => return Err(self.bad(format!("byte order {other} is neither 0 nor 1"))),
        };
        let code = self.u32(little)?;
        // ISO WKB: 1000s add Z, 2000s M, 3000s ZM; EWKB flags in the high bits.
        let (base, dimensions) = match code {
            0..=999 => (code, 2),
            1000..=1999 => (code - 1000, 3),
            2000..=2999 => (code - 2000, 3),
            3000..=3999 => (code - 3000, 4),
            _ => {
                let z = code & 0x8000_0000 != 0;
                let m = code & 0x4000_0000 != 0;
                (code & 0x0FFF_FFFF, 2 + usize::from(z) + usize::from(m))
            }
        };
        match base {
            3 => Ok(vec![self.polygon(little, dimensions)?]),
            6 if depth == 0 => {
                let count = self.count(little, 9)?;
                let mut polygons = Vec::with_capacity(count);
                for _ in 0..count {
                    polygons.extend(self.geometry(depth + 1)?);
                }
                Ok(polygons)
            }
            _ => Err(self.bad(format!(
                "geometry type {code} is not a Polygon or MultiPolygon"
            ))),
        }
    }

    fn polygon(&mut self, little: bool, dimensions: usize) -> Result<Rings, ImportError> {
        let ring_count = self.count(little, 4)?;
        let mut rings = Vec::with_capacity(ring_count);
        for _ in 0..ring_count {
            let point_count = self.count(little, 8 * dimensions)?;
            let mut ring = Vec::with_capacity(point_count);
            for _ in 0..point_count {
                let x = self.f64(little)?;
                let y = self.f64(little)?;
                for _ in 2..dimensions {
                    self.f64(little)?;
                }
                ring.push((x, y));
            }
            rings.push(ring);
        }
        Ok(rings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::ExportFormat;
    use crate::export::test_support::demo_export;

    fn exported_geopackage() -> Vec<u8> {
        demo_export(ExportFormat::GeoPackage)
    }

    /// Runs `sql` on a copy of `bytes` and returns the changed file.
    fn altered(bytes: &[u8], sql: &str) -> Vec<u8> {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("altered.gpkg");
        std::fs::write(&path, bytes).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection.execute_batch(sql).unwrap();
        drop(connection);
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn our_own_export_reads_back_with_every_polygon_layer() {
        let bytes = exported_geopackage();
        assert!(looks_like_geopackage(&bytes));
        assert_eq!(crate::sniff(&bytes), Some(crate::SourceFormat::GeoPackage));
        let (polygons, crs) = read_polygons(&bytes, None).unwrap();
        assert_eq!(crs, Crs::wgs84().name);
        let layers: Vec<&str> = polygons
            .iter()
            .map(|polygon| polygon.properties["layer"].as_str())
            .collect();
        assert_eq!(layers, ["assets", "assets", "boundary", "setback"]);
        let site = crate::read_site_file(&bytes).unwrap();
        assert_eq!(site.format, crate::SourceFormat::GeoPackage);
    }

    #[test]
    fn forged_counts_damage_and_other_databases_are_refused_with_their_place() {
        let bytes = exported_geopackage();
        // A ring announcing four billion points in a 100-byte geometry.
        let forged = altered(
            &bytes,
            "UPDATE boundary SET geom = CAST(X'47500003E6100000' || zeroblob(32) || X'0103000000010000000000FFFF' || zeroblob(64) AS BLOB);",
        );
        let error = read_polygons(&forged, None).unwrap_err().to_string();
        assert!(error.contains("layer \"boundary\" feature 1"), "{error}");
        assert!(error.contains("items announced"), "{error}");

        // Not polygons: a line where a boundary should be.
        let line = altered(
            &bytes,
            "UPDATE boundary SET geom = X'47500001E6100000010200000000000000';",
        );
        let error = read_polygons(&line, None).unwrap_err().to_string();
        assert!(error.contains("not a Polygon or MultiPolygon"), "{error}");

        // Text where a geometry belongs is named, not skipped.
        let text = altered(
            &bytes,
            "UPDATE boundary SET geom = 'POLYGON((0 0,1 0,1 1,0 0))';",
        );
        let error = read_polygons(&text, None).unwrap_err().to_string();
        assert!(
            error.contains("holds Text, not a GeoPackage geometry"),
            "{error}"
        );

        // Some other SQLite database is not taken for a GeoPackage.
        let mut other = bytes.clone();
        other[68..72].copy_from_slice(&[0, 0, 0, 0]);
        assert!(!looks_like_geopackage(&other));

        // A truncated file is refused, not read in part.
        let truncated = &bytes[..bytes.len() / 2];
        assert!(read_polygons(truncated, None).is_err());

        // An unknown srs_id says so.
        let unknown = altered(
            &bytes,
            "PRAGMA foreign_keys = OFF; UPDATE gpkg_geometry_columns SET srs_id = 999 WHERE table_name = 'boundary';",
        );
        let error = read_polygons(&unknown, None).unwrap_err().to_string();
        assert!(error.contains("srs_id 999"), "{error}");
    }
}
