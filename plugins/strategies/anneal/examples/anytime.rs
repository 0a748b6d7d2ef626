//! How the anneal strategy's best layout improves with time, and what a second thread buys:
//! `cargo run --release -p entmoot-strategy-anneal --example anytime`.
//!
//! Fixtures of about 3, 15, 200 and 400 assets. For each: greedy's layout, then anneal with
//! time limits of 1, 5, 30 and 120 s (seed 0, default parameters, all cores; one run per
//! cell, since a longer limit is a longer run of the same search). Then, on the fixtures of
//! 15 and 200 assets, the speed-up from 1 to 2 threads: the wall time of a run with a fixed
//! number of moves (the same work, and the same layouts, on either thread count), median of
//! 3 runs each.
//!
//! Arguments narrow it down: `-- ranch 30` runs only the fixtures whose name contains
//! "ranch", with a 30 s limit, and skips the speed-up.
#![allow(clippy::print_stdout)]

use std::cell::RefCell;

use entmoot_plugin_sdk::bench::{fixtures, greedy_first_layout};
use entmoot_plugin_sdk::fixtures::{rural_demo_mixed_program, rural_demo_site};
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{Layout, Problem, RunContext, RunRequest, Strategy};
use entmoot_strategy_anneal::AnnealStrategy;

fn row(label: &str, problem: &Problem, layout: &Layout, extra: &str) -> String {
    let m = layout_metrics(problem, layout);
    format!(
        "| {label} | {}/{} | {:.4} | {:.3} | {:.0} m | {:.2} M {} | {extra} |",
        m.placed,
        m.requested,
        m.objectives.weighted,
        m.objectives.accessibility,
        m.road_length_m,
        m.cost.total / 1e6,
        m.cost.currency
    )
}

/// Runs anneal and returns its best layout and the number of moves its last report names.
fn anneal(
    problem: &Problem,
    seconds: u64,
    threads: u32,
    iterations: u32,
) -> Result<(Layout, u64), String> {
    let last = RefCell::new(String::new());
    let request = RunRequest {
        time_limit_ms: Some(seconds * 1000),
        parameters: serde_json::json!({"threads": threads, "patience": 0, "iterations": iterations}),
        ..RunRequest::default()
    };
    let mut ctx = RunContext::new(|p| *last.borrow_mut() = p.message.clone(), || false)
        .with_time_limit(request.time_limit_ms);
    let mut layouts = AnnealStrategy
        .run(problem, &request, &mut ctx)
        .map_err(|e| e.to_string())?;
    drop(ctx);
    let moves = last
        .borrow()
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok((layouts.swap_remove(0), moves))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut all = fixtures()?;
    let mixed = prepare_problem(&rural_demo_site(), &rural_demo_mixed_program())?;
    let demo400 = all.remove(1);
    let problems: Vec<(&str, Problem)> = vec![
        (all[0].name, all.remove(0).problem),
        ("rural_demo, 15 mixed assets", mixed),
        (all[0].name, all.remove(0).problem),
        (demo400.name, demo400.problem),
    ];
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let only = arguments.first().cloned();
    let limits: Vec<u64> = if arguments.len() > 1 {
        arguments[1..]
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()?
    } else {
        vec![1, 5, 30, 120]
    };
    println!(
        "| run | placed | objective | access | roads | cost | note |\n|---|---|---|---|---|---|---|"
    );
    for (name, problem) in &problems {
        if only
            .as_ref()
            .is_some_and(|only| !name.contains(only.as_str()))
        {
            continue;
        }
        let greedy = greedy_first_layout(problem)?;
        println!("{}", row(&format!("{name}: greedy"), problem, &greedy, ""));
        for &seconds in &limits {
            let (layout, moves) = anneal(problem, seconds, 0, 0)?;
            println!(
                "{}",
                row(
                    &format!("{name}: anneal {seconds} s"),
                    problem,
                    &layout,
                    &format!("{moves} moves")
                )
            );
        }
    }
    if only.is_some() {
        return Ok(());
    }
    println!(
        "\n| fixture | moves | 1 thread | 2 threads | speed-up | same layouts |\n|---|---|---|---|---|---|"
    );
    for ((name, problem), moves) in problems.iter().skip(1).take(2).zip([400, 48]) {
        let timed = |threads: u32| -> Result<(f64, Layout), String> {
            let mut runs = Vec::new();
            let mut layout = Layout::default();
            for _ in 0..3 {
                let started = std::time::Instant::now();
                layout = anneal(problem, 600, threads, moves)?.0;
                runs.push(started.elapsed().as_secs_f64());
            }
            runs.sort_by(f64::total_cmp);
            Ok((runs[1], layout))
        };
        let ((one, a), (two, b)) = (timed(1)?, timed(2)?);
        println!(
            "| {name} | {moves} | {one:.2} s | {two:.2} s | {:.2} | {} |",
            one / two,
            if a == b { "yes" } else { "no" }
        );
    }
    Ok(())
}
