//! Entmoot plugin host: finds strategy plugins (`discover_plugins`), reads their ABI handshake
//! in a sandboxed child process (never in this one), reloads them when their files change
//! (`reload_plugins`, `watch_plugins`), runs them (`run_strategy`) in a sandboxed
//! `entmoot-plugin-runner` child process whose process group is killed at the end, on
//! cancellation or time-out, re-validates every layout a plugin returns at a bounded cost, and
//! checks a plugin's conformance (`check_plugin`). The host never trusts a plugin, and reads
//! no environment variable: the embedding program passes `HostSettings`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod caps;
pub mod conformance;
pub mod isolate;
pub mod library;
pub mod private_copy;
pub mod protocol;
pub mod registry;
pub mod run;
pub mod sandbox;
pub mod settings;

use std::path::PathBuf;

use entmoot_plugin_sdk::{StrategyError, Violation};

pub use conformance::{
    CheckConfig, CheckStep, ConformanceReport, StepOutcome, check_plugin, check_plugin_with,
};
pub use isolate::probe_sandbox;
pub use library::{LoadError, LoadedPlugin};
pub use registry::{
    BUILTIN_STRATEGIES, PluginChange, PluginRegistry, PluginWatcher, RefusedPlugin, ReloadReport,
    StrategyInfo, discover_plugins, load_plugin, reload_plugins, watch_plugins,
};
pub use run::{
    Isolation, RunEnding, RunObservation, RunOptions, find_runner, observe_run, run_strategy,
    run_strategy_with, validate_bounded,
};
pub use sandbox::SandboxReport;
pub use settings::HostSettings;

/// Why a run produced no layouts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HostError {
    #[error("cannot load plugin {}: {reason}", path.display())]
    Load { path: PathBuf, reason: String },
    #[error(transparent)]
    Strategy(StrategyError),
    /// The plugin returned a layout that breaks the rules; nothing from the run is kept.
    #[error("the strategy returned an invalid layout (alternative {alternative}, {} violation(s)): {}", violations.len(), summarize(violations))]
    InvalidLayout {
        alternative: usize,
        violations: Vec<Violation>,
    },
    #[error("cancelled")]
    Cancelled,
    #[error(
        "the strategy did not finish within its time limit of {limit_ms} ms plus {grace_ms} ms grace and was stopped"
    )]
    TimedOut { limit_ms: u64, grace_ms: u64 },
    #[error("the plugin process ended without a result ({status}){}", if stderr.is_empty() { String::new() } else { format!("; its last output: {stderr}") })]
    Crashed { status: String, stderr: String },
    #[error("cannot start the plugin runner {}: {reason}", path.display())]
    Runner { path: PathBuf, reason: String },
    #[error("plugin protocol error: {0}")]
    Protocol(String),
    /// The plugin wrote more than the problem can call for; refused unread. The same run
    /// would do it again, so it is not worth a retry.
    #[error("{0}")]
    OutputTooLarge(String),
    /// The layouts could not be validated within the host's budget (far more, or far more
    /// complex, output than the problem calls for).
    #[error("the strategy's layouts could not be validated within the host's time budget")]
    ValidationBudget,
}

fn summarize(violations: &[Violation]) -> String {
    let mut parts: Vec<String> = violations.iter().take(5).map(ToString::to_string).collect();
    if violations.len() > 5 {
        parts.push(format!("and {} more", violations.len() - 5));
    }
    parts.join("; ")
}
