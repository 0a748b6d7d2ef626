//! The built-in `anneal` strategy: an anytime improving search on every core.
//!
//! 1. Construction: the constructive packer's layouts for every packing variant and street
//!    plan (what `greedy` ranks, so it never places fewer assets than greedy), and the same
//!    packed first into windows around the entrance (`construct_near_entrance`), built on all
//!    threads.
//! 2. Search: several simulated-annealing chains of moves (`search`: mostly nudges of one
//!    asset, and local destroy-and-repair) that maximise the weighted objective (see the
//!    sdk's `objectives`) without ever placing fewer assets. The chains advance in rounds of
//!    a few moves each, spread over the threads (the sdk's `parallel`); after a round the
//!    best so far (objective, placed count, road length) is reported, and a chain that has
//!    gone `patience` moves without improving moves on to the next constructed start.
//! 3. The K best layouts that differ in at least a set share of their assets, validated.
//!
//! It stops at the time limit (returning its best so far), on cancellation, at the iteration
//! cap, or when every chain has run out of patience and starts. A longer run continues the
//! shorter one, so more time never gives a worse layout. The same problem, request, seed and
//! thread count give the same layouts unless the time limit cuts the search short. There are
//! max(alternatives, 2, threads) chains, and what a chain does never depends on which thread
//! ran it, so one thread and two give the same layouts too (for up to two alternatives).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod params;
pub mod rng;
pub mod search;

use std::time::{Duration, Instant};

use entmoot_plugin_sdk::packing::construct::{
    Candidate, construct_in_window, fingerprint, placement_order, street_plans, variants,
};
use entmoot_plugin_sdk::strategy::{Capabilities, Manifest};
use entmoot_plugin_sdk::{
    Layout, Problem, RunContext, RunRequest, Strategy, StrategyError, validate_layout,
};

use crate::params::Parameters;
use crate::rng::Rng;
use crate::search::{Frames, Scored, difference, neighbour};
use entmoot_plugin_sdk::parallel::{Stop, map_in_parallel};

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
            description: "Simulated annealing over destroy-and-repair moves on every core, \
                          seeded by the constructive packer (also packed next to the entrance): \
                          never places fewer assets than greedy, improves the weighted objective \
                          (cost, buildable area, accessibility, environmental impact, aesthetics) \
                          the longer it runs, reports its best so far and returns distinct \
                          alternatives.",
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
        let budget = Duration::from_millis(
            request
                .time_limit_ms
                .unwrap_or(params.default_time_limit_ms),
        );
        let started = Instant::now();
        let stop = Stop::new(started + budget);
        let threads = params.thread_count();

        // 1. Construction, spread over the threads.
        let seeds = constructed_starts(problem, threads, &stop, ctx)?;
        if seeds.is_empty() {
            return Ok(vec![Layout::default()]);
        }
        ctx.report(
            CONSTRUCTION_SHARE,
            Some(seeds[0].objective),
            format!(
                "construction: {} distinct start(s), best places {} of {} with objective {:.4}, roads {:.0} m",
                seeds.len(),
                seeds[0].placed,
                problem.assets.len(),
                seeds[0].objective,
                seeds[0].road_length_m
            ),
        );

        // 2. The chains, a few moves each per round, each round on all the threads.
        let chain_count = wanted.max(2).max(threads);
        let mut chains: Vec<Chain> = (0..chain_count)
            .map(|c| Chain::start(problem, request.seed, c, 0, &seeds[c % seeds.len()]))
            .collect();
        let starts = seeds.len().min(chain_count.max(MOST_STARTS));
        let mut next_start = chain_count.min(starts);
        let mut pool: Vec<Scored> = seeds.clone();
        let mut best = seeds[0].clone();
        let mut moves: u64 = 0;
        let mut fraction = CONSTRUCTION_SHARE;
        let cap = u64::from(params.iterations);
        let mut last_report: Option<Instant> = None;
        loop {
            let active = chains.iter().filter(|c| !c.finished).count() as u64;
            let remaining = if cap == 0 {
                u64::MAX
            } else {
                cap.saturating_sub(moves)
            };
            if active == 0 || remaining == 0 || stop.should_stop() {
                break;
            }
            let per_chain = remaining.div_ceil(active).min(MOVES_PER_ROUND) as u32;
            chains = map_in_parallel(chains, threads, &stop, ctx, |mut chain, stop| {
                chain.advance(problem, &params, per_chain, stop);
                chain
            });
            if let Some(e) = chains.iter().find_map(|c| c.error.clone()) {
                return Err(e);
            }
            ctx.check_cancelled()?;
            let mut improved = false;
            for chain in &mut chains {
                moves += u64::from(chain.moves_this_round);
                if chain.best.better_than(&best) {
                    best = chain.best.clone();
                    improved = true;
                }
                let out_of_patience =
                    params.patience > 0 && chain.stale >= params.patience && !chain.finished;
                if out_of_patience {
                    pool.push(chain.best.clone());
                    pool.append(&mut chain.archive);
                    if next_start < starts {
                        *chain = Chain::start(
                            problem,
                            request.seed,
                            chain.index,
                            next_start,
                            &seeds[next_start],
                        );
                        next_start += 1;
                    } else {
                        chain.finished = true;
                    }
                }
            }
            let due = last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY);
            if !improved && !due {
                continue;
            }
            last_report = Some(Instant::now());
            let time_share = started.elapsed().as_secs_f64() / budget.as_secs_f64().max(1e-3);
            let cap_share = if cap == 0 {
                0.0
            } else {
                moves as f64 / cap as f64
            };
            fraction = fraction
                .max(CONSTRUCTION_SHARE + (1.0 - CONSTRUCTION_SHARE) * time_share.max(cap_share))
                .min(0.99);
            ctx.report(
                fraction,
                Some(best.objective),
                format!(
                    "search: best places {} of {} with objective {:.4}, roads {:.0} m; {moves} moves on {threads} thread(s), {:.1} s",
                    best.placed,
                    problem.assets.len(),
                    best.objective,
                    best.road_length_m,
                    started.elapsed().as_secs_f64()
                ),
            );
        }
        for chain in chains {
            pool.push(chain.best);
            pool.extend(chain.archive);
        }

        // 3. The best K layouts that differ enough from each other, all validated.
        let chosen = distinct_best(problem, pool, wanted, params.min_difference);
        // How far each alternative is from those before it, for the planner comparing them.
        let distances: String = chosen
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, s)| {
                let nearest = chosen[..k]
                    .iter()
                    .map(|earlier| difference(&earlier.layout, &s.layout))
                    .fold(1.0, f64::min);
                format!(
                    "; alternative {}: objective {:.4}, roads {:.0} m, differs from the ones before it in {:.0} % of the assets",
                    k + 1,
                    s.objective,
                    s.road_length_m,
                    100.0 * nearest
                )
            })
            .collect();
        ctx.report(
            1.0,
            chosen.first().map(|s| s.objective),
            format!(
                "done: {} alternative(s), best places {} of {} with objective {:.4}, roads {:.0} m, after {moves} moves{distances}",
                chosen.len(),
                chosen.first().map_or(0, |s| s.placed),
                problem.assets.len(),
                chosen.first().map_or(0.0, |s| s.objective),
                chosen.first().map_or(0.0, |s| s.road_length_m),
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

/// How often at least the best so far is reported while it does not change (the first
/// round and every improvement are reported at once).
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Moves in which the temperature halves.
const COOLING_HALF_LIFE: f64 = 24.0;

/// Moves per cooling cycle (the temperature falls to about 1 % of its start in one).
const COOLING_CYCLE: u32 = 160;

/// Share of the progress bar the construction takes.
const CONSTRUCTION_SHARE: f64 = 0.3;

/// Moves each chain makes per round; between rounds the host is told the best so far and
/// chains out of patience take the next start. Rounds keep a seeded run reproducible: what a
/// chain does depends on its own moves only, never on how the threads were scheduled.
const MOVES_PER_ROUND: u64 = 8;

/// Constructed layouts, best first, the chains start from before they stop for lack of
/// patience: past the best dozen, starts are rarely better than more moves from a good one.
const MOST_STARTS: usize = 12;

/// Windows around the entrance the near-entrance starts pack into first, as multiples of the
/// program's footprint (see `construct_near_entrance`): a tight and a loose one.
const ENTRANCE_WINDOWS: [f64; 2] = [3.0, 8.0];

/// One construction job: a packing variant, and the window around the entrance if any.
struct ConstructionJob {
    variant_index: usize,
    window_m2: Option<f64>,
}

/// Every packing variant and street plan as greedy builds them, and the same packed near the
/// entrance first; scored, without duplicates, best first (so the search never returns
/// anything worse than what greedy would).
fn constructed_starts(
    problem: &Problem,
    threads: usize,
    stop: &Stop,
    ctx: &RunContext<'_>,
) -> Result<Vec<Scored>, StrategyError> {
    let order = placement_order(problem);
    let all_variants = variants(problem, true, true);
    let plans = street_plans(problem);
    let footprint = problem
        .assets
        .iter()
        .map(|a| a.area_m2())
        .sum::<f64>()
        .min(problem.max_footprint_m2());
    let mut jobs: Vec<ConstructionJob> = (0..all_variants.len())
        .map(|variant_index| ConstructionJob {
            variant_index,
            window_m2: None,
        })
        .collect();
    for factor in ENTRANCE_WINDOWS {
        jobs.extend(
            (0..all_variants.len()).map(|variant_index| ConstructionJob {
                variant_index,
                window_m2: Some(factor * footprint),
            }),
        );
    }
    let results = map_in_parallel(
        jobs.into_iter().enumerate().collect(),
        threads,
        stop,
        ctx,
        |(job_index, job), stop| -> Result<Vec<Candidate>, StrategyError> {
            // The first job always runs, so that even a tiny time limit has a layout.
            if job_index > 0 && stop.should_stop() {
                return Ok(Vec::new());
            }
            let worker = stop.worker_context();
            let variant = &all_variants[job.variant_index];
            let mut built = Vec::new();
            for &plan in &plans {
                let candidate = construct_in_window(
                    problem,
                    variant,
                    job.variant_index,
                    plan,
                    &order,
                    None,
                    job.window_m2,
                    &worker,
                )?;
                let Some(c) = candidate else {
                    break;
                };
                // Unlike greedy, every street plan is tried even after one placed everything:
                // the plans differ most in road length, which is what the search improves.
                let truncated = c.truncated;
                built.push(c);
                if truncated {
                    break;
                }
            }
            Ok(built)
        },
    );
    ctx.check_cancelled()?;
    let mut seeds: Vec<Scored> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for candidates in results {
        for c in candidates? {
            if seen.insert(fingerprint(&c.layout)) {
                seeds.push(Scored::new(problem, c.layout, c.angle_deg));
            }
        }
    }
    if seeds.is_empty() && problem.buildable_m.0.is_empty() {
        return Err(AnnealError::NoBuildableArea.into());
    }
    seeds.sort_by(Scored::best_first);
    Ok(seeds)
}

/// One annealing chain: where it is, the best it has seen, and how long since that improved.
struct Chain {
    index: usize,
    rng: Rng,
    frames: Frames,
    current: Scored,
    best: Scored,
    /// Accepted states kept as possible alternatives, best first.
    archive: Vec<Scored>,
    /// Moves since `best` last improved.
    stale: u32,
    /// Moves since this start (the cooling cycles count them).
    moves_since_start: u32,
    moves_this_round: u32,
    finished: bool,
    error: Option<StrategyError>,
}

impl Chain {
    /// Chain `index` at `from`, the `start_number`th start of the run: its random stream is
    /// fixed by the seed, the chain and the start, never by the threads.
    fn start(
        problem: &Problem,
        seed: u64,
        index: usize,
        start_number: usize,
        from: &Scored,
    ) -> Chain {
        Chain {
            index,
            rng: Rng::new(
                seed ^ (index as u64).wrapping_mul(0xA076_1D64_78BD_642F)
                    ^ (start_number as u64).wrapping_mul(0xE703_7ED1_A0B4_28DB),
            ),
            frames: Frames::new(problem, from.angle_deg),
            current: from.clone(),
            best: from.clone(),
            archive: Vec::new(),
            stale: 0,
            moves_since_start: 0,
            moves_this_round: 0,
            finished: false,
            error: None,
        }
    }

    /// Makes up to `moves` moves (fewer when told to stop).
    fn advance(&mut self, problem: &Problem, params: &Parameters, moves: u32, stop: &Stop) {
        self.moves_this_round = 0;
        if self.finished {
            return;
        }
        let worker = stop.worker_context();
        for _ in 0..moves {
            if stop.should_stop() {
                break;
            }
            // Cooling cycles: the temperature halves every HALF_LIFE moves, and each cycle
            // starts again, hot, from the chain's best.
            let in_cycle = self.moves_since_start % COOLING_CYCLE;
            if in_cycle == 0 && self.moves_since_start > 0 {
                self.current = self.best.clone();
            }
            let temperature =
                params.initial_temperature * 0.5_f64.powf(f64::from(in_cycle) / COOLING_HALF_LIFE);
            let candidate = match neighbour(
                problem,
                &self.current,
                &self.frames,
                params.destroy_fraction,
                &mut self.rng,
                &worker,
            ) {
                Ok(c) => c,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            };
            self.moves_this_round += 1;
            self.moves_since_start += 1;
            self.stale += 1;
            let Some(candidate) = candidate else {
                continue;
            };
            let accept = if candidate.placed != self.current.placed {
                candidate.placed > self.current.placed
            } else {
                let delta = candidate.objective - self.current.objective;
                delta >= 0.0 || (temperature > 0.0 && self.rng.unit() < (delta / temperature).exp())
            };
            if !accept {
                continue;
            }
            if candidate.better_than(&self.best) {
                self.best = candidate.clone();
                self.stale = 0;
            }
            if self.archive.len() < ARCHIVE_PER_CHAIN
                || candidate.better_than(&self.archive[self.archive.len() - 1])
            {
                self.archive.push(candidate.clone());
                self.archive.sort_by(Scored::best_first);
                self.archive.truncate(ARCHIVE_PER_CHAIN);
            }
            self.current = candidate;
        }
    }
}

/// The best `wanted` layouts of the pool that differ from each other in at least
/// `min_difference` of their assets (then, if too few do, the best of the rest), each one
/// validated.
fn distinct_best(
    problem: &Problem,
    mut pool: Vec<Scored>,
    wanted: usize,
    min_difference: f64,
) -> Vec<Scored> {
    pool.sort_by(Scored::best_first);
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
                .all(|c| difference(&c.layout, &s.layout) >= min_difference);
            let new = !chosen
                .iter()
                .any(|c| fingerprint(&c.layout) == fingerprint(&s.layout));
            if (distinct || !strict) && new && validate_layout(problem, &s.layout).is_empty() {
                chosen.push(s.clone());
            }
        }
    }
    chosen
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
