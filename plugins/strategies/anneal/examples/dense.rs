//! How many of 400 buildings (60 × 80 ft, 10 ft spacing) greedy and anneal place on the rural
//! demo with the coverage limit lifted to 100 %, against the area bound:
//! `cargo run --release -p entmoot-strategy-anneal --example dense`.
//!
//! The bound: every building grown by half the spacing on every side is a box the others'
//! boxes cannot overlap, and all of them lie inside the buildable area grown by half the
//! spacing; so no layout holds more than that area over one grown box.
#![allow(clippy::print_stdout)]

use entmoot_plugin_sdk::bench::greedy_first_layout;
use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::geo::{Area, Buffer};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{RunContext, RunRequest, Strategy};
use entmoot_strategy_anneal::AnnealStrategy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut program = rural_demo_program(400);
    program.max_coverage = 1.0;
    let problem = prepare_problem(&rural_demo_site(), &program)?;
    let spec = &problem.assets[0];
    let half = problem.min_spacing_m / 2.0;
    let grown_area = problem.buildable_m.buffer(half).unsigned_area();
    let bound = (grown_area
        / ((spec.width_m + problem.min_spacing_m) * (spec.length_m + problem.min_spacing_m)))
        .floor();
    println!("area bound: {bound}");

    let greedy = greedy_first_layout(&problem)?.assets.len();
    println!(
        "greedy: {greedy} ({:.1} % of the bound)",
        100.0 * greedy as f64 / bound
    );
    for seconds in [5u64, 30] {
        let request = RunRequest {
            time_limit_ms: Some(seconds * 1000),
            parameters: serde_json::json!({"patience": 0}),
            ..RunRequest::default()
        };
        let mut ctx = RunContext::detached().with_time_limit(request.time_limit_ms);
        let placed = AnnealStrategy
            .run(&problem, &request, &mut ctx)?
            .swap_remove(0)
            .assets
            .len();
        println!(
            "anneal {seconds} s: {placed} ({:.1} % of the bound)",
            100.0 * placed as f64 / bound
        );
    }
    Ok(())
}
