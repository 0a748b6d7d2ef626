//! The built-in `anneal` strategy: an improving search. It starts from the constructive
//! packer's best layouts (the same candidates the `greedy` strategy ranks, so it never places
//! fewer assets than greedy), then runs several simulated-annealing chains of destroy-and-repair
//! moves (`search`) that maximise the weighted objective (cost 40, buildable area 30,
//! accessibility 15, environmental impact 10, aesthetics 5 by default; see the sdk's
//! `objectives`) without ever placing fewer assets. It reports progress, honours cancellation
//! and the time limit (returning its best so far), returns K alternatives that differ in at
//! least a set share of their assets, and is reproducible: the same problem, request and seed
//! give the same layouts as long as the time limit does not cut the iterations short.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod params;
pub mod rng;
pub mod search;

use entmoot_plugin_sdk::packing::construct::{
    Candidate, construct, fingerprint, placement_order, street_plans, variants,
};
use entmoot_plugin_sdk::strategy::{Capabilities, Manifest};
use entmoot_plugin_sdk::{
    Layout, Problem, RunContext, RunRequest, Strategy, StrategyError, validate_layout,
};

use crate::params::Parameters;
use crate::rng::Rng;
use crate::search::{Frames, Scored, difference, neighbour};

/// Registry name of this strategy.
pub const NAME: &str = "anneal";

/// Accepted states each chain keeps as possible alternatives.
const ARCHIVE_PER_CHAIN: usize = 6;

/// The anneal strategy (stateless).
#[derive(Debug, Default, Clone, Copy)]
pub struct AnnealStrategy;

entmoot_plugin_sdk::export_strategy!(AnnealStrategy);

/// Why the anneal strategy could not run (mapped onto `StrategyError` at the trait boundary).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnnealError {
    #[error("problem.buildable_m: is empty")]
    NoBuildableArea,
    #[error("problem.assets[{index}] ({asset_id}): {message}")]
    BadAsset {
        index: usize,
        asset_id: String,
        message: String,
    },
    #[error("problem.{0}")]
    BadSettings(String),
}

impl From<AnnealError> for StrategyError {
    fn from(e: AnnealError) -> Self {
        StrategyError::InvalidProblem(e.to_string())
    }
}

fn check_problem(problem: &Problem) -> Result<(), AnnealError> {
    for (index, a) in problem.assets.iter().enumerate() {
        for (what, v) in [("width_m", a.width_m), ("length_m", a.length_m)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(AnnealError::BadAsset {
                    index,
                    asset_id: a.asset_id.clone(),
                    message: format!("{what} must be > 0, got {v}"),
                });
            }
        }
    }
    if !(problem.min_spacing_m.is_finite() && problem.min_spacing_m >= 0.0) {
        return Err(AnnealError::BadSettings(format!(
            "min_spacing_m: must be >= 0, got {}",
            problem.min_spacing_m
        )));
    }
    problem.roads.validate().map_err(AnnealError::BadSettings)?;
    if problem.buildable_m.0.is_empty() {
        return Err(AnnealError::NoBuildableArea);
    }
    Ok(())
}

impl Strategy for AnnealStrategy {
    fn manifest(&self) -> Manifest {
        entmoot_plugin_sdk::package_manifest! {
            name: NAME,
            description: "Simulated annealing over destroy-and-repair moves, seeded by the \
                          constructive packer: never places fewer assets than greedy, then \
                          improves the weighted objective (cost, buildable area, accessibility, \
                          environmental impact, aesthetics) and returns distinct alternatives.",
            capabilities: Capabilities {
                rotations: true,
                alternatives: true,
                terrain_aware: true,
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
        let budget_ms = request
            .time_limit_ms
            .unwrap_or(params.default_time_limit_ms);
        let started = std::time::Instant::now();
        let out_of_time = |ctx: &RunContext<'_>| {
            ctx.is_out_of_time() || started.elapsed().as_millis() as u64 >= budget_ms
        };

        // 1. Construction: every packing variant and street plan, as greedy does.
        let order = placement_order(problem);
        let all_variants = variants(problem, true, true);
        let plans = street_plans(problem);
        let mut candidates: Vec<Candidate> = Vec::new();
        for (k, v) in all_variants.iter().enumerate() {
            ctx.check_cancelled()?;
            if out_of_time(ctx) && !candidates.is_empty() {
                break;
            }
            for &plan in &plans {
                let Some(c) = construct(problem, v, k, plan, &order, None, ctx)? else {
                    return Err(AnnealError::NoBuildableArea.into());
                };
                let complete = c.layout.assets.len() == problem.assets.len();
                let truncated = c.truncated;
                candidates.push(c);
                if complete || truncated {
                    break;
                }
            }
            let best = candidates
                .iter()
                .map(|c| c.layout.assets.len())
                .max()
                .unwrap_or(0);
            ctx.report(
                0.3 * (k + 1) as f64 / all_variants.len() as f64,
                None,
                format!(
                    "construction {}/{}: best places {best} of {}",
                    k + 1,
                    all_variants.len(),
                    problem.assets.len()
                ),
            );
        }
        let mut seeds: Vec<Scored> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for c in candidates {
            if seen.insert(fingerprint(&c.layout)) {
                seeds.push(Scored::new(problem, c.layout, c.angle_deg));
            }
        }
        seeds.sort_by(|a, b| {
            b.placed
                .cmp(&a.placed)
                .then(b.objective.total_cmp(&a.objective))
        });
        if seeds.is_empty() {
            return Ok(vec![Layout::default()]);
        }

        // 2. Annealing chains, one per seed layout (the best seeds, at least two).
        let chains = wanted.max(2).min(seeds.len());
        let per_chain = params.iterations as usize / chains;
        let mut pool: Vec<Scored> = seeds.clone();
        let mut overall = seeds[0].objective;
        let total_iterations = (per_chain * chains).max(1);
        let mut done = 0usize;
        'chains: for chain in 0..chains {
            let mut rng =
                Rng::new(request.seed ^ (chain as u64).wrapping_mul(0xA076_1D64_78BD_642F));
            let frames = Frames::new(problem, seeds[chain].angle_deg);
            let mut current = seeds[chain].clone();
            let mut best = current.clone();
            let mut archive: Vec<Scored> = Vec::new();
            for it in 0..per_chain {
                ctx.check_cancelled()?;
                if out_of_time(ctx) {
                    pool.push(best);
                    pool.extend(archive);
                    break 'chains;
                }
                let temperature =
                    params.initial_temperature * (1.0 - it as f64 / per_chain.max(1) as f64);
                let Some(candidate) = neighbour(
                    problem,
                    &current,
                    &frames,
                    params.destroy_fraction,
                    &mut rng,
                    ctx,
                )?
                else {
                    break;
                };
                let accept = if candidate.placed != current.placed {
                    candidate.placed > current.placed
                } else {
                    let delta = candidate.objective - current.objective;
                    delta >= 0.0 || (temperature > 0.0 && rng.unit() < (delta / temperature).exp())
                };
                if accept {
                    if candidate.better_than(&best) {
                        best = candidate.clone();
                    }
                    if archive.len() < ARCHIVE_PER_CHAIN
                        || candidate.better_than(&archive[archive.len() - 1])
                    {
                        archive.push(candidate.clone());
                        archive.sort_by(|a, b| {
                            b.placed
                                .cmp(&a.placed)
                                .then(b.objective.total_cmp(&a.objective))
                        });
                        archive.truncate(ARCHIVE_PER_CHAIN);
                    }
                    current = candidate;
                }
                done += 1;
                if best.objective > overall && best.placed >= seeds[0].placed {
                    overall = best.objective;
                }
                if done.is_multiple_of(10) {
                    ctx.report(
                        0.3 + 0.7 * done as f64 / total_iterations as f64,
                        Some(overall),
                        format!(
                            "chain {}/{chains}, iteration {}/{per_chain}: best places {} with objective {:.4}",
                            chain + 1,
                            it + 1,
                            best.placed,
                            best.objective
                        ),
                    );
                }
            }
            pool.push(best);
            pool.extend(archive);
        }

        // 3. The best K layouts that differ enough from each other, all validated.
        pool.sort_by(|a, b| {
            b.placed
                .cmp(&a.placed)
                .then(b.objective.total_cmp(&a.objective))
        });
        let mut chosen: Vec<Scored> = Vec::new();
        let mut fingerprints = std::collections::HashSet::new();
        for strict in [true, false] {
            for s in &pool {
                if chosen.len() == wanted {
                    break;
                }
                if !fingerprints.insert(fingerprint(&s.layout)) && strict {
                    continue;
                }
                let distinct = chosen
                    .iter()
                    .all(|c| difference(&c.layout, &s.layout) >= params.min_difference);
                let new = !chosen
                    .iter()
                    .any(|c| fingerprint(&c.layout) == fingerprint(&s.layout));
                if (distinct || !strict) && new && validate_layout(problem, &s.layout).is_empty() {
                    chosen.push(s.clone());
                }
            }
        }
        ctx.report(
            1.0,
            chosen.first().map(|s| s.objective),
            format!(
                "done: {} alternative(s), best places {} of {} with objective {:.4}",
                chosen.len(),
                chosen.first().map_or(0, |s| s.placed),
                problem.assets.len(),
                chosen.first().map_or(0.0, |s| s.objective)
            ),
        );
        if chosen.is_empty() {
            return Err(StrategyError::Failed(
                "internal error: no constructed layout passed the validator".into(),
            ));
        }
        Ok(chosen.into_iter().map(|s| s.layout).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_valid() {
        let m = AnnealStrategy.manifest();
        m.validate().unwrap();
        assert_eq!(m.name, "anneal");
    }
}
