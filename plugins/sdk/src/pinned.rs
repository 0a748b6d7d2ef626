//! Re-optimizing around assets a person placed by hand: the problem a strategy sees
//! when some assets are pinned (they become existing structures it must keep clear of),
//! and the merge of its answer with them, with roads routed again for everything.
//!
//! This lives in the sdk, not in a strategy, so that every strategy can be seeded from
//! an edited layout without knowing it: the host narrows the problem, runs the
//! strategy as usual, and merges.
//!
//! ```
//! use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
//! use entmoot_plugin_sdk::geo::Centroid;
//! use entmoot_plugin_sdk::pinned::problem_around_pinned;
//! use entmoot_plugin_sdk::prepare::prepare_problem;
//! use entmoot_plugin_sdk::PlacedAsset;
//!
//! let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
//! let spec = &problem.assets[0];
//! let middle = problem.buildable_m.centroid().unwrap();
//! let pinned = PlacedAsset {
//!     asset_id: spec.asset_id.clone(),
//!     name: spec.name.clone(),
//!     asset_type: spec.asset_type,
//!     center: [middle.x(), middle.y()],
//!     width_m: spec.width_m,
//!     length_m: spec.length_m,
//!     rotation_deg: 0.0,
//!     shape: spec.shape.clone(),
//! };
//! let around = problem_around_pinned(&problem, std::slice::from_ref(&pinned));
//! // The strategy places the two others, away from the pinned one.
//! assert_eq!(around.assets.len(), 2);
//! assert!(around.buildable_area_m2 < problem.buildable_area_m2 - spec.width_m * spec.length_m);
//! ```

use std::collections::HashSet;

use geo::{Area, BooleanOps, Buffer, Geometry, MultiPolygon};

use crate::layout::{Layout, PlacedAsset};
use crate::problem::{Problem, ProblemExclusion};
use crate::program::ExclusionKind;
use crate::roads::connect_layout;
use crate::validate::{Violation, validate_layout};

/// The problem with `pinned` taken out of the assets to place and turned into
/// exclusions grown by the widest spacing they need, and the coverage limit lowered by their
/// footprint, so that whatever the strategy places fits beside them.
pub fn problem_around_pinned(problem: &Problem, pinned: &[PlacedAsset]) -> Problem {
    let pinned_ids: HashSet<&str> = pinned.iter().map(|asset| asset.asset_id.as_str()).collect();
    let mut around = problem.clone();
    around
        .assets
        .retain(|asset| !pinned_ids.contains(asset.asset_id.as_str()));
    let mut buildable = around.buildable_m.clone();
    let mut pinned_footprint_m2 = 0.0;
    for asset in pinned {
        let footprint = MultiPolygon::new(vec![asset.footprint()]);
        pinned_footprint_m2 += footprint.unsigned_area();
        // Spacing is kept between footprints, so the zone is the footprint grown by it.
        // The widest spacing any asset of the program needs from this one.
        let spacing = problem
            .assets
            .iter()
            .map(|other| problem.spacing_between(asset.asset_type, other.asset_type))
            .fold(problem.min_spacing_m, f64::max);
        let keep_out = if spacing > 0.0 {
            footprint.buffer(spacing)
        } else {
            footprint.clone()
        };
        buildable = buildable.difference(&keep_out);
        around.exclusions_m.push(ProblemExclusion {
            kind: ExclusionKind::ExistingStructure,
            buffer_m: spacing,
            name: Some(asset.name.clone()),
            source: format!("pinned asset {}", asset.asset_id),
            geometry: Geometry::MultiPolygon(footprint),
            keep_out,
        });
    }
    around.buildable_m = buildable;
    around.buildable_area_m2 = around.buildable_m.unsigned_area();
    if around.boundary_area_m2 > 0.0 {
        around.max_coverage =
            (problem.max_coverage - pinned_footprint_m2 / around.boundary_area_m2).max(0.0);
    }
    around
}

/// Why a strategy's answer could not be merged with the pinned assets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// Routing roads for everything left a pinned asset without a road.
    #[error("no road reaches the pinned asset(s) {} once the others are placed", .0.join(", "))]
    PinnedUnreachable(Vec<String>),
    /// The merged layout breaks a rule the narrowed problem could not express (a
    /// per-pair spacing larger than the minimum, for example).
    #[error("the merged layout breaks {} rule(s): {}", .0.len(), .0.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
}

/// `pinned` plus what the strategy placed around them, with one road network routed
/// for all of them. Assets of the strategy that no road reaches any more are left out
/// (the layout places fewer); a pinned asset no road reaches is an error.
pub fn merge_with_pinned(
    problem: &Problem,
    pinned: &[PlacedAsset],
    solved: &Layout,
) -> Result<Layout, MergeError> {
    let pinned_ids: HashSet<&str> = pinned.iter().map(|asset| asset.asset_id.as_str()).collect();
    let mut merged = Layout {
        assets: pinned.to_vec(),
        roads: Vec::new(),
    };
    merged.assets.extend(
        solved
            .assets
            .iter()
            .filter(|asset| !pinned_ids.contains(asset.asset_id.as_str()))
            .cloned(),
    );
    let dropped = connect_layout(problem, &mut merged, None);
    let unreachable_pinned: Vec<String> = dropped
        .iter()
        .filter(|asset| pinned_ids.contains(asset.asset_id.as_str()))
        .map(|asset| asset.asset_id.clone())
        .collect();
    if !unreachable_pinned.is_empty() {
        return Err(MergeError::PinnedUnreachable(unreachable_pinned));
    }
    let violations = validate_layout(problem, &merged);
    if !violations.is_empty() {
        return Err(MergeError::Invalid(violations));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::square_problem;

    fn pinned_at(problem: &Problem, index: usize, center: [f64; 2]) -> PlacedAsset {
        let spec = &problem.assets[index];
        PlacedAsset {
            asset_id: spec.asset_id.clone(),
            name: spec.name.clone(),
            asset_type: spec.asset_type,
            center,
            width_m: spec.width_m,
            length_m: spec.length_m,
            rotation_deg: 0.0,
            shape: spec.shape.clone(),
        }
    }

    #[test]
    fn the_narrowed_problem_keeps_the_pinned_asset_clear_and_lowers_coverage() {
        let problem = square_problem();
        let pinned = pinned_at(&problem, 0, [50.0, 50.0]);
        let around = problem_around_pinned(&problem, std::slice::from_ref(&pinned));
        assert_eq!(around.assets.len(), problem.assets.len() - 1);
        assert!(around.assets.iter().all(|a| a.asset_id != pinned.asset_id));
        let spacing = problem.min_spacing_m;
        let grown = (10.0 + 2.0 * spacing) * (20.0 + 2.0 * spacing);
        // A buffered rectangle has rounded corners: slightly less than the grown box.
        let removed = problem.buildable_area_m2 - around.buildable_area_m2;
        assert!(
            removed > 200.0 && removed <= grown + 1e-6,
            "removed {removed}"
        );
        let expected = problem.max_coverage - 200.0 / problem.boundary_area_m2;
        assert!((around.max_coverage - expected).abs() < 1e-9);
    }

    #[test]
    fn merging_routes_roads_for_everything_and_validates() {
        let problem = square_problem();
        let pinned = pinned_at(&problem, 0, [30.0, 60.0]);
        let placed = pinned_at(&problem, 1, [70.0, 60.0]);
        let solved = Layout {
            assets: vec![placed],
            roads: Vec::new(),
        };
        let merged = merge_with_pinned(&problem, &[pinned], &solved).unwrap();
        assert_eq!(merged.assets.len(), 2);
        assert!(!merged.roads.is_empty());
        assert!(validate_layout(&problem, &merged).is_empty());
    }

    #[test]
    fn an_overlapping_answer_never_merges_into_an_invalid_layout() {
        let problem = square_problem();
        let pinned = pinned_at(&problem, 0, [50.0, 50.0]);
        let overlapping = pinned_at(&problem, 1, [52.0, 52.0]);
        let solved = Layout {
            assets: vec![overlapping],
            roads: Vec::new(),
        };
        match merge_with_pinned(&problem, &[pinned], &solved) {
            Err(MergeError::Invalid(violations)) => assert!(!violations.is_empty()),
            // Routing may also give up on one of two overlapping assets.
            Err(MergeError::PinnedUnreachable(_)) => {}
            // Or it drops the strategy's asset that no road reaches any more.
            Ok(layout) => {
                assert_eq!(layout.assets.len(), 1, "{layout:?}");
                assert!(validate_layout(&problem, &layout).is_empty());
            }
        }
    }
}
