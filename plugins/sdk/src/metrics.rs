//! Layout metrics: only quantities measured on the layout and problem, nothing estimated.
//! Earthwork and cost need terrain and prices and are not computed here.

use std::collections::BTreeMap;

use geo::{Area, ConvexHull, MultiPolygon};
use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::problem::Problem;

/// Measured properties of one layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Assets the problem asks for.
    pub requested: usize,
    /// Assets the layout places (those whose id is in the problem, counted once).
    pub placed: usize,
    /// Requested asset ids that are not placed, in problem order.
    pub unplaced_asset_ids: Vec<String>,
    /// Placed count per asset type.
    pub placed_by_type: BTreeMap<String, usize>,
    /// Total footprint area in m².
    pub footprint_m2: f64,
    /// Footprint / boundary area.
    pub coverage: f64,
    /// Footprint / buildable area.
    pub buildable_utilization: f64,
    /// Footprint / area of the convex hull of all footprints (1 = one solid block);
    /// `None` without placed assets.
    pub compactness: Option<f64>,
    /// Total road centreline length in m.
    pub road_length_m: f64,
    /// Mean straight-line distance from each placed asset's centre to its nearest entrance, m;
    /// `None` without placed assets.
    pub mean_entrance_distance_m: Option<f64>,
}

/// Measures a layout.
pub fn layout_metrics(problem: &Problem, layout: &Layout) -> Metrics {
    let placed_ids: std::collections::HashSet<&str> =
        layout.assets.iter().map(|a| a.asset_id.as_str()).collect();
    let unplaced_asset_ids: Vec<String> = problem
        .assets
        .iter()
        .filter(|a| !placed_ids.contains(a.asset_id.as_str()))
        .map(|a| a.asset_id.clone())
        .collect();
    let mut placed_by_type = BTreeMap::new();
    for a in &layout.assets {
        *placed_by_type.entry(a.asset_type.to_string()).or_insert(0) += 1;
    }
    let footprints = layout.footprints();
    let footprint_m2: f64 = footprints.iter().map(|f| f.unsigned_area()).sum();
    let compactness = if footprints.is_empty() {
        None
    } else {
        let hull = MultiPolygon::new(footprints).convex_hull().unsigned_area();
        Some(if hull > 0.0 {
            (footprint_m2 / hull).min(1.0)
        } else {
            0.0
        })
    };
    let mean_entrance_distance_m = if layout.assets.is_empty() || problem.entrances_m.is_empty() {
        None
    } else {
        let total: f64 = layout
            .assets
            .iter()
            .map(|a| {
                problem
                    .entrances_m
                    .iter()
                    .map(|e| (a.center[0] - e[0]).hypot(a.center[1] - e[1]))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        Some(total / layout.assets.len() as f64)
    };
    let ratio = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    Metrics {
        requested: problem.assets.len(),
        placed: problem.assets.len() - unplaced_asset_ids.len(),
        unplaced_asset_ids,
        placed_by_type,
        footprint_m2,
        coverage: ratio(footprint_m2, problem.boundary_area_m2),
        buildable_utilization: ratio(footprint_m2, problem.buildable_area_m2),
        compactness,
        // Start from +0.0: an empty f64 sum is -0.0, which reads oddly in reports.
        road_length_m: layout
            .roads
            .iter()
            .map(|r| r.length_m())
            .fold(0.0, |total, length| total + length),
        mean_entrance_distance_m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{PlacedAsset, Road};
    use crate::test_support::square_problem;

    #[test]
    fn measures_a_layout() {
        let p = square_problem();
        let spec = &p.assets[0];
        let at = |id: &str, x: f64| PlacedAsset {
            asset_id: id.into(),
            name: spec.name.clone(),
            asset_type: spec.asset_type,
            center: [x, 20.0],
            width_m: 10.0,
            length_m: 20.0,
            rotation_deg: 0.0,
        };
        let layout = Layout {
            assets: vec![at("building-1", 20.0), at("building-2", 30.0)],
            roads: vec![Road {
                points: vec![[0.0, 0.0], [3.0, 4.0], [3.0, 10.0]],
                width_m: 5.0,
            }],
        };
        let m = layout_metrics(&p, &layout);
        assert_eq!(m.requested, 3);
        assert_eq!(m.placed, 2);
        assert_eq!(m.unplaced_asset_ids, vec!["building-3"]);
        assert_eq!(m.placed_by_type["building"], 2);
        assert!((m.footprint_m2 - 400.0).abs() < 1e-9);
        assert!((m.coverage - 0.04).abs() < 1e-12);
        assert!((m.buildable_utilization - 400.0 / 8100.0).abs() < 1e-12);
        assert!(
            (m.compactness.unwrap() - 1.0).abs() < 1e-9,
            "two touching boxes form a block"
        );
        assert!((m.road_length_m - 11.0).abs() < 1e-12);
        // entrance at (50, 0)
        let d1 = (30.0f64).hypot(20.0);
        let d2 = (20.0f64).hypot(20.0);
        assert!((m.mean_entrance_distance_m.unwrap() - (d1 + d2) / 2.0).abs() < 1e-9);

        let empty = layout_metrics(&p, &Layout::default());
        assert_eq!(empty.placed, 0);
        assert_eq!(empty.compactness, None);
    }
}
