//! Small geometry helpers shared by the whole toolkit: asset footprints, angle normalisation,
//! GeoJSON ⇄ geo conversion and serde adapters that write geo types as GeoJSON geometries.

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// Geometric tolerance of every check, in metres: a footprint may poke 1 mm outside the
/// buildable area, or come 1 mm closer than the minimum spacing, before it is a violation.
/// Strategies should place exactly; the slack absorbs floating-point noise only.
pub const TOLERANCE_M: f64 = 1e-3;

/// Normalises an angle in degrees to `[0, 360)`.
pub fn normalize_deg(angle: f64) -> f64 {
    let a = angle.rem_euclid(360.0);
    // rem_euclid can return 360.0 for tiny negative inputs because of rounding.
    if a >= 360.0 { 0.0 } else { a }
}

/// Whether `a` and `b` (degrees) are the same direction modulo `period` degrees, within
/// `tolerance_deg`.
pub fn angles_match(a: f64, b: f64, period: f64, tolerance_deg: f64) -> bool {
    let d = (a - b).rem_euclid(period);
    d <= tolerance_deg || period - d <= tolerance_deg
}

/// The rectangle of size `width` (along the asset's x axis) × `length` (along its y axis),
/// centred on `center` and rotated counter-clockwise by `rotation_deg`. The ring is closed and
/// counter-clockwise.
pub fn rectangle(center: [f64; 2], width: f64, length: f64, rotation_deg: f64) -> Polygon<f64> {
    let (s, c) = rotation_deg.to_radians().sin_cos();
    let (hw, hl) = (width / 2.0, length / 2.0);
    let corner = |dx: f64, dy: f64| Coord {
        x: center[0] + dx * c - dy * s,
        y: center[1] + dx * s + dy * c,
    };
    let ring = vec![
        corner(-hw, -hl),
        corner(hw, -hl),
        corner(hw, hl),
        corner(-hw, hl),
        corner(-hw, -hl),
    ];
    Polygon::new(LineString::new(ring), vec![])
}

/// Converts a GeoJSON geometry into a geo geometry; the error says what was wrong.
pub fn geojson_to_geo(geometry: &geojson::Geometry) -> Result<Geometry<f64>, String> {
    Geometry::<f64>::try_from(geometry).map_err(|e| format!("not a usable GeoJSON geometry: {e}"))
}

/// Converts a geo geometry into a GeoJSON geometry.
pub fn geo_to_geojson(geometry: &Geometry<f64>) -> geojson::Geometry {
    geojson::Geometry::new(geojson::GeometryValue::from(geometry))
}

/// Turns an areal geometry into a MultiPolygon; `None` for points and lines.
pub fn as_multipolygon(geometry: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match geometry {
        Geometry::Polygon(p) => Some(MultiPolygon::new(vec![p.clone()])),
        Geometry::MultiPolygon(mp) => Some(mp.clone()),
        Geometry::Rect(r) => Some(MultiPolygon::new(vec![r.to_polygon()])),
        Geometry::Triangle(t) => Some(MultiPolygon::new(vec![t.to_polygon()])),
        Geometry::GeometryCollection(gc) => {
            let polygons: Vec<Polygon<f64>> = gc
                .iter()
                .filter_map(as_multipolygon)
                .flat_map(|mp| mp.0)
                .collect();
            if polygons.is_empty() {
                None
            } else {
                Some(MultiPolygon::new(polygons))
            }
        }
        _ => None,
    }
}

/// serde adapter: a `MultiPolygon<f64>` written as a GeoJSON geometry object; a `Polygon` is
/// accepted when reading.
pub mod serde_multipolygon {
    use geo::{Geometry, MultiPolygon};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(mp: &MultiPolygon<f64>, s: S) -> Result<S::Ok, S::Error> {
        geojson::Geometry::new(geojson::GeometryValue::from(mp)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MultiPolygon<f64>, D::Error> {
        let g = geojson::Geometry::deserialize(d)?;
        match Geometry::<f64>::try_from(&g).map_err(D::Error::custom)? {
            Geometry::Polygon(p) => Ok(MultiPolygon::new(vec![p])),
            Geometry::MultiPolygon(mp) => Ok(mp),
            other => Err(D::Error::custom(format!(
                "expected a Polygon or MultiPolygon, got {}",
                super::geometry_type_name(&other)
            ))),
        }
    }
}

/// serde adapter: any `Geometry<f64>` written as a GeoJSON geometry object.
pub mod serde_geometry {
    use geo::Geometry;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(g: &Geometry<f64>, s: S) -> Result<S::Ok, S::Error> {
        super::geo_to_geojson(g).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Geometry<f64>, D::Error> {
        let g = geojson::Geometry::deserialize(d)?;
        Geometry::<f64>::try_from(&g).map_err(D::Error::custom)
    }
}

/// serde adapter: `Vec<Coord<f64>>` written as `[[x, y], …]`.
pub mod serde_coords {
    use geo::Coord;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(coords: &[Coord<f64>], s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<[f64; 2]> = coords.iter().map(|c| [c.x, c.y]).collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Coord<f64>>, D::Error> {
        let pairs = Vec::<[f64; 2]>::deserialize(d)?;
        Ok(pairs.into_iter().map(|[x, y]| Coord { x, y }).collect())
    }
}

/// The GeoJSON-style name of a geometry's type, for messages.
pub fn geometry_type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    #[test]
    fn rectangle_has_the_right_size_and_orientation() {
        let r = rectangle([10.0, 20.0], 4.0, 2.0, 90.0);
        assert!((r.unsigned_area() - 8.0).abs() < 1e-9);
        assert!(r.signed_area() > 0.0, "counter-clockwise");
        let xs: Vec<f64> = r.exterior().coords().map(|c| c.x).collect();
        let width_x = xs.iter().cloned().fold(f64::MIN, f64::max)
            - xs.iter().cloned().fold(f64::MAX, f64::min);
        assert!(
            (width_x - 2.0).abs() < 1e-9,
            "rotated 90°: width lies along y"
        );
    }

    #[test]
    fn angles() {
        assert_eq!(normalize_deg(-90.0), 270.0);
        assert_eq!(normalize_deg(720.0), 0.0);
        assert!(angles_match(359.9999, 0.0, 90.0, 1e-3));
        assert!(angles_match(180.0, 0.0, 90.0, 1e-6));
        assert!(!angles_match(45.0, 0.0, 90.0, 1e-6));
    }
}
