//! Benchmark harness shared by the strategies' `bench` examples: the reference fixtures, a
//! runner that solves each one several times (median wall time), validates every layout and
//! prints one Markdown table row per fixture with the objective metrics.

use std::time::{Duration, Instant};

use geo::{Coord, MinimumRotatedRect, Polygon};

use crate::fixtures::{large_ranch_program, large_ranch_site, rural_demo_program, rural_demo_site};
use crate::metrics::layout_metrics;
use crate::prepare::{PrepareError, prepare_problem};
use crate::problem::Problem;
use crate::strategy::{RunContext, RunRequest, Strategy, StrategyError};
use crate::validate::validate_layout;

/// A named benchmark problem.
pub struct Fixture {
    pub name: &'static str,
    pub problem: Problem,
    /// What a perfect grid on the buildable area's minimum rotated rectangle holds (capped by
    /// the coverage limit), for single-size programs.
    pub grid_bound: Option<usize>,
}

/// The reference fixtures: rural demo with 3 and with 400 buildings (60 × 80 ft, 20 ft setback,
/// 10 ft spacing, default 40 % coverage), and the 200-asset large ranch.
pub fn fixtures() -> Result<Vec<Fixture>, PrepareError> {
    let demo3 = prepare_problem(&rural_demo_site(), &rural_demo_program(3))?;
    let demo400 = prepare_problem(&rural_demo_site(), &rural_demo_program(400))?;
    let ranch = prepare_problem(&large_ranch_site(), &large_ranch_program())?;
    let bound = perfect_grid_bound(&demo400);
    Ok(vec![
        Fixture {
            name: "rural_demo, 3 buildings",
            problem: demo3,
            grid_bound: None,
        },
        Fixture {
            name: "rural_demo, 400 buildings",
            problem: demo400,
            grid_bound: bound,
        },
        Fixture {
            name: "large ranch (~600 acres, 4 exclusions), 200 mixed assets",
            problem: ranch,
            grid_bound: None,
        },
    ])
}

/// What the `greedy` strategy returns first, without its time limit: every packing variant,
/// each with its street plans until one places everything, the best ranked first. (The
/// strategies cannot be linked into one binary beside each other, since each exports the
/// plugin entry point, so benchmarks comparing with greedy build its layout here.)
pub fn greedy_first_layout(problem: &Problem) -> Result<crate::layout::Layout, StrategyError> {
    use crate::packing::construct::{
        construct, placement_order, rank_distinct, street_plans, variants,
    };
    let order = placement_order(problem);
    let ctx = RunContext::detached();
    let mut all = Vec::new();
    for (k, v) in variants(problem, true, true).iter().enumerate() {
        for plan in street_plans(problem) {
            if let Some(c) = construct(problem, v, k, plan, &order, None, &ctx)? {
                let complete = c.layout.assets.len() == problem.assets.len();
                all.push(c);
                if complete {
                    break;
                }
            }
        }
    }
    Ok(rank_distinct(problem, all, 1)
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// For a program of one asset size: how many a perfect grid with the minimum spacing holds on
/// the buildable area's minimum rotated rectangle, capped by the coverage limit.
pub fn perfect_grid_bound(problem: &Problem) -> Option<usize> {
    let first = problem.assets.first()?;
    let (w, l, s) = (first.width_m, first.length_m, problem.min_spacing_m);
    let rect: Polygon<f64> = problem.buildable_m.minimum_rotated_rect()?;
    let c: Vec<Coord<f64>> = rect.exterior().coords().copied().collect();
    let side = |i: usize| (c[i + 1].x - c[i].x).hypot(c[i + 1].y - c[i].y);
    let (a, b) = (side(0), side(1));
    let fit = |len: f64, d: f64| ((len + s) / (d + s)).floor() as usize;
    let grid = (fit(a, w) * fit(b, l)).max(fit(a, l) * fit(b, w));
    let by_coverage = (problem.max_footprint_m2() / (w * l)).floor() as usize;
    Some(grid.min(by_coverage))
}

/// Runs `strategy` `runs` times on `fixture` and returns a Markdown table row: strategy,
/// fixture, placed / requested (and % of the grid bound), violations, weighted objective and
/// its five scores, road length, cost total, median time.
pub fn bench_row(
    strategy: &dyn Strategy,
    fixture: &Fixture,
    request: &RunRequest,
    runs: usize,
) -> String {
    let mut times: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let mut ctx = RunContext::detached().with_time_limit(request.time_limit_ms);
        let started = Instant::now();
        let result = strategy.run(&fixture.problem, request, &mut ctx);
        times.push(started.elapsed());
        last = Some(result);
    }
    times.sort();
    let median = times[times.len() / 2];
    let name = strategy.manifest().name;
    let layout = match last {
        Some(Ok(mut layouts)) if !layouts.is_empty() => layouts.swap_remove(0),
        Some(Err(e)) => return format!("| {name} | {} | error: {e} |", fixture.name),
        _ => return format!("| {name} | {} | no layout |", fixture.name),
    };
    let violations = validate_layout(&fixture.problem, &layout).len();
    let m = layout_metrics(&fixture.problem, &layout);
    let bound = fixture
        .grid_bound
        .map(|b| {
            format!(
                " ({:.1} % of grid bound {b})",
                100.0 * m.placed as f64 / b as f64
            )
        })
        .unwrap_or_default();
    let o = &m.objectives;
    format!(
        "| {name} | {} | {}/{}{bound} | {violations} | {:.4} | {:.3} / {:.3} / {:.3} / {:.3} / {:.3} | {:.0} m | {:.2} M {} | {:.3} s |",
        fixture.name,
        m.placed,
        m.requested,
        o.weighted,
        o.cost,
        o.buildable_area,
        o.accessibility,
        o.environmental_impact,
        o.aesthetics,
        m.road_length_m,
        m.cost.total / 1e6,
        m.cost.currency,
        median.as_secs_f64()
    )
}

/// The Markdown table header matching `bench_row`.
pub const TABLE_HEADER: &str = "| strategy | fixture | placed/requested | violations | objective | cost / area / access / env / aesthetics | roads | cost (no earthwork: no DEM) | median time |\n|---|---|---|---|---|---|---|---|---|";
