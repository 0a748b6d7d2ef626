//! GeoPackage export (OGC 12-128r18, version 1.4): one SQLite file with a feature table
//! per layer (boundary, setback, exclusions, steep_ground, entrances, roads, assets) in
//! WGS84 (EPSG:4326), with the same attribute names as the Shapefile and KML (REAL for
//! numbers, TEXT for text). Geometries are GeoPackage binary: the `GP` header with the
//! feature's envelope, then little-endian ISO WKB.
//!
//! SQLite writes to a file, so the package is built in a private temporary directory
//! and read back as bytes.

use entmoot_plugin_sdk::geo::{BoundingRect, Geometry, LineString, Polygon};

use super::{ExportError, FeatureKind, Scene, SceneFeature, Value, polygons_of};

/// `(kind, table, geometry type name)`; polygon layers are MULTIPOLYGON except the
/// assets, whose footprints are single polygons.
const LAYERS: &[(FeatureKind, &str, &str)] = &[
    (FeatureKind::Boundary, "boundary", "MULTIPOLYGON"),
    (FeatureKind::Setback, "setback", "MULTIPOLYGON"),
    (FeatureKind::Exclusion, "exclusions", "MULTIPOLYGON"),
    (FeatureKind::SteepGround, "steep_ground", "MULTIPOLYGON"),
    (FeatureKind::Entrance, "entrances", "POINT"),
    (FeatureKind::Road, "roads", "LINESTRING"),
    (FeatureKind::Asset, "assets", "POLYGON"),
];

const WGS84_SRS_ID: i32 = 4326;
/// EPSG:4326 as the GeoPackage specification's own example row writes it.
const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]]";
/// `PRAGMA application_id`: "GPKG" in ASCII.
const GEOPACKAGE_APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.4.0.
const GEOPACKAGE_USER_VERSION: i32 = 10_400;

const REQUIRED_TABLES: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
";

pub fn write(scene: &Scene) -> Result<Vec<u8>, ExportError> {
    let fail = |error: &dyn std::fmt::Display| ExportError::Write {
        format: "GeoPackage",
        reason: error.to_string(),
    };
    let directory = tempfile::tempdir().map_err(|e| fail(&e))?;
    let path = directory.path().join("layout.gpkg");
    {
        let mut connection = rusqlite::Connection::open(&path).map_err(|e| fail(&e))?;
        let transaction = connection.transaction().map_err(|e| fail(&e))?;
        fill(&transaction, scene).map_err(|e| fail(&e))?;
        transaction.commit().map_err(|e| fail(&e))?;
        connection
            .pragma_update(None, "application_id", GEOPACKAGE_APPLICATION_ID)
            .map_err(|e| fail(&e))?;
        connection
            .pragma_update(None, "user_version", GEOPACKAGE_USER_VERSION)
            .map_err(|e| fail(&e))?;
        connection.close().map_err(|(_, e)| fail(&e))?;
    }
    std::fs::read(&path).map_err(|e| fail(&e))
}

fn fill(connection: &rusqlite::Connection, scene: &Scene) -> rusqlite::Result<()> {
    connection.execute_batch(REQUIRED_TABLES)?;
    connection.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', ?1, 'EPSG', 4326, ?2, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        rusqlite::params![WGS84_SRS_ID, WGS84_WKT],
    )?;
    for (kind, table, geometry_type) in LAYERS {
        let members: Vec<&SceneFeature> = scene.of_kind(*kind).collect();
        if members.is_empty() {
            continue;
        }
        let columns = columns_of(&members);
        let declared: String = columns
            .iter()
            .map(|(name, sql_type)| format!(", \"{name}\" {sql_type}"))
            .collect();
        connection.execute_batch(&format!(
            "CREATE TABLE \"{table}\" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom {geometry_type}{declared});"
        ))?;
        let extent = members
            .iter()
            .filter_map(|feature| feature.wgs84.bounding_rect())
            .reduce(|a, b| {
                entmoot_plugin_sdk::geo::Rect::new(
                    (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                    (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
                )
            });
        let (min_x, min_y, max_x, max_y) = extent.map_or((None, None, None, None), |rect| {
            (
                Some(rect.min().x),
                Some(rect.min().y),
                Some(rect.max().x),
                Some(rect.max().y),
            )
        });
        connection.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![table, format!("{} of {}", kind.as_str(), scene.title), min_x, min_y, max_x, max_y, WGS84_SRS_ID],
        )?;
        connection.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
            rusqlite::params![table, geometry_type, WGS84_SRS_ID],
        )?;
        let names: String = columns
            .iter()
            .map(|(name, _)| format!(", \"{name}\""))
            .collect();
        let placeholders: String = (0..columns.len())
            .map(|index| format!(", ?{}", index + 2))
            .collect();
        let mut insert = connection.prepare(&format!(
            "INSERT INTO \"{table}\" (geom{names}) VALUES (?1{placeholders})"
        ))?;
        for feature in members {
            let mut values: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Blob(
                geopackage_binary(&feature.wgs84, geometry_type),
            )];
            for (name, _) in &columns {
                values.push(match feature.attribute(name) {
                    Some(Value::Text(text)) => rusqlite::types::Value::Text(text.clone()),
                    Some(Value::Number(number)) => rusqlite::types::Value::Real(*number),
                    None => rusqlite::types::Value::Null,
                });
            }
            insert.execute(rusqlite::params_from_iter(values))?;
        }
    }
    Ok(())
}

/// Every attribute the layer's features have, in order of first appearance, with its
/// SQL type.
fn columns_of(members: &[&SceneFeature]) -> Vec<(&'static str, &'static str)> {
    let mut columns: Vec<(&'static str, &'static str)> = Vec::new();
    for feature in members {
        for (name, value) in &feature.attributes {
            if columns.iter().any(|(known, _)| known == name) {
                continue;
            }
            let sql_type = match value {
                Value::Text(_) => "TEXT",
                Value::Number(_) => "REAL",
            };
            columns.push((name, sql_type));
        }
    }
    columns
}

/// GeoPackage binary (specification §2.1.3): "GP", version 0, flags (little-endian,
/// an xy envelope), the SRS id, the envelope, then the WKB.
fn geopackage_binary(geometry: &Geometry<f64>, geometry_type: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GP");
    out.push(0);
    let envelope = geometry.bounding_rect();
    let flags: u8 = match envelope {
        // Bit 0: little-endian; bits 1–3 = 1: the envelope is [minx, maxx, miny, maxy].
        Some(_) => 0b0000_0011,
        // Bit 4: empty geometry, no envelope.
        None => 0b0001_0001,
    };
    out.push(flags);
    out.extend_from_slice(&WGS84_SRS_ID.to_le_bytes());
    if let Some(rect) = envelope {
        for value in [rect.min().x, rect.max().x, rect.min().y, rect.max().y] {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    match (geometry, geometry_type) {
        (Geometry::Point(point), _) => {
            wkb_header(&mut out, 1);
            coordinate(&mut out, point.x(), point.y());
        }
        (Geometry::LineString(line), _) => {
            wkb_header(&mut out, 2);
            points(&mut out, line);
        }
        (_, "POLYGON") => {
            // An asset footprint is one polygon.
            match polygons_of(geometry).first() {
                Some(polygon) => wkb_polygon(&mut out, polygon),
                None => {
                    wkb_header(&mut out, 3);
                    count(&mut out, 0);
                }
            }
        }
        _ => {
            let polygons = polygons_of(geometry);
            wkb_header(&mut out, 6);
            count(&mut out, polygons.len());
            for polygon in polygons {
                wkb_polygon(&mut out, polygon);
            }
        }
    }
    out
}

fn wkb_header(out: &mut Vec<u8>, geometry_type: u32) {
    out.push(1);
    out.extend_from_slice(&geometry_type.to_le_bytes());
}

fn count(out: &mut Vec<u8>, count: usize) {
    // Invariant: a scene's rings and parts are far below u32::MAX (uploads are capped
    // at a few thousand vertices); saturating keeps the function total anyway.
    out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
}

fn coordinate(out: &mut Vec<u8>, x: f64, y: f64) {
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&y.to_le_bytes());
}

fn points(out: &mut Vec<u8>, line: &LineString<f64>) {
    count(out, line.0.len());
    for c in &line.0 {
        coordinate(out, c.x, c.y);
    }
}

fn wkb_polygon(out: &mut Vec<u8>, polygon: &Polygon<f64>) {
    wkb_header(out, 3);
    count(out, 1 + polygon.interiors().len());
    points(out, polygon.exterior());
    for hole in polygon.interiors() {
        points(out, hole);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo_scene;
    use super::*;

    #[test]
    fn writes_a_geopackage_sqlite_reads_back() {
        let scene = demo_scene("Demo");
        let bytes = write(&scene).unwrap();
        assert_eq!(&bytes[..16], b"SQLite format 3\0");
        // application_id is stored big-endian at offset 68 of the header.
        assert_eq!(&bytes[68..72], b"GPKG");

        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("read.gpkg");
        std::fs::write(&path, &bytes).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        let tables: Vec<String> = connection
            .prepare("SELECT table_name FROM gpkg_geometry_columns ORDER BY table_name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            tables,
            ["assets", "boundary", "entrances", "roads", "setback"]
        );
        let (ids, blob): (String, Vec<u8>) = connection
            .query_row(
                "SELECT group_concat(asset_id), min(geom) FROM assets",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(ids, "building-1,building-2");
        assert_eq!(&blob[..4], b"GP\0\x03");
        assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 4326);
        // WKB after the 32-byte envelope: little-endian Polygon with one ring of 5 points.
        assert_eq!(blob[40], 1);
        assert_eq!(u32::from_le_bytes(blob[41..45].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(blob[45..49].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(blob[49..53].try_into().unwrap()), 5);
    }
}
