//! Running a strategy: choose the isolation (child process by default), run, then re-validate
//! every returned layout with the sdk validator — a plugin is never trusted.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use entmoot_plugin_sdk::abi::RunInput;
use entmoot_plugin_sdk::validate::{Violation, validate_layout_within};
use entmoot_plugin_sdk::{Layout, Problem, Progress, RunRequest};

use crate::protocol::RUNNER_NAME;
use crate::registry::StrategyInfo;
use crate::{HostError, isolate};

/// Where the plugin code runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// In a sandboxed child process started from this runner executable (the production
    /// setting): the handshake and every run.
    ChildProcess { runner: PathBuf },
    /// In this process: cancellation is cooperative, a crashing plugin crashes the host and
    /// the plugin sees everything the host sees. Only when chosen explicitly (development,
    /// tests); never a fallback.
    InProcess,
}

/// How to run strategies: the isolation and the limits of each run. Built by the embedding
/// program from its configuration (the host reads no environment variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub isolation: Isolation,
    /// Address-space limit of the child process (`RLIMIT_AS`), MiB.
    pub max_memory_mb: Option<u64>,
    /// Extra wall time after the request's time limit before the child is killed, ms (at
    /// least a tenth of the limit is added too).
    pub grace_ms: u64,
    /// Largest result the host reads from a child, bytes, whatever the problem (the cap for a
    /// problem is smaller: see `caps::max_result_bytes`).
    pub max_output_bytes: u64,
    /// After a cancellation the child is asked to stop (its plugin sees the cancel flag) and
    /// killed if it has not answered this many ms later. 0 kills at once.
    pub cancel_grace_ms: u64,
    /// `RLIMIT_NPROC` of the sandbox user (threads count).
    pub max_processes: u64,
    /// `RLIMIT_FSIZE`, MiB: the largest file a plugin may write in its working directory.
    pub max_file_size_mb: u64,
    /// `RLIMIT_NOFILE`.
    pub max_open_files: u64,
    /// The user and group a run switches to when the host runs as root (`nobody`).
    pub sandbox_user: (u32, u32),
    /// Where each run's fresh working directory is made (and removed afterwards).
    pub scratch_dir: PathBuf,
    /// How long the handshake of a plugin file may take, ms.
    pub handshake_timeout_ms: u64,
    /// How long the host may spend validating one run's layouts, ms; past it the run fails.
    pub validation_budget_ms: u64,
}

impl RunOptions {
    /// The production setting: every run and handshake in a sandboxed `runner` child.
    pub fn child_process(runner: PathBuf, scratch_dir: PathBuf) -> RunOptions {
        RunOptions {
            isolation: Isolation::ChildProcess { runner },
            max_memory_mb: Some(4096),
            grace_ms: 5_000,
            max_output_bytes: 64 * 1024 * 1024,
            cancel_grace_ms: 1_000,
            max_processes: 256,
            max_file_size_mb: 64,
            max_open_files: 256,
            sandbox_user: (65534, 65534),
            scratch_dir,
            handshake_timeout_ms: 10_000,
            validation_budget_ms: 1_000,
        }
    }

    /// Plugins in this process (see `Isolation::InProcess`).
    pub fn in_process(scratch_dir: PathBuf) -> RunOptions {
        RunOptions {
            isolation: Isolation::InProcess,
            ..RunOptions::child_process(PathBuf::new(), scratch_dir)
        }
    }

    /// How the isolation is described in logs and reports.
    pub fn describe_isolation(&self) -> String {
        match &self.isolation {
            Isolation::ChildProcess { runner } => format!("child process ({})", runner.display()),
            Isolation::InProcess => {
                "in process (a crash or endless loop takes the host down; no sandbox)".into()
            }
        }
    }
}

/// The runner executable installed beside `executable` (or in its parent directory: test
/// binaries live in `target/*/deps`), if there is one.
pub fn find_runner(executable: &Path) -> Option<PathBuf> {
    let name = format!("{RUNNER_NAME}{}", std::env::consts::EXE_SUFFIX);
    executable
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
}

/// Runs `plugin` with the options of the registry it came from. Synchronous: call it from a
/// blocking thread. Every returned layout has passed the sdk validator.
pub fn run_strategy(
    plugin: &StrategyInfo,
    problem: &Problem,
    request: &RunRequest,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Vec<Layout>, HostError> {
    let options = plugin.options();
    run_strategy_with(&options, plugin, problem, request, on_progress, cancel)
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
    let deadline = Instant::now() + Duration::from_millis(options.validation_budget_ms);
    for (alternative, layout) in layouts.iter().enumerate() {
        let violations = validate_bounded(problem, layout, deadline)?;
        if !violations.is_empty() {
            return Err(HostError::InvalidLayout {
                alternative,
                violations,
            });
        }
    }
    Ok(layouts)
}

/// Validates a layout at a cost the host controls: the counts and ids first (linear), then the
/// sdk validator with a deadline and a cap on the violations collected.
pub fn validate_bounded(
    problem: &Problem,
    layout: &Layout,
    deadline: Instant,
) -> Result<Vec<Violation>, HostError> {
    if let Err(violation) = crate::caps::precheck_layout(problem, layout) {
        return Ok(vec![violation]);
    }
    validate_layout_within(problem, layout, Some(deadline), crate::caps::MAX_VIOLATIONS)
        .map_err(|_| HostError::ValidationBudget)
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
    /// Processes the plugin left running when it answered (killed since; child process only).
    pub stray_processes: usize,
    /// The protections the run had (child process only).
    pub sandbox: Option<crate::sandbox::SandboxReport>,
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
            let result = plugin
                .in_process_library()
                .and_then(|library| library.run_in_process(&input, &mut relay, cancel));
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
                stray_processes: 0,
                sandbox: None,
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
                stray_processes: run.stray_processes,
                sandbox: run.sandbox,
            }
        }
    }
}
