//! GeoJSON polygons: a FeatureCollection, a Feature or a bare geometry; Polygons and
//! MultiPolygons, one feature with all its parts (and holes), named by the feature's
//! `name` property (any case: GDAL writes `Name`), its other scalar properties kept.
//! Coordinates are WGS84 longitude/latitude as RFC 7946 says, unless the file carries
//! the legacy `crs` member (GDAL writes one for projected data, e.g.
//! `urn:ogc:def:crs:EPSG::3857`) or the caller declares a CRS; a declared CRS that
//! contradicts the file's member is refused. Rings are checked and repaired (`repair`).

use std::collections::BTreeMap;

use entmoot_plugin_sdk::geo::{MultiPolygon, Polygon};
use geojson::{GeoJson, Geometry, GeometryValue};

use super::crs::{Crs, ToWgs84};
use super::repair::{Repair, clean_polygon};
use super::{ImportError, NamedPolygon};

/// Deepest GeometryCollection nesting accepted.
const MAX_COLLECTION_DEPTH: usize = 16;

/// Reads WGS84 GeoJSON (or GeoJSON whose `crs` member says otherwise).
pub fn read_polygons(text: &str) -> Result<Vec<NamedPolygon>, ImportError> {
    read_polygons_in(text, None).map(|(polygons, _)| polygons)
}

/// Reads GeoJSON in the CRS its `crs` member names, else the declared one, else WGS84;
/// returns the polygons with the CRS's name.
pub fn read_polygons_in(
    text: &str,
    declared: Option<&Crs>,
) -> Result<(Vec<NamedPolygon>, String), ImportError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| ImportError::MalformedGeoJson(error.to_string()))?;
    let member = value.get("crs").map(crs_member).transpose()?;
    let crs = match (member, declared) {
        (Some(member), Some(declared)) if member.proj != declared.proj => {
            return Err(ImportError::UnknownCrs {
                location: "the GeoJSON".into(),
                detail: format!(
                    "its `crs` member says {} but {} was declared; drop the declaration or fix the file",
                    member.name, declared.name
                ),
            });
        }
        (Some(member), _) => member,
        (None, Some(declared)) => declared.clone(),
        (None, None) => Crs::wgs84(),
    };
    let to_wgs84 = crs.transformer("the GeoJSON")?;
    let reader = Reader {
        to_wgs84: &to_wgs84,
        crs: &crs,
    };
    let parsed: GeoJson = serde_json::from_value(value)
        .map_err(|error| ImportError::MalformedGeoJson(error.to_string()))?;
    let mut polygons = Vec::new();
    match parsed {
        GeoJson::FeatureCollection(collection) => {
            for (index, feature) in collection.features.iter().enumerate() {
                if let Some(geometry) = &feature.geometry {
                    reader.feature(
                        geometry,
                        format!("features[{index}]"),
                        Some(feature),
                        &mut polygons,
                    )?;
                }
            }
        }
        GeoJson::Feature(feature) => {
            if let Some(geometry) = &feature.geometry {
                reader.feature(geometry, "feature".into(), Some(&feature), &mut polygons)?;
            }
        }
        GeoJson::Geometry(geometry) => {
            reader.feature(&geometry, "geometry".into(), None, &mut polygons)?
        }
    }
    Ok((polygons, crs.name))
}

/// The CRS a legacy `crs` member names: `{"type":"name","properties":{"name":…}}` with
/// `urn:ogc:def:crs:EPSG::3857`, `EPSG:3857` or `urn:ogc:def:crs:OGC:1.3:CRS84`.
fn crs_member(member: &serde_json::Value) -> Result<Crs, ImportError> {
    let refuse = |detail: String| ImportError::UnknownCrs {
        location: "the GeoJSON `crs` member".into(),
        detail,
    };
    if member.is_null() {
        return Ok(Crs::wgs84());
    }
    let name = member
        .get("properties")
        .and_then(|properties| properties.get("name"))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            refuse(format!(
                "`{}` is not a named CRS ({{\"type\":\"name\",\"properties\":{{\"name\":\"EPSG:…\"}}}})",
                member.to_string().chars().take(120).collect::<String>()
            ))
        })?;
    let upper = name.trim().to_ascii_uppercase();
    if upper.ends_with("CRS84") || upper.ends_with("CRS:84") {
        return Ok(Crs::wgs84());
    }
    let code = upper
        .rsplit(':')
        .next()
        .and_then(|code| code.parse::<u32>().ok())
        .filter(|_| upper.contains("EPSG"))
        .ok_or_else(|| refuse(format!("`{name}` is not an EPSG code or CRS84")))?;
    Crs::from_epsg(code).ok_or_else(|| {
        refuse(format!(
            "EPSG:{code} is not supported here; reproject to WGS84 (ogr2ogr -t_srs EPSG:4326) or send a Shapefile or GeoPackage, whose definition is read"
        ))
    })
}

fn feature_name(feature: &geojson::Feature) -> Option<String> {
    let properties = feature.properties.as_ref()?;
    properties
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("name"))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_owned)
}

/// The feature's scalar properties, as text.
fn scalar_properties(feature: &geojson::Feature) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    for (key, value) in feature.properties.iter().flatten() {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            _ => continue,
        };
        kept.insert(key.clone(), text);
    }
    kept
}

struct Reader<'a> {
    to_wgs84: &'a ToWgs84,
    crs: &'a Crs,
}

impl Reader<'_> {
    /// Every polygon of one feature's geometry, as one `NamedPolygon`.
    fn feature(
        &self,
        geometry: &Geometry,
        location: String,
        feature: Option<&geojson::Feature>,
        out: &mut Vec<NamedPolygon>,
    ) -> Result<(), ImportError> {
        let mut parts = Vec::new();
        let mut repairs = Vec::new();
        self.collect(geometry, &location, &mut parts, &mut repairs, 0)?;
        if parts.is_empty() {
            return Ok(());
        }
        out.push(NamedPolygon {
            name: feature.and_then(feature_name),
            location,
            geometry: MultiPolygon::new(parts),
            properties: feature.map(scalar_properties).unwrap_or_default(),
            repairs,
        });
        Ok(())
    }

    fn to_polygon(
        &self,
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
                let at = || format!("{ring_location}, position {position_index}");
                if position.len() < 2 {
                    return Err(ImportError::InvalidGeometry {
                        location: at(),
                        reason: "a position needs a longitude and a latitude".into(),
                    });
                }
                let (x, y) = (position[0], position[1]);
                if self.to_wgs84.is_identity() {
                    points.push((x, y));
                    continue;
                }
                if !x.is_finite() || !y.is_finite() {
                    return Err(ImportError::InvalidGeometry {
                        location: at(),
                        reason: format!("({x}, {y}) is not a number (NaN or infinite coordinate)"),
                    });
                }
                let converted_point =
                    self.to_wgs84
                        .convert(x, y)
                        .ok_or_else(|| ImportError::InvalidGeometry {
                            location: at(),
                            reason: format!(
                                "({x}, {y}) cannot be converted from {} to WGS84",
                                self.crs.name
                            ),
                        })?;
                points.push(converted_point);
            }
            converted.push(points);
        }
        if converted.is_empty() {
            return Err(ImportError::InvalidGeometry {
                location: location.to_owned(),
                reason: "a Polygon needs at least its exterior ring (it is empty)".into(),
            });
        }
        clean_polygon(location, &converted, repairs).map_err(|error| match error {
            ImportError::InvalidGeometry { location, reason }
                if self.to_wgs84.is_identity() && reason.contains("not a WGS84") =>
            {
                ImportError::InvalidGeometry {
                    location,
                    reason: format!(
                        "{reason}; GeoJSON is WGS84 unless its `crs` member says otherwise: declare the CRS of projected coordinates (--crs EPSG:32613)"
                    ),
                }
            }
            other => other,
        })
    }

    fn collect(
        &self,
        geometry: &Geometry,
        location: &str,
        parts: &mut Vec<Polygon<f64>>,
        repairs: &mut Vec<Repair>,
        depth: usize,
    ) -> Result<(), ImportError> {
        match &geometry.value {
            GeometryValue::Polygon { coordinates } => {
                parts.push(self.to_polygon(coordinates, location, repairs)?);
            }
            GeometryValue::MultiPolygon { coordinates } => {
                for (index, rings) in coordinates.iter().enumerate() {
                    let part = format!("{location}, polygon {index}");
                    parts.push(self.to_polygon(rings, &part, repairs)?);
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
                    self.collect(
                        inner,
                        &format!("{location}, geometries[{index}]"),
                        parts,
                        repairs,
                        depth + 1,
                    )?;
                }
            }
            _ => {}
        }
        Ok(())
    }
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
        assert!(
            error.to_string().starts_with(
                "geometry, exterior ring, position 2: (1, 100) is not a WGS84 longitude, latitude; GeoJSON is WGS84 unless"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_multipolygon_feature_keeps_every_part_and_a_capitalised_name() {
        let two_parts = r#"{"type":"Feature","properties":{"Name":"Lot 7"},"geometry":{"type":"MultiPolygon","coordinates":[
          [[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]],[[0.002,0.002],[0.002,0.004],[0.004,0.004],[0.004,0.002],[0.002,0.002]]],
          [[[0.02,0],[0.03,0],[0.03,0.01],[0.02,0.01],[0.02,0]]]]}}"#;
        let polygons = read_polygons(two_parts).unwrap();
        assert_eq!(polygons.len(), 1);
        assert_eq!(polygons[0].name.as_deref(), Some("Lot 7"));
        assert_eq!(polygons[0].geometry.0.len(), 2);
        assert_eq!(polygons[0].geometry.0[0].interiors().len(), 1);
    }

    #[test]
    fn the_legacy_crs_member_is_honoured_and_contradictions_refused() {
        // A square of 100 m in Web Mercator near the equator, as ogr2ogr writes it.
        let mercator = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},
          "features":[{"type":"Feature","properties":{"name":"P"},"geometry":{"type":"Polygon","coordinates":[[[1000,1000],[1100,1000],[1100,1100],[1000,1100],[1000,1000]]]}}]}"#;
        let (polygons, crs) = read_polygons_in(mercator, None).unwrap();
        assert!(crs.contains("3857"), "{crs}");
        let c = polygons[0].geometry.0[0].exterior().0[0];
        assert!(
            (c.x - 0.008983).abs() < 1e-5 && (c.y - 0.008983).abs() < 1e-5,
            "{c:?}"
        );
        let declared = Crs::parse_declared("EPSG:32613").unwrap();
        let error = read_polygons_in(mercator, Some(&declared)).unwrap_err();
        assert!(error.to_string().contains("was declared"), "{error}");
        let unknown = mercator.replace("EPSG::3857", "EPSG::2193");
        let error = read_polygons_in(&unknown, None).unwrap_err();
        assert!(
            error.to_string().contains("EPSG:2193 is not supported"),
            "{error}"
        );
        // Without a member, a declared CRS applies.
        let bare = r#"{"type":"Polygon","coordinates":[[[500000,4000000],[500100,4000000],[500100,4000100],[500000,4000000]]]}"#;
        let (polygons, _) = read_polygons_in(bare, Some(&declared)).unwrap();
        assert!((polygons[0].geometry.0[0].exterior().0[0].x + 105.0).abs() < 1e-6);
    }
}
