//! Reference inputs shipped with the sdk: the rural demo parcel and its program. Plugin
//! authors and the host's conformance check use them to exercise a strategy on a real site.

use geo::MultiPolygon;

use crate::program::{AssetSpec, AssetType, Program, Rotations, Units};
use crate::site::Site;

/// The rural demo parcel (about 47 acres in Lincoln County, Colorado) as GeoJSON, copied from
/// `fixtures/rural_demo.kml` of the earlier Python project (MIT licence).
pub const RURAL_DEMO_GEOJSON: &str = include_str!("../fixtures/rural_demo.geojson");

/// Reads the boundary of the first feature of a GeoJSON FeatureCollection.
pub fn site_from_feature_collection(json: &str) -> Result<Site, String> {
    let fc: geojson::FeatureCollection =
        serde_json::from_str(json).map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    let geometry = fc
        .features
        .first()
        .and_then(|f| f.geometry.as_ref())
        .ok_or("features[0].geometry: missing")?;
    let boundary = match crate::geometry::geojson_to_geo(geometry)
        .map_err(|e| format!("features[0].geometry: {e}"))?
    {
        geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
        geo::Geometry::MultiPolygon(mp) => mp,
        other => {
            return Err(format!(
                "features[0].geometry: expected a Polygon or MultiPolygon, got {}",
                crate::geometry::geometry_type_name(&other)
            ));
        }
    };
    Ok(Site::from_boundary(boundary))
}

/// The rural demo site.
pub fn rural_demo_site() -> Site {
    // The embedded file is a constant checked by the `rural_demo_fixture_parses` test, so
    // this cannot fail at run time; an empty site would be reported by `prepare_problem`.
    site_from_feature_collection(RURAL_DEMO_GEOJSON)
        .unwrap_or_else(|_| Site::from_boundary(MultiPolygon::new(vec![])))
}

/// The earlier project's end-to-end program: `buildings` buildings of 60 × 80 ft, a 20 ft
/// setback and 10 ft spacing.
pub fn rural_demo_program(buildings: u32) -> Program {
    Program {
        units: Units::Feet,
        setback: 20.0,
        min_spacing: 10.0,
        max_coverage: crate::program::DEFAULT_MAX_COVERAGE,
        entrance: None,
        exclusions: Vec::new(),
        assets: vec![AssetSpec {
            name: "Building".into(),
            asset_type: AssetType::Building,
            width: 60.0,
            length: 80.0,
            quantity: buildings,
            rotations: Rotations::QuarterTurns,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rural_demo_fixture_parses() {
        let site = site_from_feature_collection(RURAL_DEMO_GEOJSON).unwrap();
        assert_eq!(site.boundary.0.len(), 1);
        assert_eq!(site.boundary.0[0].exterior().0.len(), 5);
        assert!(site.validate().is_ok());
    }

    #[test]
    fn fixture_matches_the_kml() {
        // The KML in /work/shared/fixtures (when present) has the same corner coordinates.
        let kml = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/rural_demo.kml");
        let Ok(text) = std::fs::read_to_string(&kml) else {
            return;
        };
        let start = text.find("<coordinates>").unwrap() + "<coordinates>".len();
        let end = text.find("</coordinates>").unwrap();
        let kml_coords: Vec<[f64; 2]> = text[start..end]
            .split_whitespace()
            .map(|t| {
                let v: Vec<f64> = t.split(',').map(|n| n.parse().unwrap()).collect();
                [v[0], v[1]]
            })
            .collect();
        let site = rural_demo_site();
        let ours: Vec<[f64; 2]> = site.boundary.0[0]
            .exterior()
            .coords()
            .map(|c| [c.x, c.y])
            .collect();
        assert_eq!(kml_coords, ours);
    }

    #[test]
    fn bad_collections_are_explained() {
        assert!(
            site_from_feature_collection("{}")
                .unwrap_err()
                .contains("FeatureCollection")
        );
        let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
            "geometry":{"type":"Point","coordinates":[1,2]}}]}"#;
        assert!(
            site_from_feature_collection(point)
                .unwrap_err()
                .contains("got Point")
        );
    }
}
