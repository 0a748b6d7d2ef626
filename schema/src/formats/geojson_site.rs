//! GeoJSON polygons: a FeatureCollection, a Feature or a bare geometry; Polygons and
//! MultiPolygons, named by the feature's `name` property.

use entmoot_plugin_sdk::geo::{LineString, Polygon};
use geojson::{GeoJson, Geometry, GeometryValue};

use super::{ImportError, NamedPolygon, check_ring};

pub fn read_polygons(text: &str) -> Result<Vec<NamedPolygon>, ImportError> {
    let parsed: GeoJson = text
        .parse()
        .map_err(|error: geojson::Error| ImportError::MalformedGeoJson(error.to_string()))?;
    let mut polygons = Vec::new();
    match parsed {
        GeoJson::FeatureCollection(collection) => {
            for (index, feature) in collection.features.iter().enumerate() {
                let name = feature_name(feature);
                if let Some(geometry) = &feature.geometry {
                    collect(geometry, &format!("features[{index}]"), name, &mut polygons)?;
                }
            }
        }
        GeoJson::Feature(feature) => {
            if let Some(geometry) = &feature.geometry {
                collect(geometry, "feature", feature_name(&feature), &mut polygons)?;
            }
        }
        GeoJson::Geometry(geometry) => collect(&geometry, "geometry", None, &mut polygons)?,
    }
    Ok(polygons)
}

fn feature_name(feature: &geojson::Feature) -> Option<String> {
    feature
        .property("name")
        .and_then(|value| value.as_str())
        .map(str::to_owned)
}

fn to_polygon(
    rings: &[Vec<geojson::Position>],
    location: &str,
) -> Result<Polygon<f64>, ImportError> {
    let mut converted = Vec::with_capacity(rings.len());
    for (index, ring) in rings.iter().enumerate() {
        let ring_location = if index == 0 {
            format!("{location}, exterior ring")
        } else {
            format!("{location}, interior ring {}", index - 1)
        };
        let mut points = Vec::with_capacity(ring.len());
        for (position_index, position) in ring.iter().enumerate() {
            if position.len() < 2 {
                return Err(ImportError::InvalidGeometry {
                    location: format!("{ring_location}, position {position_index}"),
                    reason: "a position needs a longitude and a latitude".into(),
                });
            }
            points.push((position[0], position[1]));
        }
        check_ring(&ring_location, &points)?;
        converted.push(LineString::from(points));
    }
    let mut rings = converted.into_iter();
    let exterior = rings.next().ok_or_else(|| ImportError::InvalidGeometry {
        location: location.to_owned(),
        reason: "a Polygon needs at least its exterior ring".into(),
    })?;
    Ok(Polygon::new(exterior, rings.collect()))
}

fn collect(
    geometry: &Geometry,
    location: &str,
    name: Option<String>,
    polygons: &mut Vec<NamedPolygon>,
) -> Result<(), ImportError> {
    match &geometry.value {
        GeometryValue::Polygon { coordinates } => polygons.push(NamedPolygon {
            name,
            location: location.to_owned(),
            polygon: to_polygon(coordinates, location)?,
        }),
        GeometryValue::MultiPolygon { coordinates } => {
            for (index, rings) in coordinates.iter().enumerate() {
                let part = format!("{location}, polygon {index}");
                polygons.push(NamedPolygon {
                    name: name.clone(),
                    polygon: to_polygon(rings, &part)?,
                    location: part,
                });
            }
        }
        GeometryValue::GeometryCollection { geometries } => {
            for (index, inner) in geometries.iter().enumerate() {
                collect(
                    inner,
                    &format!("{location}, geometries[{index}]"),
                    name.clone(),
                    polygons,
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_feature_collections_and_names_bad_positions() {
        let collection = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"Parcel"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
          {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,0]}}]}"#;
        let polygons = read_polygons(collection).expect("valid");
        assert_eq!(polygons.len(), 1);
        assert_eq!(polygons[0].name.as_deref(), Some("Parcel"));

        let bad = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,100],[0,0]]]}"#;
        let error = read_polygons(bad).expect_err("latitude out of range");
        assert_eq!(
            error.to_string(),
            "geometry, exterior ring, position 2: (1, 100) is not a WGS84 longitude, latitude"
        );
    }
}
