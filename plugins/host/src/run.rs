//! Running a strategy: choose the isolation (child process by default), run, then re-validate
//! every returned layout with the sdk validator — a plugin is never trusted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use entmoot_plugin_sdk::abi::RunInput;
use entmoot_plugin_sdk::{Layout, Problem, Progress, RunRequest, validate_layout};

use crate::protocol::RUNNER_NAME;
use crate::registry::StrategyInfo;
use crate::{HostError, isolate};

/// Environment variable naming the runner executable explicitly.
pub const RUNNER_ENV: &str = "ENTMOOT_PLUGIN_RUNNER";

/// Where the plugin code runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// In a child process started from this runner executable (killed on cancel/time-out).
    ChildProcess { runner: PathBuf },
    /// In this process: cancellation is cooperative and a crashing plugin crashes the host.
    InProcess,
}

/// How to run a strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub isolation: Isolation,
    /// Address-space limit of the child process (`RLIMIT_AS`), MiB.
    pub max_memory_mb: Option<u64>,
    /// Extra wall time after the request's time limit before the child is killed, ms (at
    /// least a tenth of the limit is added too).
    pub grace_ms: u64,
    /// Largest result the host reads from a child, bytes.
    pub max_output_bytes: u64,
    /// After a cancellation the child is asked to stop (its plugin sees the cancel flag) and
    /// killed if it has not answered this many ms later. 0 kills at once.
    pub cancel_grace_ms: u64,
}

impl Default for RunOptions {
    /// Child-process isolation when the runner is found (see `find_runner`), otherwise
    /// in-process with a warning.
    fn default() -> Self {
        let isolation = match find_runner() {
            Some(runner) => Isolation::ChildProcess { runner },
            None => {
                tracing::warn!(
                    "{RUNNER_NAME} not found (set {RUNNER_ENV} or install it beside the executable); running plugins in-process"
                );
                Isolation::InProcess
            }
        };
        RunOptions {
            isolation,
            max_memory_mb: Some(4096),
            grace_ms: 5_000,
            max_output_bytes: 512 * 1024 * 1024,
            cancel_grace_ms: 1_000,
        }
    }
}

/// The runner executable: `$ENTMOOT_PLUGIN_RUNNER` if set, else `entmoot-plugin-runner` in the
/// current executable's directory or its parent (test binaries live in `target/*/deps`).
pub fn find_runner() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(RUNNER_ENV) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let exe = std::env::current_exe().ok()?;
    let name = format!("{RUNNER_NAME}{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
}

/// Runs `plugin` with the default options (see `RunOptions::default`). Synchronous: call it
/// from a blocking thread. Every returned layout has passed the sdk validator.
pub fn run_strategy(
    plugin: &StrategyInfo,
    problem: &Problem,
    request: &RunRequest,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Vec<Layout>, HostError> {
    run_strategy_with(
        &RunOptions::default(),
        plugin,
        problem,
        request,
        on_progress,
        cancel,
    )
}

/// Runs `plugin` with explicit options.
pub fn run_strategy_with(
    options: &RunOptions,
    plugin: &StrategyInfo,
    problem: &Problem,
    request: &RunRequest,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Vec<Layout>, HostError> {
    let mut layouts = observe_run(options, plugin, problem, request, on_progress, cancel).result?;
    let wanted = request.alternatives.max(1) as usize;
    if layouts.len() > wanted {
        tracing::warn!(
            strategy = %plugin.name,
            "returned {} layouts for {wanted} requested; keeping the first {wanted}",
            layouts.len()
        );
        layouts.truncate(wanted);
    }
    for (alternative, layout) in layouts.iter().enumerate() {
        let violations = validate_layout(problem, layout);
        if !violations.is_empty() {
            return Err(HostError::InvalidLayout {
                alternative,
                violations,
            });
        }
    }
    Ok(layouts)
}

/// How a run ended (see `RunObservation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnding {
    /// The plugin answered without being asked to stop.
    Answered,
    /// The plugin answered `latency` after it was asked to stop.
    StoppedOnCancel { latency: Duration },
    /// The plugin ignored the cancellation and was killed after `RunOptions::cancel_grace_ms`.
    KilledOnCancel,
    /// The plugin ran past its time limit plus grace and was killed.
    KilledAtDeadline,
    /// The plugin process died without an answer or spoke garbage.
    Died,
}

/// A run as the conformance check and the benchmark see it: the plugin's answer before
/// truncation and re-validation, how the run ended and how long it took.
#[derive(Debug)]
pub struct RunObservation {
    pub result: Result<Vec<Layout>, HostError>,
    pub ending: RunEnding,
    pub elapsed: Duration,
}

/// Runs `plugin` like `run_strategy_with` but returns its raw answer (no truncation, no
/// re-validation: do not store these layouts) together with how the run ended.
///
/// In-process, nothing can be killed: the call returns when the plugin does, and a
/// cancellation is seen as `StoppedOnCancel` with the time from the flag flipping (as observed
/// by the progress callback or the return) to the answer.
pub fn observe_run(
    options: &RunOptions,
    plugin: &StrategyInfo,
    problem: &Problem,
    request: &RunRequest,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> RunObservation {
    let started = Instant::now();
    let input = RunInput {
        problem: problem.clone(),
        request: request.clone(),
    };
    match &options.isolation {
        Isolation::InProcess => {
            // The flag is an atomic the plugin polls; note when this side first sees it set.
            let mut seen_cancel: Option<Instant> = None;
            let mut relay = |p: Progress| {
                if seen_cancel.is_none() && cancel.load(Ordering::Relaxed) {
                    seen_cancel = Some(Instant::now());
                }
                on_progress(p);
            };
            let result = plugin.plugin.run_in_process(&input, &mut relay, cancel);
            let ending = match (cancel.load(Ordering::Relaxed), seen_cancel) {
                (true, Some(seen)) => RunEnding::StoppedOnCancel {
                    latency: seen.elapsed(),
                },
                (true, None) => RunEnding::StoppedOnCancel {
                    latency: Duration::ZERO,
                },
                (false, _) => RunEnding::Answered,
            };
            RunObservation {
                result,
                ending,
                elapsed: started.elapsed(),
            }
        }
        Isolation::ChildProcess { runner } => {
            let run = isolate::observe_child(
                runner,
                plugin.loaded_path(),
                &input,
                options,
                on_progress,
                cancel,
            );
            RunObservation {
                result: run.result,
                ending: run.ending,
                elapsed: started.elapsed(),
            }
        }
    }
}
