//! The built-in `greedy` strategy: a fast, deterministic constructive placement. It packs the
//! assets largest first, bottom-left, in up to eight variants (grid-aligned and aligned with the
//! buildable area's dominant edge, each from the four corners), ranks the results and returns
//! the best distinct ones. Every returned layout passes the sdk validator by construction.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod frame;
pub mod packer;
pub mod params;
pub mod region;

use std::cmp::Ordering;
use std::collections::HashSet;

use entmoot_plugin_sdk::geo::Centroid;
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::strategy::{Capabilities, Manifest};
use entmoot_plugin_sdk::{
    Layout, Problem, RunContext, RunRequest, Strategy, StrategyError, abi, validate_layout,
};

use crate::frame::Frame;
use crate::packer::{Packing, Pass};
use crate::params::Parameters;
use crate::region::Region;

/// Registry name of this strategy.
pub const NAME: &str = "greedy";

/// The greedy strategy (stateless).
#[derive(Debug, Default, Clone, Copy)]
pub struct GreedyStrategy;

entmoot_plugin_sdk::export_strategy!(GreedyStrategy);

/// Why the greedy strategy could not run (mapped onto `StrategyError` at the trait boundary).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GreedyError {
    #[error("problem.assets[{index}] ({asset_id}): {message}")]
    BadAsset {
        index: usize,
        asset_id: String,
        message: String,
    },
    #[error("problem.buildable_m: is empty")]
    NoBuildableArea,
    #[error("problem.{field}: {message}")]
    BadValue {
        field: &'static str,
        message: String,
    },
    #[error(
        "internal error: layout {alternative} breaks the rules it was built to keep: {violations}"
    )]
    InvalidResult {
        alternative: usize,
        violations: String,
    },
}

impl From<GreedyError> for StrategyError {
    fn from(e: GreedyError) -> Self {
        match e {
            GreedyError::BadAsset { .. }
            | GreedyError::NoBuildableArea
            | GreedyError::BadValue { .. } => StrategyError::InvalidProblem(e.to_string()),
            GreedyError::InvalidResult { .. } => StrategyError::Failed(e.to_string()),
        }
    }
}

/// One packing variant: a frame angle and the corner it packs from.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Variant {
    angle_deg: f64,
    sx: f64,
    sy: f64,
}

impl Strategy for GreedyStrategy {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            abi_version: abi::ABI_VERSION,
            description: "Fast deterministic bottom-left greedy placement: largest assets first, \
                          grid-aligned and site-aligned frames packed from each corner."
                .to_string(),
            authors: vec!["Entmoot".to_string()],
            license: Some(env!("CARGO_PKG_LICENSE").to_string()),
            capabilities: Capabilities {
                rotations: true,
                alternatives: true,
                terrain_aware: false,
                deterministic: true,
            },
            parameters: Parameters::schema(),
        }
    }

    fn run(
        &self,
        problem: &Problem,
        request: &RunRequest,
        ctx: &mut RunContext<'_>,
    ) -> Result<Vec<Layout>, StrategyError> {
        let params = Parameters::from_value(&request.parameters)
            .map_err(|e| StrategyError::InvalidParameters(e.to_string()))?;
        check_problem(problem)?;
        let wanted = request.alternatives.max(1) as usize;

        let order = placement_order(problem);
        let origin = problem
            .buildable_m
            .centroid()
            .map_or([0.0, 0.0], |c| [c.x(), c.y()]);
        let variants = variants(problem, &params);
        let total = variants.len();
        let mut results: Vec<(usize, Packing)> = Vec::new();
        for (k, v) in variants.iter().enumerate() {
            ctx.check_cancelled()?;
            if ctx.is_out_of_time() && !results.is_empty() {
                break;
            }
            let frame = Frame::new(v.angle_deg, v.sx, v.sy, origin);
            let Some(region) = Region::new(frame.area_to_local(&problem.buildable_m)) else {
                return Err(GreedyError::NoBuildableArea.into());
            };
            let packing = Pass {
                problem,
                frame,
                region: &region,
                order: &order,
                grid_step_m: params.grid_step_m,
            }
            .run(ctx)?;
            let truncated = packing.truncated;
            results.push((k, packing));
            let best = results
                .iter()
                .map(|(_, p)| p.layout.assets.len())
                .max()
                .unwrap_or(0);
            ctx.report(
                (k + 1) as f64 / total as f64,
                Some(best as f64),
                format!(
                    "variant {}/{total} (frame {:.2}°, corner {}{}): best so far places {best} of {}",
                    k + 1,
                    v.angle_deg,
                    corner_name(v),
                    if truncated { ", cut short by the time limit" } else { "" },
                    problem.assets.len()
                ),
            );
            if truncated {
                break;
            }
        }

        let layouts = rank_distinct(problem, results, wanted);
        for (alternative, layout) in layouts.iter().enumerate() {
            let violations = validate_layout(problem, layout);
            if !violations.is_empty() {
                let violations = violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(GreedyError::InvalidResult {
                    alternative,
                    violations,
                }
                .into());
            }
        }
        Ok(layouts)
    }
}

fn corner_name(v: &Variant) -> &'static str {
    match (v.sx > 0.0, v.sy > 0.0) {
        (true, true) => "bottom-left",
        (false, true) => "bottom-right",
        (true, false) => "top-left",
        (false, false) => "top-right",
    }
}

/// Refuses problems the packer cannot work with (the host is trusted no more than plugins).
fn check_problem(problem: &Problem) -> Result<(), GreedyError> {
    for (index, a) in problem.assets.iter().enumerate() {
        for (what, v) in [("width_m", a.width_m), ("length_m", a.length_m)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(GreedyError::BadAsset {
                    index,
                    asset_id: a.asset_id.clone(),
                    message: format!("{what} must be > 0, got {v}"),
                });
            }
        }
    }
    if !(problem.min_spacing_m.is_finite() && problem.min_spacing_m >= 0.0) {
        return Err(GreedyError::BadValue {
            field: "min_spacing_m",
            message: format!("must be >= 0, got {}", problem.min_spacing_m),
        });
    }
    if !(problem.max_coverage.is_finite() && problem.boundary_area_m2.is_finite()) {
        return Err(GreedyError::BadValue {
            field: "max_coverage",
            message: format!(
                "max_coverage and boundary_area_m2 must be finite, got {} and {}",
                problem.max_coverage, problem.boundary_area_m2
            ),
        });
    }
    if problem.buildable_m.0.is_empty() {
        return Err(GreedyError::NoBuildableArea);
    }
    Ok(())
}

/// Asset indices, largest footprint first (ties keep problem order).
fn placement_order(problem: &Problem) -> Vec<usize> {
    let mut order: Vec<usize> = (0..problem.assets.len()).collect();
    order.sort_by(|&a, &b| {
        problem.assets[b]
            .area_m2()
            .total_cmp(&problem.assets[a].area_m2())
            .then(a.cmp(&b))
    });
    order
}

/// The frames to pack in: grid-aligned, and aligned with the site's dominant edge if that
/// differs; each from one or four corners.
fn variants(problem: &Problem, params: &Parameters) -> Vec<Variant> {
    let mut angles = vec![0.0];
    let reference = problem.reference_angle_deg;
    if params.align_to_site && reference.is_finite() && reference.abs() > 1e-9 {
        angles.insert(0, reference);
    }
    let corners: &[(f64, f64)] = if params.mirrors {
        &[(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)]
    } else {
        &[(1.0, 1.0)]
    };
    angles
        .iter()
        .flat_map(|&angle_deg| {
            corners
                .iter()
                .map(move |&(sx, sy)| Variant { angle_deg, sx, sy })
        })
        .collect()
}

/// Best first: most assets placed, then most footprint, then most compact, then variant order;
/// identical layouts are returned once.
fn rank_distinct(problem: &Problem, results: Vec<(usize, Packing)>, wanted: usize) -> Vec<Layout> {
    let mut scored: Vec<(usize, f64, f64, usize, Layout)> = results
        .into_iter()
        .map(|(k, p)| {
            let compactness = layout_metrics(problem, &p.layout)
                .compactness
                .unwrap_or(0.0);
            (
                p.layout.assets.len(),
                p.footprint_m2,
                compactness,
                k,
                p.layout,
            )
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(b.2.total_cmp(&a.2))
            .then(a.3.cmp(&b.3))
            .then(Ordering::Equal)
    });
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (.., layout) in scored {
        if out.len() == wanted {
            break;
        }
        if seen.insert(fingerprint(&layout)) {
            out.push(layout);
        }
    }
    out
}

/// Placements rounded to the millimetre, sorted: equal for layouts that look the same.
fn fingerprint(layout: &Layout) -> Vec<(String, i64, i64, i64)> {
    let mut f: Vec<_> = layout
        .assets
        .iter()
        .map(|a| {
            (
                a.asset_id.clone(),
                (a.center[0] * 1000.0).round() as i64,
                (a.center[1] * 1000.0).round() as i64,
                (a.rotation_deg * 1000.0).round() as i64,
            )
        })
        .collect();
    f.sort();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
    use entmoot_plugin_sdk::prepare::prepare_problem;

    #[test]
    fn manifest_is_valid() {
        let m = GreedyStrategy.manifest();
        m.validate().unwrap();
        assert_eq!(m.name, "greedy");
        assert!(m.capabilities.deterministic);
    }

    #[test]
    fn bad_parameters_are_reported() {
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
        let request = RunRequest {
            parameters: serde_json::json!({"grid_step_m": 0}),
            ..RunRequest::default()
        };
        let err = GreedyStrategy
            .run(&problem, &request, &mut RunContext::detached())
            .unwrap_err();
        assert_eq!(
            err,
            StrategyError::InvalidParameters("parameters.grid_step_m: must be > 0, got 0".into())
        );
    }

    #[test]
    fn bad_problem_is_reported() {
        let mut problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
        problem.assets[1].width_m = -3.0;
        let err = GreedyStrategy
            .run(
                &problem,
                &RunRequest::default(),
                &mut RunContext::detached(),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid problem: problem.assets[1] (building-2): width_m must be > 0, got -3"
        );
    }

    #[test]
    fn nan_spacing_is_reported() {
        let mut problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
        problem.min_spacing_m = f64::NAN;
        let err = GreedyStrategy
            .run(
                &problem,
                &RunRequest::default(),
                &mut RunContext::detached(),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid problem: problem.min_spacing_m: must be >= 0, got NaN"
        );
    }

    #[test]
    fn cancellation_is_honoured() {
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
        let mut ctx = RunContext::new(|_| {}, || true);
        let err = GreedyStrategy
            .run(&problem, &RunRequest::default(), &mut ctx)
            .unwrap_err();
        assert_eq!(err, StrategyError::Cancelled);
    }

    #[test]
    fn order_is_largest_first() {
        let mut problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
        problem.assets[2].width_m = 100.0;
        assert_eq!(placement_order(&problem), vec![2, 0, 1]);
    }
}
