//! Running a strategy: choose the isolation (child process by default), run, then re-validate
//! every returned layout with the sdk validator — a plugin is never trusted.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

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
    let input = RunInput {
        problem: problem.clone(),
        request: request.clone(),
    };
    let mut layouts = match &options.isolation {
        Isolation::InProcess => plugin.plugin.run_in_process(&input, on_progress, cancel)?,
        Isolation::ChildProcess { runner } => {
            isolate::run_in_child(runner, &plugin.path, &input, options, on_progress, cancel)?
        }
    };
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
