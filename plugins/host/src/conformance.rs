//! The plugin conformance check behind `entmoot plugins check PATH`: handshake and manifest,
//! a real run on the sdk's reference parcel through the normal (isolated, re-validated) path,
//! and determinism when the manifest claims it.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{Layout, RunRequest};
use serde::Serialize;

use crate::registry::load_plugin;
use crate::run::{RunOptions, run_strategy_with};

/// Time limit given to each conformance run.
pub const CHECK_TIME_LIMIT: Duration = Duration::from_secs(60);

/// One step of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckStep {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// The outcome of `check_plugin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConformanceReport {
    pub path: String,
    /// `name version` when the handshake succeeded.
    pub strategy: Option<String>,
    pub steps: Vec<CheckStep>,
}

impl ConformanceReport {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }
}

/// Checks the plugin at `path`. Never panics on a bad plugin: failures are report steps.
pub fn check_plugin(path: &Path, options: &RunOptions) -> ConformanceReport {
    let mut report = ConformanceReport {
        path: path.display().to_string(),
        strategy: None,
        steps: Vec::new(),
    };
    let mut step = |name: &'static str, result: Result<String, String>| {
        let passed = result.is_ok();
        report.steps.push(CheckStep {
            name,
            passed,
            detail: result.unwrap_or_else(|e| e),
        });
        passed
    };

    let info = match load_plugin(path) {
        Ok(info) => info,
        Err(e) => {
            step("handshake", Err(e.to_string()));
            return report;
        }
    };
    step(
        "handshake",
        Ok(format!(
            "ABI v{}, {} {}",
            info.manifest.abi_version, info.name, info.version
        )),
    );

    let problem = match prepare_problem(&rural_demo_site(), &rural_demo_program(3)) {
        Ok(p) => p,
        Err(e) => {
            step("reference problem", Err(format!("cannot prepare it: {e}")));
            return with_strategy(report, &info.name, &info.version);
        }
    };
    let request = RunRequest {
        time_limit_ms: Some(CHECK_TIME_LIMIT.as_millis() as u64),
        alternatives: 2,
        ..RunRequest::default()
    };
    let run = || -> Result<(Vec<Layout>, usize, Duration), String> {
        let started = Instant::now();
        let mut reports = 0;
        let layouts = run_strategy_with(
            options,
            &info,
            &problem,
            &request,
            &mut |_| reports += 1,
            &AtomicBool::new(false),
        )
        .map_err(|e| e.to_string())?;
        Ok((layouts, reports, started.elapsed()))
    };

    let first = run();
    let ran = step(
        "run on the rural demo parcel (3 buildings, 60 × 80 ft)",
        match &first {
            Ok((layouts, reports, elapsed)) => Ok(format!(
                "{} valid layout(s), best places {} of 3, {reports} progress report(s), {:.2} s",
                layouts.len(),
                layouts.first().map_or(0, |l| l.assets.len()),
                elapsed.as_secs_f64()
            )),
            Err(e) => Err(e.clone()),
        },
    );
    if ran && info.manifest.capabilities.deterministic {
        let same = match (&first, run()) {
            (Ok((a, ..)), Ok((b, ..))) if *a == b => Ok("two runs gave the same layouts".into()),
            (_, Ok(_)) => Err("claims to be deterministic, but two runs differ".into()),
            (_, Err(e)) => Err(format!("second run failed: {e}")),
        };
        step("determinism", same);
    }
    with_strategy(report, &info.name, &info.version)
}

fn with_strategy(mut report: ConformanceReport, name: &str, version: &str) -> ConformanceReport {
    report.strategy = Some(format!("{name} {version}"));
    report
}
