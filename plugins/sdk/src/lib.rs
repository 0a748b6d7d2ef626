//! Entmoot plugin SDK: the crate strategy plugins compile against — program, site, problem
//! and layout types, the `Strategy` trait, the `export_strategy!` macro emitting the C ABI,
//! and the geometry toolkit (projection, preparation, collision index, validator, metrics,
//! GeoJSON output) so that a strategy scores exactly as the host does.
//!
//! It depends on no other Entmoot crate and on no database, web or async runtime crate.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod abi;
pub mod bench;
pub mod cost;
pub mod earthwork;
pub mod fixtures;
pub mod geojson_out;
pub mod geometry;
pub mod geotiff;
pub mod index;
pub mod json_schema;
pub mod layout;
pub mod metrics;
pub mod objectives;
pub mod packing;
pub mod parallel;
pub mod parameters;
pub mod parking;
pub mod pinned;
pub mod prepare;
pub mod problem;
pub mod program;
pub mod projection;
pub mod roads;
pub mod shape;
pub mod site;
pub mod strategy;
pub mod terrain;
pub mod validate;
pub mod validity;

/// The geometry crates, re-exported so plugins use the same versions as the sdk.
pub use geo;
pub use geojson;
pub use serde_json;

pub use layout::{Layout, PlacedAsset, Road};
pub use problem::{Problem, ProblemAsset};
pub use program::Program;
pub use site::Site;
pub use strategy::{Manifest, Progress, RunContext, RunRequest, Strategy, StrategyError};
pub use validate::{Rule, Violation, validate_layout};

#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use crate::fixtures::{rural_demo_program as demo_program, rural_demo_site};
    use crate::problem::{Problem, ProblemAsset};
    use crate::program::{AssetType, Rotations};
    use crate::projection::Projection;
    use geo::{MultiPolygon, Rect};

    /// A 100 m square boundary [0,100]², buildable [5,95]², three 10 × 20 m buildings,
    /// spacing 3 m, coverage 0.4, entrance at (50, 0).
    pub(crate) fn square_problem() -> Problem {
        let square =
            |a: f64, b: f64| MultiPolygon::new(vec![Rect::new((a, a), (b, b)).to_polygon()]);
        Problem {
            projection: Projection {
                zone: 13,
                south: false,
            },
            boundary_m: square(0.0, 100.0),
            buildable_m: square(5.0, 95.0),
            exclusions_m: vec![],
            entrances_m: vec![[50.0, 0.0]],
            assets: (1..=3)
                .map(|k| ProblemAsset {
                    asset_id: format!("building-{k}"),
                    name: "Shed".into(),
                    asset_type: AssetType::Building,
                    width_m: 10.0,
                    length_m: 20.0,
                    rotations: Rotations::QuarterTurns,
                    shape: Default::default(),
                    priority: 0,
                })
                .collect(),
            setback_m: 5.0,
            min_spacing_m: 3.0,
            pair_spacings: Vec::new(),
            max_coverage: 0.4,
            boundary_area_m2: 10_000.0,
            buildable_area_m2: 8_100.0,
            reference_angle_deg: 0.0,
            roads: Default::default(),
            costs: Default::default(),
            objective_weights: Default::default(),
            max_slope_percent: crate::problem::DEFAULT_MAX_SLOPE_PERCENT,
            terrain: None,
            setback_line_m: square(5.0, 95.0),
            steep_ground_m: MultiPolygon::new(vec![]),
        }
    }
}
