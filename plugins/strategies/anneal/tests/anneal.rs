//! End-to-end tests of the anneal strategy: the rural demo requirement, improvement over the
//! constructive seed, reproducibility, distinct alternatives, progress, cancellation and the
//! time limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::time::Instant;

use entmoot_plugin_sdk::fixtures::{rural_demo_mixed_program, rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::packing::construct::{
    construct, placement_order, rank_distinct, street_plans, variants,
};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::validate_layout;
use entmoot_plugin_sdk::{Layout, Problem, RunContext, RunRequest, Strategy, StrategyError};
use entmoot_strategy_anneal::AnnealStrategy;
use entmoot_strategy_anneal::search::difference;

fn run(problem: &Problem, request: &RunRequest) -> Vec<Layout> {
    AnnealStrategy
        .run(problem, request, &mut RunContext::detached())
        .unwrap()
}

/// What greedy returns first: the best constructed candidate.
fn constructive_best(problem: &Problem) -> Layout {
    let order = placement_order(problem);
    let ctx = RunContext::detached();
    let mut all = Vec::new();
    for (k, v) in variants(problem, true, true).iter().enumerate() {
        for plan in street_plans(problem) {
            all.push(
                construct(problem, v, k, plan, &order, None, &ctx)
                    .unwrap()
                    .unwrap(),
            );
        }
    }
    rank_distinct(problem, all, 1).remove(0)
}

fn mixed_problem() -> Problem {
    prepare_problem(&rural_demo_site(), &rural_demo_mixed_program()).unwrap()
}

#[test]
fn rural_demo_all_placed_valid_and_at_least_as_good_as_the_seed() {
    let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
    let started = Instant::now();
    let layouts = run(&problem, &RunRequest::default());
    let elapsed = started.elapsed();
    let best = &layouts[0];
    assert_eq!(best.assets.len(), 3);
    assert!(!best.roads.is_empty());
    assert_eq!(validate_layout(&problem, best), vec![]);
    let seed = constructive_best(&problem);
    let (a, s) = (
        layout_metrics(&problem, best),
        layout_metrics(&problem, &seed),
    );
    println!(
        "anneal objective {:.4} vs constructive {:.4}; road {:.0} m vs {:.0} m; {elapsed:?}",
        a.objectives.weighted, s.objectives.weighted, a.road_length_m, s.road_length_m
    );
    assert!(a.objectives.weighted >= s.objectives.weighted - 1e-12);
}

#[test]
fn seeded_runs_are_reproducible_and_alternatives_differ() {
    let problem = mixed_problem();
    let request = RunRequest {
        alternatives: 3,
        seed: 42,
        parameters: serde_json::json!({"iterations": 30}),
        ..RunRequest::default()
    };
    let a = run(&problem, &request);
    let b = run(&problem, &request);
    assert_eq!(a, b, "same seed, same layouts");
    assert_eq!(a.len(), 3);
    for (i, l) in a.iter().enumerate() {
        assert_eq!(validate_layout(&problem, l), vec![], "alternative {i}");
        for (j, earlier) in a[..i].iter().enumerate() {
            let d = difference(earlier, l);
            assert!(d >= 0.2, "alternatives {j} and {i} differ in only {d}");
        }
    }
    let seed = constructive_best(&problem);
    assert!(a[0].assets.len() >= seed.assets.len());
}

#[test]
fn progress_cancellation_and_time_limit() {
    let problem = mixed_problem();
    let mut reports = Vec::new();
    {
        let mut ctx = RunContext::new(|p| reports.push(p.clone()), || false);
        let request = RunRequest {
            parameters: serde_json::json!({"iterations": 20}),
            ..RunRequest::default()
        };
        AnnealStrategy.run(&problem, &request, &mut ctx).unwrap();
    }
    assert!(reports.len() >= 3, "{}", reports.len());
    assert_eq!(reports.last().unwrap().fraction, 1.0);
    assert!(reports.windows(2).all(|w| w[0].fraction <= w[1].fraction));

    let calls = Cell::new(0);
    let mut ctx = RunContext::new(
        |_| {},
        || {
            calls.set(calls.get() + 1);
            calls.get() > 3
        },
    );
    let err = AnnealStrategy
        .run(&problem, &RunRequest::default(), &mut ctx)
        .unwrap_err();
    assert_eq!(err, StrategyError::Cancelled);

    let request = RunRequest {
        time_limit_ms: Some(300),
        ..RunRequest::default()
    };
    let mut ctx = RunContext::detached().with_time_limit(request.time_limit_ms);
    let started = Instant::now();
    let layouts = AnnealStrategy.run(&problem, &request, &mut ctx).unwrap();
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(validate_layout(&problem, &layouts[0]), vec![]);
}
