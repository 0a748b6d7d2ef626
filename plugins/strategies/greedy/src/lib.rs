//! The built-in `greedy` strategy: a fast, deterministic constructive placement. It packs the
//! assets largest first, bottom-left, in up to eight variants (grid-aligned and aligned with the
//! buildable area's dominant edge, each from the four corners), each with a few street plans
//! that keep corridors free for roads (`entmoot_plugin_sdk::packing::construct`), connects every
//! candidate to the entrances by a road tree, drops what no road reaches, ranks the results and
//! returns the best distinct ones. Every returned layout passes the sdk validator.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod params;

use entmoot_plugin_sdk::packing::construct::{
    Candidate, construct, placement_order, rank_distinct, street_plans, variants,
};
use entmoot_plugin_sdk::strategy::{Capabilities, Manifest};
use entmoot_plugin_sdk::{
    Layout, Problem, RunContext, RunRequest, Strategy, StrategyError, validate_layout,
};

use crate::params::Parameters;

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

impl Strategy for GreedyStrategy {
    fn manifest(&self) -> Manifest {
        entmoot_plugin_sdk::package_manifest! {
            name: NAME,
            description: "Fast deterministic bottom-left greedy placement: largest assets first, \
                          grid-aligned and site-aligned frames packed from each corner.",
            capabilities: Capabilities {
                rotations: true,
                alternatives: true,
                terrain_aware: false,
                deterministic: true,
            },
            parameters: Parameters,
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
        let variants = variants(problem, params.align_to_site, params.mirrors);
        let plans = street_plans(problem);
        let total = variants.len();
        let mut results: Vec<Candidate> = Vec::new();
        'variants: for (k, v) in variants.iter().enumerate() {
            ctx.check_cancelled()?;
            if ctx.is_out_of_time() && !results.is_empty() {
                break;
            }
            let mut truncated = false;
            for &plan in &plans {
                let Some(candidate) =
                    construct(problem, v, k, plan, &order, params.grid_step_m, ctx)?
                else {
                    return Err(GreedyError::NoBuildableArea.into());
                };
                truncated |= candidate.truncated;
                let complete = candidate.layout.assets.len() == problem.assets.len();
                results.push(candidate);
                if complete || truncated || ctx.should_stop() {
                    break;
                }
            }
            let best = results
                .iter()
                .map(|c| c.layout.assets.len())
                .max()
                .unwrap_or(0);
            ctx.report(
                (k + 1) as f64 / total as f64,
                Some(best as f64),
                format!(
                    "variant {}/{total} (frame {:.2}°, corner {}{}): best so far places {best} of {} with roads",
                    k + 1,
                    v.angle_deg,
                    v.corner_name(),
                    if truncated { ", cut short by the time limit" } else { "" },
                    problem.assets.len()
                ),
            );
            if truncated {
                break 'variants;
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

    #[test]
    fn placed_assets_have_roads() {
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
        let layout = &GreedyStrategy
            .run(
                &problem,
                &RunRequest::default(),
                &mut RunContext::detached(),
            )
            .unwrap()[0];
        assert_eq!(layout.assets.len(), 3);
        assert!(!layout.roads.is_empty());
        assert_eq!(validate_layout(&problem, layout), vec![]);
    }
}
