//! Geometry as the database stores it: WKB bytes plus a bounding box, readable on
//! SQLite and PostgreSQL alike (PostGIS derives its `geom` column from the WKB).

use entmoot_plugin_sdk::geo::{BoundingRect, Geometry};
use geo_traits::to_geo::ToGeoGeometry;

#[derive(Debug, thiserror::Error)]
pub enum GeometryStorageError {
    #[error("geometry could not be encoded as WKB: {0}")]
    Encode(String),
    #[error("stored WKB is unreadable: {0}")]
    Decode(String),
    #[error("geometry is empty")]
    Empty,
}

/// WKB bytes and the bounding box `[min_x, min_y, max_x, max_y]`.
pub struct StoredGeometry {
    pub wkb: Vec<u8>,
    pub bbox: [f64; 4],
}

pub fn encode_geometry(geometry: &Geometry<f64>) -> Result<StoredGeometry, GeometryStorageError> {
    let rect = geometry
        .bounding_rect()
        .ok_or(GeometryStorageError::Empty)?;
    let mut wkb = Vec::new();
    wkb::writer::write_geometry(&mut wkb, geometry, &wkb::writer::WriteOptions::default())
        .map_err(|error| GeometryStorageError::Encode(error.to_string()))?;
    Ok(StoredGeometry {
        wkb,
        bbox: [rect.min().x, rect.min().y, rect.max().x, rect.max().y],
    })
}

pub fn decode_geometry(bytes: &[u8]) -> Result<Geometry<f64>, GeometryStorageError> {
    let parsed = wkb::reader::read_wkb(bytes)
        .map_err(|error| GeometryStorageError::Decode(error.to_string()))?;
    Ok(parsed.to_geometry())
}

#[cfg(test)]
mod tests {
    use super::*;
    use entmoot_plugin_sdk::geo::{Polygon, polygon};

    #[test]
    fn round_trips_a_polygon_with_its_bounding_box() {
        let square: Polygon<f64> =
            polygon![(x: -1.0, y: 2.0), (x: 3.0, y: 2.0), (x: 3.0, y: 5.0), (x: -1.0, y: 2.0)];
        let stored = encode_geometry(&Geometry::Polygon(square.clone())).expect("encode");
        assert_eq!(stored.bbox, [-1.0, 2.0, 3.0, 5.0]);
        assert_eq!(
            decode_geometry(&stored.wkb).expect("decode"),
            Geometry::Polygon(square)
        );
        assert!(decode_geometry(&[1, 2, 3]).is_err());
    }
}
