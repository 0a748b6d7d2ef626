//! Benchmark: what the worst output a plugin can send costs the host — reading the result line
//! (refused unread above `caps::max_result_bytes`), counting its assets, roads and points
//! without parsing (refused unparsed over the caps, `caps::check_result_counts`), parsing it
//! and validating it with `validate_bounded` (linear id checks, then the validator under its
//! time budget).
//!
//! ```text
//! cargo build --release -p entmoot-plugin-host --examples
//! cargo run --release -p entmoot-plugin-host --example validation_cost [-- RUNS]
//! ```
//!
//! Each case runs in a fresh child process (so that its peak memory is its own), RUNS times
//! (default 5); the table gives the median time and the median peak resident memory above
//! the process's baseline (the problem and the encoded output, which a host holds anyway, are
//! in the baseline). The cases, on the standard problems of `plugins check` (the rural demo
//! with 3 buildings; the large problem with 4,000 sheds):
//!
//! * duplicates: one asset repeated up to 90 % of the result cap (the 4,000-copies attack);
//! * stacked: every asset of the problem once, all on the same spot (every pair overlaps);
//! * road bomb: the most roads allowed, all identical, using every road point allowed (or as
//!   many as fit in 90 % of the result cap);
//! * long road: one road with the most points a road may have, zigzagging across the parcel.
//!
//! The output's own bytes (the line the host reads, at most the cap) are not in the memory
//! column: they are in the baseline. Above the cap the host stops reading and refuses the run.

use std::process::Command;
use std::time::{Duration, Instant};

use entmoot_plugin_host::caps::{
    BASE_ROAD_POINTS, BASE_ROADS, MAX_POINTS_PER_ROAD, POINTS_PER_ASSET, ROADS_PER_ASSET,
    check_result_counts, max_result_bytes,
};
use entmoot_plugin_host::conformance::problems::{large_problem, rural_demo};
use entmoot_plugin_host::protocol::{RunnerEvent, parse_result_line};
use entmoot_plugin_host::validate_bounded;
use entmoot_plugin_sdk::{Layout, PlacedAsset, Problem, Road, geo};

/// The host's default ceiling (`RunOptions::max_output_bytes`) and validation budget.
const CEILING: u64 = 64 * 1024 * 1024;
const BUDGET: Duration = Duration::from_millis(1_000);
const ALTERNATIVES: u32 = 3;

const CASES: &[&str] = &["duplicates", "stacked", "road bomb", "long road"];

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--case") => {
            let problem = args.next().ok_or("--case PROBLEM CASE")?;
            let case = args.next().ok_or("--case PROBLEM CASE")?;
            run_case(&problem, &case)
        }
        runs => {
            let runs: usize = runs
                .map_or(Ok(5), str::parse)
                .map_err(|e| format!("RUNS: {e}"))?;
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            println!(
                "| problem | case | output | read as | time (median of {runs}) | peak memory above baseline (median) |"
            );
            println!("|---|---|---|---|---|---|");
            for problem in ["rural demo", "large problem"] {
                for case in CASES {
                    let mut times = Vec::new();
                    let mut memories = Vec::new();
                    let mut last = String::new();
                    for _ in 0..runs {
                        let out = Command::new(&exe)
                            .args(["--case", problem, case])
                            .output()
                            .map_err(|e| e.to_string())?;
                        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                        let fields: Vec<&str> = text.split('\t').collect();
                        if !out.status.success() || fields.len() != 4 {
                            return Err(format!(
                                "{problem}/{case}: {text} {}",
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        }
                        times.push(fields[2].parse::<f64>().map_err(|e| e.to_string())?);
                        memories.push(fields[3].parse::<f64>().map_err(|e| e.to_string())?);
                        last = format!("{} | {}", fields[0], fields[1]);
                    }
                    println!(
                        "| {problem} | {case} | {last} | {:.1} ms | {:.1} MiB |",
                        median(&mut times),
                        median(&mut memories)
                    );
                }
            }
            Ok(())
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Peak resident memory of this process so far, MiB.
fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage fills the struct we pass for this process.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

fn placed(problem: &Problem, index: usize, center: [f64; 2]) -> PlacedAsset {
    let spec = &problem.assets[index];
    PlacedAsset {
        asset_id: spec.asset_id.clone(),
        name: spec.name.clone(),
        asset_type: spec.asset_type,
        center,
        width_m: spec.width_m,
        length_m: spec.length_m,
        rotation_deg: 0.0,
        shape: spec.shape.clone(),
    }
}

/// The worst layout of `case` for `problem` that the caps let through (or, for duplicates,
/// as many copies as fit under the result cap).
fn worst_layout(problem: &Problem, case: &str, cap: u64) -> Result<Layout, String> {
    let rect = geo::BoundingRect::bounding_rect(&problem.buildable_m)
        .ok_or("the problem has no buildable area")?;
    let middle = [rect.center().x, rect.center().y];
    let n = problem.assets.len();
    let max_roads = BASE_ROADS + ROADS_PER_ASSET * n;
    // The road caps, or as many points as fit under the result cap (about 40 bytes of JSON
    // each, in every alternative), whichever binds first: the worst output that is read.
    let fit = (cap as usize * 9 / 10) / 40 / ALTERNATIVES as usize;
    let max_points = (BASE_ROAD_POINTS + POINTS_PER_ASSET * n).min(fit);
    Ok(match case {
        "duplicates" => {
            let one = placed(problem, 0, middle);
            let size = serde_json::to_vec(&one).map_or(200, |v| v.len() + 1) as u64;
            // Just under the cap: the most that is read and parsed.
            let copies = (cap * 9 / 10 / size / u64::from(ALTERNATIVES)) as usize;
            Layout {
                assets: vec![one; copies],
                roads: Vec::new(),
            }
        }
        "stacked" => Layout {
            assets: (0..n).map(|k| placed(problem, k, middle)).collect(),
            roads: Vec::new(),
        },
        "road bomb" => {
            let per_road = (max_points / max_roads).max(2);
            let points: Vec<[f64; 2]> = (0..per_road)
                .map(|k| [rect.min().x + k as f64 * 0.5, middle[1]])
                .collect();
            Layout {
                assets: (0..n).map(|k| placed(problem, k, middle)).take(1).collect(),
                roads: vec![
                    Road {
                        points,
                        width_m: 6.0,
                        class: Default::default(),
                    };
                    max_roads
                ],
            }
        }
        _ => {
            let width = rect.width();
            let points: Vec<[f64; 2]> = (0..max_points.min(MAX_POINTS_PER_ROAD))
                .map(|k| {
                    let x = rect.min().x + (k as f64 * 7.3) % width;
                    let y = rect.min().y + (k as f64 * 0.01) % rect.height();
                    [x, y]
                })
                .collect();
            Layout {
                assets: vec![placed(problem, 0, middle)],
                roads: vec![Road {
                    points,
                    width_m: 6.0,
                    class: Default::default(),
                }],
            }
        }
    })
}

fn run_case(problem_name: &str, case: &str) -> Result<(), String> {
    let problem = match problem_name {
        "rural demo" => rural_demo()?.problem,
        _ => large_problem()?.problem,
    };
    let cap = max_result_bytes(problem.assets.len(), ALTERNATIVES, CEILING);
    let layout = worst_layout(&problem, case, cap)?;
    let line = serde_json::to_vec(&RunnerEvent::Result {
        layouts: vec![layout; ALTERNATIVES as usize],
    })
    .map_err(|e| e.to_string())?;
    let baseline = peak_rss_mib();
    let started = Instant::now();
    let verdict = if line.len() as u64 > cap {
        // What the host does: it stops reading at the cap and refuses the run.
        "refused unread".to_owned()
    } else if let Err((_, violation)) =
        check_result_counts(&line, problem.assets.len(), ALTERNATIVES as usize)
    {
        // What the host does next: counts the line's assets, roads and points without
        // parsing it, and refuses a result over the caps unparsed.
        format!("refused from its counts: {}", violation.rule)
    } else {
        let layouts = parse_result_line(&line)?;
        let deadline = Instant::now() + BUDGET;
        let mut verdict = "valid".to_owned();
        for layout in &layouts {
            match validate_bounded(&problem, layout, deadline) {
                Ok(v) if v.is_empty() => {}
                Ok(v) => {
                    verdict = format!("{} violation(s), first: {}", v.len(), v[0].rule);
                    break;
                }
                Err(e) => {
                    verdict = e.to_string();
                    break;
                }
            }
        }
        verdict
    };
    let elapsed = started.elapsed();
    println!(
        "{:.1} MiB of JSON (cap {:.1} MiB)\t{verdict}\t{:.3}\t{:.1}",
        line.len() as f64 / 1024.0 / 1024.0,
        cap as f64 / 1024.0 / 1024.0,
        elapsed.as_secs_f64() * 1000.0,
        (peak_rss_mib() - baseline).max(0.0)
    );
    Ok(())
}
