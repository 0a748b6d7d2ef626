//! The anneal strategy as an anytime, multi-threaded search: it reports its best so far,
//! never ends below its constructive start, only gets better with more moves, and gives the
//! same layouts for the same seed on one thread and on two.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entmoot_plugin_sdk::fixtures::{rural_demo_mixed_program, rural_demo_site};
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{Layout, Problem, Progress, RunContext, RunRequest, Strategy};
use entmoot_strategy_anneal::AnnealStrategy;

/// Fifteen mixed assets on the rural demo parcel.
fn mixed_problem() -> Problem {
    prepare_problem(&rural_demo_site(), &rural_demo_mixed_program()).unwrap()
}

fn run_with(problem: &Problem, parameters: serde_json::Value) -> (Vec<Layout>, Vec<Progress>) {
    let mut reports = Vec::new();
    let layouts = {
        let mut ctx = RunContext::new(|p| reports.push(p.clone()), || false);
        let request = RunRequest {
            seed: 7,
            time_limit_ms: Some(600_000),
            parameters,
            ..RunRequest::default()
        };
        AnnealStrategy.run(problem, &request, &mut ctx).unwrap()
    };
    (layouts, reports)
}

fn objective(problem: &Problem, layout: &Layout) -> f64 {
    layout_metrics(problem, layout).objectives.weighted
}

#[test]
fn the_best_so_far_is_reported_and_never_falls_below_the_start() {
    let problem = mixed_problem();
    let (layouts, reports) = run_with(&problem, serde_json::json!({"iterations": 96}));
    let construction = reports
        .iter()
        .find(|p| p.message.starts_with("construction:"))
        .expect("a report after the construction");
    let start = construction.best_objective.expect("the start's objective");
    let search: Vec<&Progress> = reports
        .iter()
        .filter(|p| p.message.starts_with("search:") || p.message.starts_with("done:"))
        .collect();
    assert!(!search.is_empty(), "{reports:?}");
    let mut best = start;
    for report in &search {
        let reported = report
            .best_objective
            .expect("every search report has the best");
        assert!(
            reported >= best - 1e-12,
            "the best so far fell: {reported} after {best}"
        );
        best = reported;
        assert!(
            report
                .message
                .contains(&format!("of {}", problem.assets.len())),
            "the placed count is in the message: {}",
            report.message
        );
    }
    let returned = objective(&problem, &layouts[0]);
    assert!(returned >= start - 1e-12, "{returned} < start {start}");
    assert!((returned - best).abs() < 1e-9, "returns what it reported");
}

#[test]
fn more_moves_never_give_a_worse_layout_and_some_give_a_better_one() {
    let problem = mixed_problem();
    // A run with more moves continues the shorter run's search (same seed, same rounds).
    let objectives: Vec<f64> = [0, 16, 160]
        .iter()
        .map(|&moves| {
            let parameters = if moves == 0 {
                serde_json::json!({"iterations": 1, "patience": 1})
            } else {
                serde_json::json!({"iterations": moves, "patience": 0, "threads": 2})
            };
            objective(&problem, &run_with(&problem, parameters).0[0])
        })
        .collect();
    assert!(objectives[1] >= objectives[0] - 1e-12, "{objectives:?}");
    assert!(objectives[2] >= objectives[1] - 1e-12, "{objectives:?}");
    assert!(
        objectives[2] > objectives[0],
        "160 moves improve nothing: {objectives:?}"
    );
}

#[test]
fn one_thread_and_two_give_the_same_layouts_for_a_seed() {
    let problem = mixed_problem();
    let on = |threads: u32| {
        run_with(
            &problem,
            serde_json::json!({"iterations": 48, "threads": threads}),
        )
        .0
    };
    let one = on(1);
    assert_eq!(one, on(2), "the thread count changed the layouts");
    assert_eq!(one, on(2), "two runs on two threads differ");
}

#[test]
fn a_run_that_runs_out_of_patience_ends_before_its_time_limit_and_is_reproducible() {
    let problem = mixed_problem();
    let parameters = serde_json::json!({"patience": 8, "threads": 2});
    let started = std::time::Instant::now();
    let (first, reports) = run_with(&problem, parameters.clone());
    assert!(started.elapsed() < std::time::Duration::from_secs(300));
    assert_eq!(reports.last().unwrap().fraction, 1.0);
    assert_eq!(first, run_with(&problem, parameters).0);
}
