//! Layout → RFC 7946 GeoJSON FeatureCollection in WGS84, per DESIGN.md's layout contract:
//! asset Polygons (`kind = "asset"`), road LineStrings (`kind = "road"`), plus the boundary,
//! buildable area, exclusion zones and entrances for context.

use geo::{Geometry, LineString, Point};
use geojson::{Feature, FeatureCollection, JsonObject};
use serde_json::{Value, json};

use crate::geometry::geo_to_geojson;
use crate::layout::Layout;
use crate::problem::Problem;
use crate::projection::ProjectionError;

/// Converts a layout to GeoJSON (WGS84). Fails only if a coordinate cannot be projected back,
/// e.g. for a problem with a corrupt projection.
pub fn layout_to_geojson(
    problem: &Problem,
    layout: &Layout,
) -> Result<FeatureCollection, ProjectionError> {
    let projector = problem.projection.projector()?;
    let mut features = Vec::new();
    let mut push = |geometry: Geometry<f64>, properties: Value| -> Result<(), ProjectionError> {
        let wgs84: Geometry<f64> = projector.geometry_to_wgs84(&geometry)?;
        features.push(Feature {
            geometry: Some(geo_to_geojson(&wgs84)),
            properties: match properties {
                Value::Object(map) => Some(map),
                _ => Some(JsonObject::new()),
            },
            ..Feature::default()
        });
        Ok(())
    };

    push(
        Geometry::MultiPolygon(problem.boundary_m.clone()),
        json!({"kind": "boundary", "area_m2": problem.boundary_area_m2}),
    )?;
    push(
        Geometry::MultiPolygon(problem.buildable_m.clone()),
        json!({"kind": "buildable", "area_m2": problem.buildable_area_m2, "setback_m": problem.setback_m}),
    )?;
    for e in &problem.exclusions_m {
        push(
            Geometry::MultiPolygon(e.keep_out.clone()),
            json!({"kind": "exclusion", "exclusion_kind": e.kind, "buffer_m": e.buffer_m,
                   "name": e.name, "source": e.source}),
        )?;
    }
    for (i, e) in problem.entrances_m.iter().enumerate() {
        push(
            Geometry::Point(Point::new(e[0], e[1])),
            json!({"kind": "entrance", "index": i}),
        )?;
    }
    for a in &layout.assets {
        push(
            Geometry::Polygon(a.footprint()),
            json!({
                "kind": "asset",
                "asset_id": a.asset_id,
                "name": a.name,
                "asset_type": a.asset_type,
                "width": a.width_m,
                "length": a.length_m,
                "rotation": a.rotation_deg,
                "shape": a.shape.kind(),
            }),
        )?;
    }
    for r in &layout.roads {
        push(
            Geometry::LineString(LineString::from(r.points.clone())),
            json!({"kind": "road", "width": r.width_m, "length_m": r.length_m(), "class": r.class}),
        )?;
    }
    Ok(FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{rural_demo_program, rural_demo_site};
    use crate::layout::{PlacedAsset, Road};
    use crate::prepare::prepare_problem;
    use geo::Centroid;

    #[test]
    fn writes_the_layout_contract() {
        let site = rural_demo_site();
        let problem = prepare_problem(&site, &rural_demo_program(1)).unwrap();
        let c = problem.buildable_m.centroid().unwrap();
        let spec = &problem.assets[0];
        let layout = Layout {
            assets: vec![PlacedAsset {
                asset_id: spec.asset_id.clone(),
                name: spec.name.clone(),
                asset_type: spec.asset_type,
                center: [c.x(), c.y()],
                width_m: spec.width_m,
                length_m: spec.length_m,
                rotation_deg: 90.0,
                shape: Default::default(),
            }],
            roads: vec![Road::new(
                vec![problem.entrances_m[0], [c.x(), c.y() - 20.0]],
                6.0,
            )],
        };
        let fc = layout_to_geojson(&problem, &layout).unwrap();
        let kinds: Vec<&str> = fc
            .features
            .iter()
            .map(|f| f.properties.as_ref().unwrap()["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["boundary", "buildable", "entrance", "asset", "road"]
        );
        let asset = &fc.features[3];
        let props = asset.properties.as_ref().unwrap();
        assert_eq!(props["asset_id"], "building-1");
        assert_eq!(props["name"], "Building");
        assert_eq!(props["asset_type"], "building");
        assert!((props["width"].as_f64().unwrap() - 18.288).abs() < 1e-9);
        assert_eq!(props["rotation"], 90.0);
        // Back in WGS84 and inside the parcel.
        let g: geo::Polygon<f64> = asset.geometry.clone().unwrap().try_into().unwrap();
        for c in g.exterior().coords() {
            assert!((-103.402..=-103.397).contains(&c.x), "{c:?}");
            assert!((39.35..=39.354).contains(&c.y), "{c:?}");
        }
        // The boundary goes back to the original corners (sub-millimetre round trip).
        let b: geo::MultiPolygon<f64> =
            fc.features[0].geometry.clone().unwrap().try_into().unwrap();
        for (a, o) in b.0[0]
            .exterior()
            .coords()
            .zip(site.boundary.0[0].exterior().coords())
        {
            assert!((a.x - o.x).abs() < 1e-9 && (a.y - o.y).abs() < 1e-9);
        }
        let road = fc.features[4].properties.as_ref().unwrap();
        assert_eq!(road["width"], 6.0);
        let text = serde_json::to_string(&fc).unwrap();
        assert!(
            text.starts_with("{\"type\":\"FeatureCollection\""),
            "{}",
            &text[..40]
        );
    }
}
