//! Entmoot plugin host: finds strategy plugins (`discover_plugins`), checks their ABI handshake,
//! reloads them when their files change (`reload_plugins`, `watch_plugins`), runs them
//! (`run_strategy`) — by default isolated in an `entmoot-plugin-runner` child process that is
//! stopped on cancellation or time-out — re-validating every layout a plugin returns with the
//! sdk validator, and checks a plugin's conformance (`check_plugin`). The host never trusts a
//! plugin.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod conformance;
pub mod isolate;
pub mod library;
pub mod private_copy;
pub mod protocol;
pub mod registry;
pub mod run;

use std::path::PathBuf;

use entmoot_plugin_sdk::{StrategyError, Violation};

pub use conformance::{
    CheckConfig, CheckStep, ConformanceReport, StepOutcome, check_plugin, check_plugin_with,
};
pub use library::{LoadError, LoadedPlugin};
pub use private_copy::PLUGIN_CACHE_DIR_ENV;
pub use registry::{
    BUILTIN_STRATEGIES, PluginChange, PluginRegistry, PluginWatcher, RefusedPlugin, ReloadReport,
    StrategyInfo, discover_plugins, load_plugin, reload_plugins, watch_plugins,
};
pub use run::{
    Isolation, RunEnding, RunObservation, RunOptions, find_runner, observe_run, run_strategy,
    run_strategy_with,
};

/// Environment variable with extra plugin directories (colon-separated on Unix).
pub const PLUGIN_DIR_ENV: &str = "ENTMOOT_PLUGIN_DIR";

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
}

fn summarize(violations: &[Violation]) -> String {
    let mut parts: Vec<String> = violations.iter().take(5).map(ToString::to_string).collect();
    if violations.len() > 5 {
        parts.push(format!("and {} more", violations.len() - 5));
    }
    parts.join("; ")
}

/// Where plugins are looked for by default: the directory of the current executable (where
/// `cargo build` and the packages put the built-in strategies), then every directory in
/// `ENTMOOT_PLUGIN_DIR`.
pub fn default_plugin_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
    {
        dirs.push(dir);
    }
    if let Some(value) = std::env::var_os(PLUGIN_DIR_ENV) {
        for dir in std::env::split_paths(&value) {
            if !dir.as_os_str().is_empty() && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}
