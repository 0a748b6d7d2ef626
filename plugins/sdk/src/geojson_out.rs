//! Layout → RFC 7946 GeoJSON FeatureCollection in WGS84, the layout contract of
//! `docs/layout-geojson.md`: asset Polygons (`kind = "asset"`), road LineStrings
//! (`kind = "road"`), plus the boundary, buildable area, exclusion zones, steep ground and
//! entrances for context. The properties of each kind are the typed `FeatureProperties`, from which
//! `docs/schemas/layout-geojson.schema.json` is generated.

use geo::{Area, Geometry, LineString, Point};
use geojson::{Feature, FeatureCollection, JsonObject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::geometry::geo_to_geojson;
use crate::layout::Layout;
use crate::problem::Problem;
use crate::program::{AssetType, ExclusionKind};
use crate::projection::ProjectionError;
use crate::roads::RoadClass;

/// The properties of one feature of the layout GeoJSON, told apart by `kind`. Lengths are
/// metres and areas square metres, whatever the program's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureProperties {
    /// The parcel boundary (a MultiPolygon).
    Boundary {
        /// `Boundary`, as the other export formats name the layer's feature.
        name: String,
        /// Area of the parcel, m².
        area_m2: f64,
    },
    /// Where footprints may go: the boundary inset by the setbacks, minus every exclusion
    /// (a MultiPolygon).
    Buildable {
        /// Area, m².
        area_m2: f64,
        /// The program's uniform setback, metres.
        setback_m: f64,
    },
    /// An exclusion zone, grown by its buffer: the area kept free (a MultiPolygon).
    Exclusion {
        exclusion_kind: ExclusionKind,
        /// The buffer it was grown by, metres.
        buffer_m: f64,
        /// Its name, when the site file gave one.
        name: Option<String>,
        /// Where it came from: `site.exclusions[i]` or `program.exclusions[i]`.
        source: String,
        /// Area kept free (the zone with its buffer), m².
        area_m2: f64,
    },
    /// Ground of the parcel steeper than the program's `max_slope_percent`, removed from
    /// the buildable area (a MultiPolygon); present only when a DEM was given and some
    /// ground is that steep.
    SteepGround {
        /// `Steeper than {max_slope_percent} %`.
        name: String,
        /// Area, m².
        area_m2: f64,
        /// The steepest slope footprints may stand on, percent.
        max_slope_percent: f64,
    },
    /// A site entrance (a Point on the boundary).
    Entrance {
        /// 0-based position among the entrances: the program's `entrance` first, then the
        /// site's; without either, the boundary point nearest the parcel's centroid.
        index: usize,
        /// `Entrance {index + 1}`.
        name: String,
    },
    /// A placed asset: its outline (a Polygon).
    Asset {
        /// Stable id: `{asset_type}-{n}`, numbered per type in program order.
        asset_id: String,
        /// The program's asset name.
        name: String,
        asset_type: AssetType,
        /// Size of the asset's box along its own x axis, metres (a circle's diameter).
        width: f64,
        /// Size of the asset's box along its own y axis, metres.
        length: f64,
        /// Degrees counter-clockwise from UTM grid east to the asset's width axis
        /// (docs/rotation.md).
        rotation: f64,
        shape: ShapeKind,
        /// Area of the outline, m².
        area_m2: f64,
    },
    /// A road centreline (a LineString).
    Road {
        /// Paved width, metres.
        width: f64,
        /// Centreline length, metres.
        length_m: f64,
        class: RoadClass,
    },
}

/// Which outline an asset has within its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    /// The whole `width × length` box.
    Rectangle,
    /// A circle of diameter `width`, drawn as a 32-sided polygon around it.
    Circle,
    /// The program's polygon.
    Polygon,
}

impl ShapeKind {
    /// The snake_case name written in every export.
    pub fn as_str(self) -> &'static str {
        match self {
            ShapeKind::Rectangle => "rectangle",
            ShapeKind::Circle => "circle",
            ShapeKind::Polygon => "polygon",
        }
    }
}

impl From<&crate::shape::Shape> for ShapeKind {
    fn from(shape: &crate::shape::Shape) -> Self {
        match shape {
            crate::shape::Shape::Rectangle => ShapeKind::Rectangle,
            crate::shape::Shape::Circle => ShapeKind::Circle,
            crate::shape::Shape::Polygon { .. } => ShapeKind::Polygon,
        }
    }
}

impl FeatureProperties {
    /// The properties as a GeoJSON properties object.
    pub fn to_object(&self) -> JsonObject {
        // Serialising plain numbers, strings and enums into a Value cannot fail (no maps
        // with non-string keys); an empty object would still be a valid feature.
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => JsonObject::new(),
        }
    }
}

/// Converts a layout to GeoJSON (WGS84). Fails only if a coordinate cannot be projected back,
/// e.g. for a problem with a corrupt projection.
pub fn layout_to_geojson(
    problem: &Problem,
    layout: &Layout,
) -> Result<FeatureCollection, ProjectionError> {
    let projector = problem.projection.projector()?;
    let mut features = Vec::new();
    let mut push =
        |geometry: Geometry<f64>, properties: FeatureProperties| -> Result<(), ProjectionError> {
            let wgs84: Geometry<f64> = projector.geometry_to_wgs84(&geometry)?;
            features.push(Feature {
                geometry: Some(geo_to_geojson(&wgs84)),
                properties: Some(properties.to_object()),
                ..Feature::default()
            });
            Ok(())
        };

    push(
        Geometry::MultiPolygon(problem.boundary_m.clone()),
        FeatureProperties::Boundary {
            name: "Boundary".into(),
            area_m2: problem.boundary_area_m2,
        },
    )?;
    push(
        Geometry::MultiPolygon(problem.buildable_m.clone()),
        FeatureProperties::Buildable {
            area_m2: problem.buildable_area_m2,
            setback_m: problem.setback_m,
        },
    )?;
    for e in &problem.exclusions_m {
        push(
            Geometry::MultiPolygon(e.keep_out.clone()),
            FeatureProperties::Exclusion {
                exclusion_kind: e.kind,
                buffer_m: e.buffer_m,
                name: e.name.clone(),
                source: e.source.clone(),
                area_m2: e.keep_out.unsigned_area(),
            },
        )?;
    }
    if !problem.steep_ground_m.0.is_empty() {
        push(
            Geometry::MultiPolygon(problem.steep_ground_m.clone()),
            FeatureProperties::SteepGround {
                name: format!("Steeper than {} %", problem.max_slope_percent),
                area_m2: problem.steep_ground_m.unsigned_area(),
                max_slope_percent: problem.max_slope_percent,
            },
        )?;
    }
    for (i, e) in problem.entrances_m.iter().enumerate() {
        push(
            Geometry::Point(Point::new(e[0], e[1])),
            FeatureProperties::Entrance {
                index: i,
                name: format!("Entrance {}", i + 1),
            },
        )?;
    }
    for a in &layout.assets {
        push(
            Geometry::Polygon(a.footprint()),
            FeatureProperties::Asset {
                asset_id: a.asset_id.clone(),
                name: a.name.clone(),
                asset_type: a.asset_type,
                width: a.width_m,
                length: a.length_m,
                rotation: a.rotation_deg,
                shape: ShapeKind::from(&a.shape),
                area_m2: a.area_m2(),
            },
        )?;
    }
    for r in &layout.roads {
        push(
            Geometry::LineString(LineString::from(r.points.clone())),
            FeatureProperties::Road {
                width: r.width_m,
                length_m: r.length_m(),
                class: r.class,
            },
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
        assert_eq!(road["class"], "access");
        assert_eq!(props["shape"], "rectangle");
        let text = serde_json::to_string(&fc).unwrap();
        assert!(
            text.starts_with("{\"type\":\"FeatureCollection\""),
            "{}",
            &text[..40]
        );
    }

    /// The direction of the edge from the first to the second vertex of an asset's WGS84
    /// outline, in degrees counter-clockwise from true east (local east/north metres on
    /// the WGS84 ellipsoid).
    fn true_angle_of_first_edge(polygon: &geo::Polygon<f64>) -> f64 {
        let (a, b) = (polygon.exterior().0[0], polygon.exterior().0[1]);
        let latitude = ((a.y + b.y) / 2.0).to_radians();
        let (semi_major, flattening) = (6_378_137.0_f64, 1.0 / 298.257_223_563);
        let e2 = flattening * (2.0 - flattening);
        let w = (1.0 - e2 * latitude.sin().powi(2)).sqrt();
        let prime_vertical = semi_major / w;
        let meridional = semi_major * (1.0 - e2) / w.powi(3);
        let east = (b.x - a.x).to_radians() * prime_vertical * latitude.cos();
        let north = (b.y - a.y).to_radians() * meridional;
        north.atan2(east).to_degrees()
    }

    #[test]
    fn rotation_is_counter_clockwise_from_grid_east_not_true_east() {
        // docs/rotation.md: `rotation` turns the width axis counter-clockwise from UTM grid
        // east. Grid north differs from true north by the meridian convergence
        // γ ≈ (λ − λ0) · sin φ, so on the ground the width axis points `rotation − γ`
        // counter-clockwise from true east.
        let site = rural_demo_site();
        let problem = prepare_problem(&site, &rural_demo_program(1)).unwrap();
        assert_eq!(problem.projection.zone, 13);
        let c = problem.buildable_m.centroid().unwrap();
        let spec = &problem.assets[0];
        let (lon, lat) = (-103.3995_f64, 39.352_f64);
        let central_meridian = -105.0_f64;
        let convergence = ((lon - central_meridian).to_radians().tan() * lat.to_radians().sin())
            .atan()
            .to_degrees();
        assert!((convergence - 1.0147).abs() < 1e-3, "{convergence}");
        for rotation in [0.0, 30.0, 90.0, 215.0] {
            let layout = Layout {
                assets: vec![PlacedAsset {
                    asset_id: spec.asset_id.clone(),
                    name: spec.name.clone(),
                    asset_type: spec.asset_type,
                    center: [c.x(), c.y()],
                    width_m: spec.width_m,
                    length_m: spec.length_m,
                    rotation_deg: rotation,
                    shape: Default::default(),
                }],
                roads: vec![],
            };
            let fc = layout_to_geojson(&problem, &layout).unwrap();
            let asset = fc
                .features
                .iter()
                .find(|f| f.properties.as_ref().unwrap()["kind"] == "asset")
                .unwrap();
            assert_eq!(asset.properties.as_ref().unwrap()["rotation"], rotation);
            let polygon: geo::Polygon<f64> = asset.geometry.clone().unwrap().try_into().unwrap();
            // The first edge of a rectangle's outline runs along its width axis.
            let measured = true_angle_of_first_edge(&polygon);
            let expected = rotation - convergence;
            let difference = (measured - expected + 540.0).rem_euclid(360.0) - 180.0;
            assert!(
                difference.abs() < 0.01,
                "rotation {rotation}: width axis at {measured}° from true east, expected {expected}°"
            );
        }
    }
}
