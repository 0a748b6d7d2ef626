//! GeoJSON polygons: a FeatureCollection, a Feature or a bare geometry; Polygons and
//! MultiPolygons, named by the feature's `name` property, its other scalar properties
//! kept. Rings are checked and repaired (`repair`).

use std::collections::BTreeMap;

use entmoot_plugin_sdk::geo::Polygon;
use geojson::{GeoJson, Geometry, GeometryValue};

use super::repair::{Repair, clean_polygon};
use super::{ImportError, NamedPolygon};

/// Deepest GeometryCollection nesting accepted.
const MAX_COLLECTION_DEPTH: usize = 16;

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
                    let start = polygons.len();
                    collect(
                        geometry,
                        &format!("features[{index}]"),
                        name,
                        &mut polygons,
                        0,
                    )?;
                    attach_properties(feature, &mut polygons[start..]);
                }
            }
        }
        GeoJson::Feature(feature) => {
            if let Some(geometry) = &feature.geometry {
                collect(
                    geometry,
                    "feature",
                    feature_name(&feature),
                    &mut polygons,
                    0,
                )?;
                attach_properties(&feature, &mut polygons);
            }
        }
        GeoJson::Geometry(geometry) => collect(&geometry, "geometry", None, &mut polygons, 0)?,
    }
    Ok(polygons)
}

fn feature_name(feature: &geojson::Feature) -> Option<String> {
    feature
        .property("name")
        .and_then(|value| value.as_str())
        .map(str::to_owned)
}

/// The feature's scalar properties, as text, on every polygon it produced.
fn attach_properties(feature: &geojson::Feature, polygons: &mut [NamedPolygon]) {
    let Some(properties) = &feature.properties else {
        return;
    };
    let mut kept = BTreeMap::new();
    for (key, value) in properties {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            _ => continue,
        };
        kept.insert(key.clone(), text);
    }
    for polygon in polygons {
        polygon.properties.extend(kept.clone());
    }
}

fn to_polygon(
    rings: &[Vec<geojson::Position>],
    location: &str,
    repairs: &mut Vec<Repair>,
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
        converted.push(points);
    }
    if converted.is_empty() {
        return Err(ImportError::InvalidGeometry {
            location: location.to_owned(),
            reason: "a Polygon needs at least its exterior ring (it is empty)".into(),
        });
    }
    clean_polygon(location, &converted, repairs)
}

fn named(
    name: Option<String>,
    location: String,
    rings: &[Vec<geojson::Position>],
) -> Result<NamedPolygon, ImportError> {
    let mut repairs = Vec::new();
    Ok(NamedPolygon {
        name,
        polygon: to_polygon(rings, &location, &mut repairs)?,
        location,
        properties: BTreeMap::new(),
        repairs,
    })
}

fn collect(
    geometry: &Geometry,
    location: &str,
    name: Option<String>,
    polygons: &mut Vec<NamedPolygon>,
    depth: usize,
) -> Result<(), ImportError> {
    match &geometry.value {
        GeometryValue::Polygon { coordinates } => {
            polygons.push(named(name, location.to_owned(), coordinates)?);
        }
        GeometryValue::MultiPolygon { coordinates } => {
            for (index, rings) in coordinates.iter().enumerate() {
                let part = format!("{location}, polygon {index}");
                polygons.push(named(name.clone(), part, rings)?);
            }
        }
        GeometryValue::GeometryCollection { geometries } => {
            if depth >= MAX_COLLECTION_DEPTH {
                return Err(ImportError::InvalidGeometry {
                    location: location.to_owned(),
                    reason: format!(
                        "GeometryCollections nested deeper than {MAX_COLLECTION_DEPTH} levels"
                    ),
                });
            }
            for (index, inner) in geometries.iter().enumerate() {
                collect(
                    inner,
                    &format!("{location}, geometries[{index}]"),
                    name.clone(),
                    polygons,
                    depth + 1,
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
