//! Road networks: a tree of roads from the entrance(s) to every placed asset that keeps total
//! length low, with road classes sized by how many assets each segment serves.
//!
//! The builder routes on a non-uniform grid graph (`grid`) whose lines include the edges of
//! every footprint grown by the road's half width, so that a corridor just wide enough for a
//! road is always found. It grows a Steiner tree by repeatedly joining the asset nearest to the
//! tree by its shortest path (`steiner`, the Takahashi–Matsuyama heuristic with an incremental
//! Dijkstra), then cuts the tree into chains, gives each chain the class its load asks for (or
//! the widest that fits), and straightens it where the straight line is free (`network`).
//! Roads never run through an asset's paved clearance, an exclusion zone or outside the
//! parcel, and with terrain no road segment is steeper than the grade limit.
//!
//! ```
//! use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
//! use entmoot_plugin_sdk::prepare::prepare_problem;
//! use entmoot_plugin_sdk::{Layout, PlacedAsset, roads, validate_layout};
//!
//! let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(1)).unwrap();
//! let a = &problem.assets[0];
//! let mut layout = Layout {
//!     assets: vec![PlacedAsset {
//!         asset_id: a.asset_id.clone(), name: a.name.clone(), asset_type: a.asset_type,
//!         center: [637_900.0, 4_357_000.0], width_m: a.width_m, length_m: a.length_m,
//!         rotation_deg: 0.0, shape: Default::default(),
//!     }],
//!     roads: vec![],
//! };
//! let dropped = roads::connect_layout(&problem, &mut layout, None);
//! assert!(dropped.is_empty());
//! assert!(!layout.roads.is_empty());
//! assert_eq!(validate_layout(&problem, &layout), vec![]);
//! ```

pub mod grid;
pub mod network;
pub mod steiner;

use serde::{Deserialize, Serialize};

use crate::layout::{Layout, PlacedAsset, Road};
use crate::problem::Problem;

/// What a road segment is for; decides its paved width.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RoadClass {
    /// The trunk from an entrance, serving many assets (two lanes, 24 ft by default).
    Main,
    /// A collector serving a group of assets (20 ft by default).
    Secondary,
    /// A lane or driveway serving a few assets (12 ft by default).
    #[default]
    Access,
}

impl RoadClass {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RoadClass::Main => "main",
            RoadClass::Secondary => "secondary",
            RoadClass::Access => "access",
        }
    }

    /// Classes from the widest to the narrowest.
    pub const ALL: [RoadClass; 3] = [RoadClass::Main, RoadClass::Secondary, RoadClass::Access];
}

impl std::fmt::Display for RoadClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Road rules of a problem, in metres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoadSettings {
    /// Paved width of a main road (default 24 ft = 7.315 m).
    pub main_width_m: f64,
    /// Paved width of a secondary road (default 20 ft = 6.096 m).
    pub secondary_width_m: f64,
    /// Paved width of an access lane (default 12 ft = 3.658 m).
    pub access_width_m: f64,
    /// A segment serving at least this many assets is a main road.
    pub main_min_load: u32,
    /// A segment serving at least this many assets (and fewer than `main_min_load`) is a
    /// secondary road.
    pub secondary_min_load: u32,
    /// An asset is served by a road whose paved edge comes within this distance of its
    /// footprint.
    pub access_gap_m: f64,
    /// Extra clear distance the builder keeps between a paved edge and a footprint.
    pub clearance_m: f64,
    /// Steepest road grade allowed where terrain is known, percent.
    pub max_grade_percent: f64,
    /// Every placed asset must be reachable by road from an entrance.
    pub required: bool,
}

impl Default for RoadSettings {
    fn default() -> Self {
        RoadSettings {
            // 24, 20 and 12 ft, written as exact decimals so they survive a JSON round trip.
            main_width_m: 7.3152,
            secondary_width_m: 6.096,
            access_width_m: 3.6576,
            main_min_load: 20,
            secondary_min_load: 5,
            access_gap_m: 3.0,
            clearance_m: 0.1,
            max_grade_percent: 10.0,
            required: true,
        }
    }
}

impl RoadSettings {
    /// Paved width of a class, metres.
    pub fn width(&self, class: RoadClass) -> f64 {
        match class {
            RoadClass::Main => self.main_width_m,
            RoadClass::Secondary => self.secondary_width_m,
            RoadClass::Access => self.access_width_m,
        }
    }

    /// The class a segment serving `load` assets asks for.
    pub fn class_for_load(&self, load: u32) -> RoadClass {
        if load >= self.main_min_load {
            RoadClass::Main
        } else if load >= self.secondary_min_load {
            RoadClass::Secondary
        } else {
            RoadClass::Access
        }
    }

    /// The narrowest width of any class: what the router needs to get through.
    pub fn narrowest_width_m(&self) -> f64 {
        self.main_width_m
            .min(self.secondary_width_m)
            .min(self.access_width_m)
    }

    /// Half the width of the corridor the router needs between two footprints: half the
    /// narrowest road plus the clearance.
    pub fn route_radius_m(&self) -> f64 {
        self.narrowest_width_m() / 2.0 + self.clearance_m
    }

    /// The width of a corridor the packer should keep free for a road between two rows.
    pub fn corridor_width_m(&self) -> f64 {
        2.0 * self.route_radius_m() + 0.01
    }

    /// Checks every value; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("main_width_m", self.main_width_m),
            ("secondary_width_m", self.secondary_width_m),
            ("access_width_m", self.access_width_m),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("roads.{name}: must be > 0, got {v}"));
            }
        }
        for (name, v) in [
            ("access_gap_m", self.access_gap_m),
            ("clearance_m", self.clearance_m),
            ("max_grade_percent", self.max_grade_percent),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("roads.{name}: must be >= 0, got {v}"));
            }
        }
        Ok(())
    }
}

/// The roads planned for a set of placed assets.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadPlan {
    pub roads: Vec<Road>,
    /// Indices (into the assets given) of assets no road can reach.
    pub unreachable: Vec<usize>,
}

/// The grid orientation that suits these assets: the most common rotation modulo 90°, or the
/// site's reference angle without assets.
pub fn natural_angle(problem: &Problem, assets: &[PlacedAsset]) -> f64 {
    let mut counts: Vec<(i64, usize)> = Vec::new();
    for a in assets {
        let key = (a.rotation_deg.rem_euclid(90.0) * 1e6).round() as i64 % 90_000_000;
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    counts
        .iter()
        .max_by_key(|(k, n)| (*n, -*k))
        .map_or(problem.reference_angle_deg, |(k, _)| *k as f64 / 1e6)
}

/// Plans roads from the entrances to `assets`, routing on a grid aligned with
/// `frame_angle_deg` (or `natural_angle`).
pub fn plan_roads(
    problem: &Problem,
    assets: &[PlacedAsset],
    frame_angle_deg: Option<f64>,
) -> RoadPlan {
    let angle = frame_angle_deg.unwrap_or_else(|| natural_angle(problem, assets));
    let Some(grid) = grid::Grid::build(problem, assets, angle) else {
        return RoadPlan {
            roads: Vec::new(),
            unreachable: (0..assets.len()).collect(),
        };
    };
    let tree = steiner::grow(&grid);
    let roads = network::roads_from_tree(problem, assets, &grid, &tree);
    let unreachable = (0..assets.len())
        .filter(|&i| tree.attach[i].is_none())
        .collect();
    RoadPlan { roads, unreachable }
}

/// Gives `layout` roads from the entrances to its assets, removing the assets no road can
/// reach (returned), and routing once more without them so the roads are as short as the
/// remaining assets allow.
pub fn connect_layout(
    problem: &Problem,
    layout: &mut Layout,
    frame_angle_deg: Option<f64>,
) -> Vec<PlacedAsset> {
    let mut dropped = Vec::new();
    let mut plan = plan_roads(problem, &layout.assets, frame_angle_deg);
    if !plan.unreachable.is_empty() {
        let unreachable: std::collections::HashSet<usize> =
            plan.unreachable.iter().copied().collect();
        let mut kept = Vec::with_capacity(layout.assets.len());
        for (i, a) in std::mem::take(&mut layout.assets).into_iter().enumerate() {
            if unreachable.contains(&i) {
                dropped.push(a);
            } else {
                kept.push(a);
            }
        }
        layout.assets = kept;
        plan = plan_roads(problem, &layout.assets, frame_angle_deg);
        // Removing assets only frees space, so every remaining asset stays reachable; should
        // rounding ever say otherwise, drop those too rather than return an invalid layout.
        if !plan.unreachable.is_empty() {
            let again: std::collections::HashSet<usize> =
                plan.unreachable.iter().copied().collect();
            let mut kept = Vec::new();
            for (i, a) in std::mem::take(&mut layout.assets).into_iter().enumerate() {
                if again.contains(&i) {
                    dropped.push(a);
                } else {
                    kept.push(a);
                }
            }
            layout.assets = kept;
            plan = plan_roads(problem, &layout.assets, frame_angle_deg);
        }
    }
    layout.roads = plan.roads;
    dropped
}
