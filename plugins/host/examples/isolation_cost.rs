//! Benchmark: what running a strategy in a child process costs per run (spawn, handshake,
//! payload through the pipes) next to calling it in-process, on the same problems.
//!
//! ```text
//! cargo build --release -p entmoot-plugin-host -p entmoot-strategy-greedy
//! cargo run --release -p entmoot-plugin-host --example isolation_cost [-- PLUGIN.so [RUNS]]
//! ```
//!
//! It runs each measurement RUNS times (default 21, after 2 warm-up runs), alternating the
//! ways of running, and prints medians as Markdown tables (the figures in BENCHMARKS.md).
//!
//! Fixed cost of a child, on a problem with no assets (the plugin returns at once):
//!
//! * runner only: `entmoot-plugin-runner` started on a file that is not there — spawn, read
//!   the request, fail to load, report, exit, reap;
//! * runner + plugin: the same plugin run in a child — adds loading the library in the child
//!   and the handshake;
//! * in-process: the same run called in this process.
//!
//! Per problem: `run_strategy_with` in-process (request encoded to JSON, the plugin's `run`
//! called through the C ABI, result decoded, every layout re-validated) and in a child
//! process (plus spawn, load and handshake in the child, request and result through pipes and
//! one more decode and encode of the result in the runner); the overhead is the median (and
//! the quartiles) of the per-pair differences. The JSON column is encoding plus decoding the request and the result
//! once, in this process.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use entmoot_plugin_host::conformance::problems::{concave_parcel, large_problem, rural_demo};
use entmoot_plugin_host::isolate::observe_child;
use entmoot_plugin_host::{
    HostSettings, RunOptions, StrategyInfo, find_runner, load_plugin, run_strategy_with,
};
use entmoot_plugin_sdk::abi::{RunInput, RunOutput};
use entmoot_plugin_sdk::{Layout, Problem, RunRequest};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // Examples live in target/<profile>/examples; the plugins in target/<profile>.
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .ok_or("cannot find the target directory")?
        .to_path_buf();
    let plugin = args.next().map(PathBuf::from).unwrap_or_else(|| {
        profile_dir.join(format!(
            "{}entmoot_strategy_greedy{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    });
    let runs: usize = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("RUNS: {e}"))?,
        None => 21,
    };
    let runner = find_runner(&exe)
        .ok_or("entmoot-plugin-runner not found: cargo build --release -p entmoot-plugin-host")?;
    let scratch = std::env::temp_dir();
    let child = RunOptions::child_process(runner.clone(), scratch.clone());
    let in_process = RunOptions::in_process(scratch.clone());
    let settings = std::sync::Arc::new(HostSettings::new(
        Vec::new(),
        Vec::new(),
        scratch,
        child.clone(),
    ));
    let info = load_plugin(&plugin, &settings).map_err(|e| format!("{}: {e}", plugin.display()))?;

    println!(
        "plugin: {} {} ({}); runner: {}; {runs} runs per figure (medians), {} CPU(s) available",
        info.name,
        info.version,
        plugin.display(),
        runner.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Fixed cost of a child.
    let mut empty = rural_demo()?.problem;
    empty.assets.clear();
    let request = RunRequest::default();
    let input = RunInput {
        problem: empty.clone(),
        request: request.clone(),
    };
    let missing = profile_dir.join("no-such-plugin.so");
    let spawn_only = || {
        let started = Instant::now();
        let run = observe_child(
            &runner,
            &missing,
            &input,
            &child,
            &mut |_| {},
            &AtomicBool::new(false),
        );
        (started.elapsed(), run.result.is_err())
    };
    for _ in 0..2 {
        spawn_only();
        run(&child, &info, &empty, &request)?;
        run(&in_process, &info, &empty, &request)?;
    }
    let (mut bare, mut loaded, mut inside) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t, refused) = spawn_only();
        if !refused {
            return Err("the runner accepted a missing plugin".into());
        }
        bare.push(t);
        loaded.push(run(&child, &info, &empty, &request)?.0);
        inside.push(run(&in_process, &info, &empty, &request)?.0);
    }
    println!();
    println!("| fixed cost per run (problem without assets) | median |");
    println!("|---|---|");
    println!(
        "| runner process only (spawn, read request, no plugin to load, exit) | {} |",
        ms(median(&mut bare))
    );
    println!(
        "| runner + plugin (also load the library, handshake, run, result) | {} |",
        ms(median(&mut loaded))
    );
    println!("| same run in-process | {} |", ms(median(&mut inside)));

    println!();
    println!(
        "| problem | assets placed | request / result JSON | in-process | child process | overhead (quartiles) | JSON encode+decode (request, result) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut large = large_problem()?;
    large.problem.assets.truncate(300);
    for (name, problem) in [
        ("rural demo (3 buildings)", rural_demo()?.problem),
        ("concave parcel (13 assets)", concave_parcel()?.problem),
        ("rural demo, 300 sheds", large.problem),
    ] {
        for _ in 0..2 {
            run(&in_process, &info, &problem, &request)?;
            run(&child, &info, &problem, &request)?;
        }
        let mut inside = Vec::new();
        let mut outside = Vec::new();
        let mut overhead = Vec::new();
        let mut layouts = Vec::new();
        for k in 0..runs {
            // Alternate which goes first, so that neither always runs on a warmer cache.
            let ((a, l), (b, _)) = if k % 2 == 0 {
                let a = run(&in_process, &info, &problem, &request)?;
                (a, run(&child, &info, &problem, &request)?)
            } else {
                let b = run(&child, &info, &problem, &request)?;
                (run(&in_process, &info, &problem, &request)?, b)
            };
            inside.push(a);
            outside.push(b);
            overhead.push(b.as_secs_f64() - a.as_secs_f64());
            layouts = l;
        }
        let (request_bytes, result_bytes, request_json, result_json) =
            json_costs(&problem, &request, &layouts, runs)?;
        overhead.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} | {} / {} | {} | {} | {:+.2} ms ({:+.2} to {:+.2}) | {}, {} |",
            layouts.first().map_or(0, |l| l.assets.len()),
            kib(request_bytes),
            kib(result_bytes),
            ms(median(&mut inside)),
            ms(median(&mut outside)),
            overhead[overhead.len() / 2] * 1000.0,
            overhead[overhead.len() / 4] * 1000.0,
            overhead[3 * overhead.len() / 4] * 1000.0,
            ms(request_json),
            ms(result_json),
        );
    }
    Ok(())
}

fn run(
    options: &RunOptions,
    info: &StrategyInfo,
    problem: &Problem,
    request: &RunRequest,
) -> Result<(Duration, Vec<Layout>), String> {
    let started = Instant::now();
    let layouts = run_strategy_with(
        options,
        info,
        problem,
        request,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .map_err(|e| e.to_string())?;
    Ok((started.elapsed(), layouts))
}

/// Sizes of the request and the result, and the median time to encode and decode each once.
fn json_costs(
    problem: &Problem,
    request: &RunRequest,
    layouts: &[Layout],
    runs: usize,
) -> Result<(usize, usize, Duration, Duration), String> {
    let input = RunInput {
        problem: problem.clone(),
        request: request.clone(),
    };
    let output = RunOutput {
        layouts: layouts.to_vec(),
    };
    let mut request_times = Vec::new();
    let mut result_times = Vec::new();
    let (mut request_bytes, mut result_bytes) = (0, 0);
    for _ in 0..runs {
        let started = Instant::now();
        let bytes = serde_json::to_vec(&input).map_err(|e| e.to_string())?;
        let _: RunInput = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        request_times.push(started.elapsed());
        request_bytes = bytes.len();
        let started = Instant::now();
        let bytes = serde_json::to_vec(&output).map_err(|e| e.to_string())?;
        let _: RunOutput = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        result_times.push(started.elapsed());
        result_bytes = bytes.len();
    }
    Ok((
        request_bytes,
        result_bytes,
        median(&mut request_times),
        median(&mut result_times),
    ))
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}
