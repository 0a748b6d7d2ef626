//! The plugin conformance check behind `entmoot plugins check PATH`: the suite a plugin author
//! (or an operator vetting a stranger's plugin) runs before shipping. It reads the handshake
//! exactly as the server does (private copy, handshake in a sandboxed child: no plugin code runs
//! in the checker) and runs it through the normal isolated path, reporting the sandbox's
//! protections on this machine, then checks:
//!
//! 1. the handshake (entry symbol, ABI version, table, manifest JSON);
//! 2. the manifest (semantic version, description, licence) and 3. the parameter schema (every
//!    parameter typed and described, defaults valid);
//! 4. runs on the standard problems (`problems`): the rural demo, a concave parcel with a hole
//!    and exclusions, a tiny parcel where nothing fits — every layout must pass the host's
//!    validator, respect the number of alternatives and the rotation capability;
//! 5. the schema's defaults behave like no parameters, and invalid parameters are refused
//!    with `invalid_parameters`;
//! 6. reproducibility with a seed, when the manifest claims determinism;
//! 7. progress reports in 0..1 and never decreasing;
//! 8. cancellation honoured within 1 s (the plugin must notice the cancel flag);
//! 9. the time limit honoured: best layouts so far returned within 2 s of a 1 s limit
//!    (measured from the host's side, so the slack also covers starting the child process
//!    and moving a large problem and result through the pipes of a debug build).
//!
//! 10. no process left behind: nothing the plugin started may still run when it answers.
//!
//! A failing plugin never makes the check panic: every failure is a report step.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use entmoot_plugin_sdk::{Layout, Problem, Progress, RunRequest, StrategyError};
use serde::Serialize;
use serde_json::Value;

use crate::HostError;
use crate::caps::cap_text;
use crate::registry::{StrategyInfo, load_plugin};
use crate::run::{Isolation, RunEnding, RunOptions, observe_run};
use crate::sandbox::SandboxReport;
use crate::settings::HostSettings;

pub mod problems;
pub mod schema;

use problems::{Expectation, StandardProblem};

/// Timing of the check; `Default` is what `entmoot plugins check` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// Time limit of each run on a standard problem.
    pub run_time_limit: Duration,
    /// How long after its start the cancellation run is cancelled.
    pub cancel_after: Duration,
    /// How soon after the cancellation the plugin must have answered.
    pub cancel_deadline: Duration,
    /// The time limit given in the time-limit run.
    pub time_limit: Duration,
    /// How soon after that limit the plugin must have answered (as seen by the host: it
    /// includes process start-up and moving the problem and result through the pipes).
    pub time_limit_slack: Duration,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            run_time_limit: Duration::from_secs(60),
            cancel_after: Duration::from_millis(300),
            cancel_deadline: Duration::from_secs(1),
            time_limit: Duration::from_secs(1),
            time_limit_slack: Duration::from_secs(2),
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Passed,
    Failed,
    /// Not applicable to this plugin (e.g. determinism when it does not claim it).
    Skipped,
}

/// One step of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckStep {
    pub name: String,
    pub outcome: StepOutcome,
    pub detail: String,
}

impl CheckStep {
    /// Whether the step failed.
    pub fn failed(&self) -> bool {
        self.outcome == StepOutcome::Failed
    }
}

/// The outcome of `check_plugin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConformanceReport {
    pub path: String,
    /// `name version` when the handshake succeeded.
    pub strategy: Option<String>,
    /// Where the plugin ran (`child process (…runner)` or `in process`).
    pub isolation: String,
    /// The protections each run had on this machine (child process only).
    pub sandbox: Option<SandboxReport>,
    pub steps: Vec<CheckStep>,
    pub elapsed_ms: u64,
}

impl ConformanceReport {
    /// Whether the plugin conforms: no step failed (and the handshake ran).
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && !self.steps.iter().any(CheckStep::failed)
    }

    /// The step called `name`.
    pub fn step(&self, name: &str) -> Option<&CheckStep> {
        self.steps.iter().find(|s| s.name == name)
    }

    fn count(&self, outcome: StepOutcome) -> usize {
        self.steps.iter().filter(|s| s.outcome == outcome).count()
    }
}

impl std::fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Conformance check of {}", self.path)?;
        writeln!(
            f,
            "strategy: {}; isolation: {}",
            self.strategy.as_deref().unwrap_or("(not loaded)"),
            self.isolation
        )?;
        match &self.sandbox {
            Some(sandbox) => writeln!(f, "sandbox: {sandbox}")?,
            None => writeln!(
                f,
                "sandbox: none (the plugin runs in the checker's process)"
            )?,
        }
        writeln!(f)?;
        let width = self
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0);
        for s in &self.steps {
            let tag = match s.outcome {
                StepOutcome::Passed => "PASS",
                StepOutcome::Failed => "FAIL",
                StepOutcome::Skipped => "SKIP",
            };
            writeln!(f, "  {tag}  {:<width$}  {}", s.name, s.detail)?;
        }
        writeln!(f)?;
        write!(
            f,
            "{} passed, {} failed, {} skipped in {:.1} s: {}",
            self.count(StepOutcome::Passed),
            self.count(StepOutcome::Failed),
            self.count(StepOutcome::Skipped),
            self.elapsed_ms as f64 / 1000.0,
            if self.passed() {
                "the plugin conforms."
            } else {
                "the plugin does NOT conform."
            }
        )
    }
}

/// Step names, stable for tests and tools reading the JSON report.
pub mod steps {
    pub const HANDSHAKE: &str = "handshake";
    pub const MANIFEST: &str = "manifest";
    pub const SCHEMA: &str = "parameter schema";
    pub const RUN_PREFIX: &str = "run: ";
    pub const DEFAULTS: &str = "schema defaults";
    pub const INVALID_PARAMETERS: &str = "invalid parameters refused";
    pub const REPRODUCIBLE: &str = "reproducible with a seed";
    pub const PROGRESS: &str = "progress monotonic";
    pub const CANCELLATION: &str = "cancellation within 1 s";
    pub const TIME_LIMIT: &str = "time limit honoured";
    pub const NO_STRAYS: &str = "no process left behind";
}

/// Checks the plugin at `path` with the default timing. Never panics on a bad plugin: failures
/// are report steps.
pub fn check_plugin(path: &Path, settings: &HostSettings) -> ConformanceReport {
    check_plugin_with(path, settings, &CheckConfig::default())
}

/// Checks the plugin at `path` with explicit timing.
pub fn check_plugin_with(
    path: &Path,
    settings: &HostSettings,
    config: &CheckConfig,
) -> ConformanceReport {
    let started = Instant::now();
    let options = &settings.run;
    let sandbox = match &options.isolation {
        Isolation::ChildProcess { runner } => {
            match crate::isolate::probe_sandbox(runner, options) {
                Ok(report) => Some(report),
                Err(e) => {
                    tracing::warn!("cannot probe the plugin sandbox: {e}");
                    None
                }
            }
        }
        Isolation::InProcess => None,
    };
    let mut report = ConformanceReport {
        path: path.display().to_string(),
        strategy: None,
        isolation: options.describe_isolation(),
        sandbox,
        steps: Vec::new(),
        elapsed_ms: 0,
    };
    let mut checker = Checker {
        options,
        config,
        report: &mut report,
        progress_runs: Vec::new(),
        strays: Vec::new(),
    };
    checker.run_all(path, settings);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// One observed run (see `Checker::observe`).
struct Observed {
    result: Result<Vec<Layout>, HostError>,
    ending: RunEnding,
    elapsed: Duration,
    progress: Vec<Progress>,
}

struct Checker<'a> {
    options: &'a RunOptions,
    config: &'a CheckConfig,
    report: &'a mut ConformanceReport,
    /// Progress of every run so far, by run name.
    progress_runs: Vec<(String, Vec<Progress>)>,
    /// Processes left behind, by run (counted by the runner, which killed them).
    strays: Vec<usize>,
}

impl Checker<'_> {
    fn step(&mut self, name: impl Into<String>, result: Result<String, String>) -> bool {
        let (outcome, detail) = match result {
            Ok(d) => (StepOutcome::Passed, d),
            Err(d) => (StepOutcome::Failed, d),
        };
        self.report.steps.push(CheckStep {
            name: name.into(),
            outcome,
            detail,
        });
        outcome == StepOutcome::Passed
    }

    fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.report.steps.push(CheckStep {
            name: name.into(),
            outcome: StepOutcome::Skipped,
            detail: why.into(),
        });
    }

    fn run_all(&mut self, path: &Path, settings: &HostSettings) {
        let loading = Instant::now();
        let info = match load_plugin(path, &std::sync::Arc::new(settings.clone())) {
            Ok(info) => info,
            Err(e) => {
                self.step(steps::HANDSHAKE, Err(cap_text(&e, 2_000)));
                return;
            }
        };
        self.report.strategy = Some(format!("{} {}", info.name, info.version));
        self.step(
            steps::HANDSHAKE,
            Ok(format!(
                "ABI v{}, {} {}, loaded in {} ms",
                info.manifest.abi_version,
                info.name,
                info.version,
                loading.elapsed().as_millis()
            )),
        );
        let manifest = schema::check_manifest(&info.manifest).map_err(|p| p.join("; "));
        self.step(steps::MANIFEST, manifest);
        let schema_ok =
            schema::check_parameter_schema(&info.manifest.parameters).map_err(|p| p.join("; "));
        self.step(steps::SCHEMA, schema_ok);

        let standard = match problems::standard_problems() {
            Ok(p) => p,
            Err(e) => {
                self.step("standard problems", Err(format!("internal error: {e}")));
                return;
            }
        };
        let mut first_demo_run: Option<Vec<Layout>> = None;
        for problem in &standard {
            let layouts = self.check_standard_run(&info, problem);
            if first_demo_run.is_none() && problem.name == "rural demo" {
                first_demo_run = layouts;
            }
        }
        let Some(demo) = standard.first() else {
            return;
        };
        self.check_defaults(&info, demo, first_demo_run.as_deref());
        self.check_invalid_parameters(&info, demo);
        self.check_reproducible(&info, demo);
        match problems::large_problem() {
            Ok(large) => {
                self.check_cancellation(&info, &large);
                self.check_time_limit(&info, &large);
            }
            Err(e) => {
                self.step(steps::CANCELLATION, Err(format!("internal error: {e}")));
            }
        }
        self.check_progress();
        self.check_strays();
    }

    fn check_strays(&mut self) {
        if self.options.isolation == Isolation::InProcess {
            self.skip(
                steps::NO_STRAYS,
                "in process, the checker cannot tell the plugin's processes from its own",
            );
            return;
        }
        let runs = self.strays.len();
        let left: usize = self.strays.iter().sum();
        let with_strays = self.strays.iter().filter(|&&n| n > 0).count();
        let outcome = if left == 0 {
            Ok(format!("{runs} runs left no process running"))
        } else {
            Err(format!(
                "{with_strays} of {runs} runs left {left} process(es) running after the plugin answered (they were killed); a plugin must wait for everything it starts"
            ))
        };
        self.step(steps::NO_STRAYS, outcome);
    }

    fn request(&self, parameters: Value, seed: u64) -> RunRequest {
        RunRequest {
            parameters,
            seed,
            time_limit_ms: Some(self.config.run_time_limit.as_millis() as u64),
            alternatives: 2,
        }
    }

    /// Runs `problem` and checks the answer against its expectation; returns the layouts when
    /// the step passed with layouts.
    fn check_standard_run(
        &mut self,
        info: &StrategyInfo,
        problem: &StandardProblem,
    ) -> Option<Vec<Layout>> {
        let request = self.request(Value::Object(Default::default()), 0);
        let observed = self.observe(info, &problem.problem, &request, None, self.options);
        self.progress_runs
            .push((problem.name.to_string(), observed.progress.clone()));
        let name = format!("{}{}", steps::RUN_PREFIX, problem.name);
        let assets = problem.problem.assets.len();
        let outcome = match (&observed.result, problem.expectation) {
            (Ok(layouts), expectation) => {
                match judge_layouts(info, &problem.problem, &request, layouts) {
                    Err(e) => Err(e),
                    Ok(()) if layouts.is_empty() && expectation == Expectation::Layouts => Err(
                        "returned no layout (return at least one, even one that places nothing)"
                            .into(),
                    ),
                    Ok(()) => Ok(format!(
                        "{} valid layout(s), best places {} of {assets}, {} progress report(s), {:.2} s",
                        layouts.len(),
                        layouts.first().map_or(0, |l| l.assets.len()),
                        observed.progress.len(),
                        observed.elapsed.as_secs_f64()
                    )),
                }
            }
            (
                Err(HostError::Strategy(
                    e @ (StrategyError::InvalidProblem(_) | StrategyError::Failed(_)),
                )),
                Expectation::NothingFits,
            ) => Ok(format!(
                "answered with a clean error ({e}), {:.2} s",
                observed.elapsed.as_secs_f64()
            )),
            (Err(e), _) => Err(describe_failure(e, observed.ending)),
        };
        let passed = self.step(name, outcome);
        match observed.result {
            Ok(layouts) if passed => Some(layouts),
            _ => None,
        }
    }

    fn check_defaults(
        &mut self,
        info: &StrategyInfo,
        demo: &StandardProblem,
        without_parameters: Option<&[Layout]>,
    ) {
        let defaults = schema::schema_defaults(&info.manifest.parameters);
        if defaults.is_empty() {
            self.skip(steps::DEFAULTS, "the schema declares no defaults");
            return;
        }
        let request = self.request(Value::Object(defaults.clone()), 0);
        let observed = self.observe(info, &demo.problem, &request, None, self.options);
        self.progress_runs
            .push(("schema defaults".into(), observed.progress.clone()));
        let given = Value::Object(defaults).to_string();
        let outcome = match &observed.result {
            Err(e) => Err(format!(
                "the defaults {given} were refused: {}",
                describe_failure(e, observed.ending)
            )),
            Ok(layouts) => match judge_layouts(info, &demo.problem, &request, layouts) {
                Err(e) => Err(e),
                Ok(()) => match without_parameters {
                    Some(plain)
                        if info.manifest.capabilities.deterministic
                            && plain != layouts.as_slice() =>
                    {
                        Err(format!(
                            "passing the schema's defaults {given} gives other layouts than passing no parameters: a declared default is not the one the strategy uses"
                        ))
                    }
                    _ => Ok(format!(
                        "{given} accepted{}",
                        if info.manifest.capabilities.deterministic && without_parameters.is_some()
                        {
                            "; same layouts as with no parameters"
                        } else {
                            ""
                        }
                    )),
                },
            },
        };
        self.step(steps::DEFAULTS, outcome);
    }

    fn check_invalid_parameters(&mut self, info: &StrategyInfo, demo: &StandardProblem) {
        let schema = &info.manifest.parameters;
        let mut cases: Vec<(String, Value)> = Vec::new();
        if schema::forbids_unknown(schema) {
            cases.push((
                "an unknown parameter".into(),
                serde_json::json!({"entmoot_conformance_unknown": 1}),
            ));
        }
        if let Some((name, wrong)) = schema::wrongly_typed_parameter(schema) {
            let mut m = serde_json::Map::new();
            m.insert(name.clone(), wrong);
            cases.push((format!("a wrongly typed `{name}`"), Value::Object(m)));
        }
        if cases.is_empty() {
            self.skip(
                steps::INVALID_PARAMETERS,
                "the schema allows unknown parameters and declares no typed scalar parameter",
            );
            return;
        }
        let mut passed = Vec::new();
        for (what, parameters) in cases {
            let request = self.request(parameters.clone(), 0);
            let observed = self.observe(info, &demo.problem, &request, None, self.options);
            match observed.result {
                Err(HostError::Strategy(StrategyError::InvalidParameters(message))) => {
                    passed.push(format!("{what}: \"{message}\""));
                }
                Ok(_) => {
                    self.step(
                        steps::INVALID_PARAMETERS,
                        Err(format!(
                            "{what} ({parameters}) was accepted; the schema forbids it, so the run must fail with invalid_parameters"
                        )),
                    );
                    return;
                }
                Err(e) => {
                    self.step(
                        steps::INVALID_PARAMETERS,
                        Err(format!(
                            "{what} ({parameters}) must fail with invalid_parameters, got: {}",
                            describe_failure(&e, observed.ending)
                        )),
                    );
                    return;
                }
            }
        }
        self.step(steps::INVALID_PARAMETERS, Ok(passed.join("; ")));
    }

    fn check_reproducible(&mut self, info: &StrategyInfo, demo: &StandardProblem) {
        if !info.manifest.capabilities.deterministic {
            self.skip(
                steps::REPRODUCIBLE,
                "the manifest does not claim determinism",
            );
            return;
        }
        let request = self.request(Value::Object(Default::default()), 42);
        let mut runs = Vec::new();
        for _ in 0..2 {
            let observed = self.observe(info, &demo.problem, &request, None, self.options);
            match observed.result {
                Ok(layouts) => runs.push(layouts),
                Err(e) => {
                    self.step(
                        steps::REPRODUCIBLE,
                        Err(format!(
                            "run with seed 42 failed: {}",
                            describe_failure(&e, observed.ending)
                        )),
                    );
                    return;
                }
            }
        }
        let outcome = if runs[0] == runs[1] {
            Ok("two runs with seed 42 in fresh processes gave identical layouts".into())
        } else {
            Err(
                "claims to be deterministic, but two runs with seed 42 gave different layouts"
                    .into(),
            )
        };
        self.step(steps::REPRODUCIBLE, outcome);
    }

    fn check_progress(&mut self) {
        let mut total = 0;
        let mut problems = Vec::new();
        for (run, reports) in &self.progress_runs {
            total += reports.len();
            let mut last = 0.0_f64;
            for (i, p) in reports.iter().enumerate() {
                if !(p.fraction.is_finite() && (0.0..=1.0).contains(&p.fraction)) {
                    problems.push(format!(
                        "{run}: report {i} has fraction {} (must be in 0..1)",
                        p.fraction
                    ));
                    break;
                }
                if p.fraction < last {
                    problems.push(format!(
                        "{run}: report {i} goes back from {last} to {}",
                        p.fraction
                    ));
                    break;
                }
                if p.best_objective.is_some_and(|b| !b.is_finite()) {
                    problems.push(format!("{run}: report {i} has a non-finite best_objective"));
                    break;
                }
                last = p.fraction;
            }
        }
        let runs = self.progress_runs.len();
        let outcome = if !problems.is_empty() {
            Err(problems.join("; "))
        } else if total == 0 {
            Ok(format!(
                "no progress reports in {runs} runs (allowed, but users see no progress until the end)"
            ))
        } else {
            Ok(format!(
                "{total} report(s) over {runs} runs, fractions within 0..1 and never decreasing"
            ))
        };
        self.step(steps::PROGRESS, outcome);
    }

    fn check_cancellation(&mut self, info: &StrategyInfo, large: &StandardProblem) {
        let options = RunOptions {
            cancel_grace_ms: self.config.cancel_deadline.as_millis() as u64,
            ..self.options.clone()
        };
        let request = self.request(Value::Object(Default::default()), 0);
        let after = self.config.cancel_after;
        let deadline = self.config.cancel_deadline;
        let observed = self.observe(info, &large.problem, &request, Some(after), &options);
        self.progress_runs
            .push(("cancellation run".into(), observed.progress.clone()));
        let outcome = match observed.ending {
            RunEnding::StoppedOnCancel { latency } if latency <= deadline => Ok(format!(
                "cancelled {} ms after the start of a run on the {}; it stopped {} ms later",
                after.as_millis(),
                large.name,
                latency.as_millis()
            )),
            RunEnding::StoppedOnCancel { latency } => Err(format!(
                "stopped {} ms after the cancellation: more than {} ms",
                latency.as_millis(),
                deadline.as_millis()
            )),
            RunEnding::KilledOnCancel => Err(format!(
                "ignored the cancellation: still running {} ms after it, and was killed (poll RunContext::should_stop / the cancel callback regularly)",
                deadline.as_millis()
            )),
            RunEnding::Answered => match &observed.result {
                Ok(_) | Err(HostError::Strategy(_)) => Ok(format!(
                    "answered in {} ms, before the cancellation at {} ms: nothing to cancel",
                    observed.elapsed.as_millis(),
                    after.as_millis()
                )),
                Err(e) => Err(describe_failure(e, observed.ending)),
            },
            RunEnding::KilledAtDeadline | RunEnding::Died => Err(match &observed.result {
                Err(e) => describe_failure(e, observed.ending),
                Ok(_) => "ended abnormally".into(),
            }),
        };
        self.step(steps::CANCELLATION, outcome);
    }

    fn check_time_limit(&mut self, info: &StrategyInfo, large: &StandardProblem) {
        let limit = self.config.time_limit;
        let slack = self.config.time_limit_slack;
        let options = RunOptions {
            grace_ms: slack.as_millis() as u64,
            ..self.options.clone()
        };
        let request = RunRequest {
            time_limit_ms: Some(limit.as_millis() as u64),
            ..self.request(Value::Object(Default::default()), 0)
        };
        let observed = self.observe(info, &large.problem, &request, None, &options);
        self.progress_runs
            .push(("time-limit run".into(), observed.progress.clone()));
        let assets = large.problem.assets.len();
        let outcome = match (&observed.result, observed.ending) {
            (Ok(layouts), _) if observed.elapsed <= limit + slack => {
                judge_layouts(info, &large.problem, &request, layouts).map(|()| {
                    format!(
                        "answered after {} ms with a limit of {} ms: {} valid layout(s), best places {} of {assets}",
                        observed.elapsed.as_millis(),
                        limit.as_millis(),
                        layouts.len(),
                        layouts.first().map_or(0, |l| l.assets.len()),
                    )
                })
            }
            (Ok(_), _) => Err(format!(
                "answered only after {} ms with a limit of {} ms",
                observed.elapsed.as_millis(),
                limit.as_millis()
            )),
            (Err(HostError::TimedOut { .. }), _) | (_, RunEnding::KilledAtDeadline) => {
                Err(format!(
                    "ignored its time limit of {} ms: still running {} ms later, and was killed (return the best layouts so far when RunContext::is_out_of_time)",
                    limit.as_millis(),
                    slack.as_millis()
                ))
            }
            (Err(HostError::Strategy(e)), _) => Err(format!(
                "answered with an error instead of its best layouts so far: {e}"
            )),
            (Err(e), ending) => Err(describe_failure(e, ending)),
        };
        self.step(steps::TIME_LIMIT, outcome);
    }

    /// Runs once on a worker thread, cancelling after `cancel_after` if given, and watching
    /// the clock: in-process runs cannot be killed, so a run that overstays its welcome is
    /// abandoned (its thread keeps running until the process exits).
    fn observe(
        &mut self,
        info: &StrategyInfo,
        problem: &Problem,
        request: &RunRequest,
        cancel_after: Option<Duration>,
        options: &RunOptions,
    ) -> Observed {
        enum Msg {
            Progress(Progress),
            Done(crate::run::RunObservation),
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let worker = {
            let (info, problem, request, options, cancel) = (
                info.clone(),
                problem.clone(),
                request.clone(),
                options.clone(),
                Arc::clone(&cancel),
            );
            let progress_tx = tx.clone();
            std::thread::Builder::new()
                .name("conformance-run".into())
                .spawn(move || {
                    let observation = observe_run(
                        &options,
                        &info,
                        &problem,
                        &request,
                        &mut |p| {
                            let _ = progress_tx.send(Msg::Progress(p));
                        },
                        &cancel,
                    );
                    let _ = tx.send(Msg::Done(observation));
                })
        };
        let started = Instant::now();
        if let Err(e) = worker {
            return Observed {
                result: Err(HostError::Protocol(format!(
                    "cannot start a worker thread: {e}"
                ))),
                ending: RunEnding::Died,
                elapsed: started.elapsed(),
                progress: Vec::new(),
            };
        }
        // A generous bound past every deadline the host itself enforces.
        let limit = request
            .time_limit_ms
            .map_or(self.config.run_time_limit, Duration::from_millis);
        let watchdog = limit
            + Duration::from_millis(options.grace_ms.max(limit.as_millis() as u64 / 10))
            + Duration::from_millis(options.cancel_grace_ms)
            + cancel_after.unwrap_or_default()
            + Duration::from_secs(5);
        let mut progress = Vec::new();
        let mut cancelled_at: Option<Instant> = None;
        loop {
            if let Some(after) = cancel_after
                && cancelled_at.is_none()
                && started.elapsed() >= after
            {
                cancel.store(true, Ordering::Relaxed);
                cancelled_at = Some(Instant::now());
            }
            // In-process, nobody kills the plugin: enforce the cancellation deadline here.
            let in_process_overdue = options.isolation == Isolation::InProcess
                && cancelled_at
                    .is_some_and(|c| c.elapsed() > Duration::from_millis(options.cancel_grace_ms));
            if in_process_overdue || started.elapsed() > watchdog {
                return Observed {
                    result: Err(if in_process_overdue {
                        HostError::Cancelled
                    } else {
                        HostError::Protocol(format!(
                            "the run did not return within {} s; it was abandoned",
                            watchdog.as_secs()
                        ))
                    }),
                    ending: if in_process_overdue {
                        RunEnding::KilledOnCancel
                    } else {
                        RunEnding::KilledAtDeadline
                    },
                    elapsed: started.elapsed(),
                    progress,
                };
            }
            match rx.recv_timeout(Duration::from_millis(10)) {
                Ok(Msg::Progress(p)) => progress.push(p),
                Ok(Msg::Done(observation)) => {
                    self.strays.push(observation.stray_processes);
                    // Progress sent before Done is already queued ahead of it.
                    let ending = match (observation.ending, cancelled_at) {
                        // In-process: measure from when the flag was set.
                        (RunEnding::StoppedOnCancel { .. }, Some(c))
                            if options.isolation == Isolation::InProcess =>
                        {
                            RunEnding::StoppedOnCancel {
                                latency: c.elapsed(),
                            }
                        }
                        (ending, _) => ending,
                    };
                    return Observed {
                        result: observation.result,
                        ending,
                        elapsed: observation.elapsed,
                        progress,
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Observed {
                        result: Err(HostError::Protocol(
                            "the run's worker thread ended without an answer".into(),
                        )),
                        ending: RunEnding::Died,
                        elapsed: started.elapsed(),
                        progress,
                    };
                }
            }
        }
    }
}

/// The checks every answer must pass: no more layouts than requested, each valid, and no
/// rotation when the manifest says the strategy does not rotate.
fn judge_layouts(
    info: &StrategyInfo,
    problem: &Problem,
    request: &RunRequest,
    layouts: &[Layout],
) -> Result<(), String> {
    let wanted = request.alternatives.max(1) as usize;
    if layouts.len() > wanted {
        return Err(format!(
            "returned {} layouts for {wanted} requested",
            layouts.len()
        ));
    }
    let budget = Duration::from_millis(info.options().validation_budget_ms);
    for (k, layout) in layouts.iter().enumerate() {
        let violations = crate::run::validate_bounded(problem, layout, Instant::now() + budget)
            .map_err(|e| e.to_string())?;
        if !violations.is_empty() {
            return Err(HostError::InvalidLayout {
                alternative: k,
                violations,
            }
            .to_string());
        }
        if !info.manifest.capabilities.rotations
            && let Some(a) = layout
                .assets
                .iter()
                .find(|a| entmoot_plugin_sdk::geometry::normalize_deg(a.rotation_deg) != 0.0)
        {
            return Err(format!(
                "layout {k}: {} is rotated {}° but the manifest says the strategy does not rotate (capabilities.rotations = false)",
                a.asset_id, a.rotation_deg
            ));
        }
    }
    Ok(())
}

fn describe_failure(e: &HostError, ending: RunEnding) -> String {
    match (e, ending) {
        (HostError::Cancelled, RunEnding::KilledOnCancel) => {
            "cancelled and killed (it did not answer the cancellation)".into()
        }
        _ => e.to_string(),
    }
}
