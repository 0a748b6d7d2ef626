//! The `Strategy` trait a plugin implements, its manifest, the run request and the run context
//! through which a strategy reports progress and notices cancellation or its time limit.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::problem::Problem;

/// What a strategy can do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Uses rotations other than 0°.
    pub rotations: bool,
    /// Can return several distinct alternatives.
    pub alternatives: bool,
    /// Uses terrain (slope, earthwork) when the problem has it.
    pub terrain_aware: bool,
    /// Same problem, request and seed give the same layouts.
    pub deterministic: bool,
}

/// Who a strategy is and what it accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Registry name: lowercase ASCII letters, digits, `-` and `_`.
    pub name: String,
    /// Semantic version of the strategy.
    pub version: String,
    /// The plugin ABI the strategy was built for (`abi::ABI_VERSION`).
    pub abi_version: u32,
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    /// SPDX licence expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    pub capabilities: Capabilities,
    /// JSON Schema of `RunRequest::parameters`.
    pub parameters: serde_json::Value,
}

/// A manifest whose version, licence and authors come from the calling crate's
/// `Cargo.toml` (`CARGO_PKG_VERSION`, `CARGO_PKG_LICENSE`, `CARGO_PKG_AUTHORS`), whose ABI
/// version is the sdk's, and whose parameter schema is generated from the parameter type
/// (`parameters::parameter_schema`). What is left to say is what only the strategy knows.
///
/// ```
/// use entmoot_plugin_sdk::parameters::JsonSchema;
/// use entmoot_plugin_sdk::strategy::Capabilities;
///
/// #[derive(Debug, Default, serde::Deserialize, JsonSchema)]
/// #[serde(deny_unknown_fields, default)]
/// struct Parameters {
///     /// Grid step, metres.
///     step_m: f64,
/// }
///
/// let manifest = entmoot_plugin_sdk::package_manifest! {
///     name: "my-strategy",
///     description: "Places everything on a grid.",
///     capabilities: Capabilities { deterministic: true, ..Capabilities::default() },
///     parameters: Parameters,
/// };
/// assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
/// assert_eq!(manifest.abi_version, entmoot_plugin_sdk::abi::ABI_VERSION);
/// assert!(manifest.validate().is_ok());
/// assert_eq!(manifest.parameters["properties"]["step_m"]["type"], "number");
/// ```
#[macro_export]
macro_rules! package_manifest {
    (
        name: $name:expr,
        description: $description:expr,
        capabilities: $capabilities:expr,
        parameters: $parameters:ty $(,)?
    ) => {
        $crate::strategy::Manifest {
            name: ::std::string::ToString::to_string($name),
            version: ::std::string::ToString::to_string(env!("CARGO_PKG_VERSION")),
            abi_version: $crate::abi::ABI_VERSION,
            description: ::std::string::ToString::to_string($description),
            authors: $crate::strategy::cargo_authors(env!("CARGO_PKG_AUTHORS")),
            license: $crate::strategy::cargo_license(env!("CARGO_PKG_LICENSE")),
            capabilities: $capabilities,
            parameters: $crate::parameters::parameter_schema::<$parameters>(),
        }
    };
}

/// `CARGO_PKG_AUTHORS` (colon-separated, possibly empty) as a list.
pub fn cargo_authors(authors: &str) -> Vec<String> {
    authors
        .split(':')
        .map(str::trim)
        .filter(|author| !author.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `CARGO_PKG_LICENSE`, or none when the package states none.
pub fn cargo_license(license: &str) -> Option<String> {
    Some(license.trim())
        .filter(|license| !license.is_empty())
        .map(str::to_owned)
}

impl Manifest {
    /// Checks the fields the host relies on; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(format!(
                "manifest.name: must be 1-64 characters of a-z, 0-9, '-' or '_', got {:?}",
                self.name
            ));
        }
        if self.version.trim().is_empty() || self.version.len() > 64 {
            return Err(format!(
                "manifest.version: must be a non-empty version string, got {:?}",
                self.version
            ));
        }
        if !self.parameters.is_object() {
            return Err(format!(
                "manifest.parameters: must be a JSON Schema object, got {}",
                self.parameters
            ));
        }
        Ok(())
    }
}

fn default_parameters() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn default_alternatives() -> u32 {
    1
}

/// What the caller asks of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Strategy parameters, matching the manifest's schema.
    #[serde(default = "default_parameters")]
    pub parameters: serde_json::Value,
    #[serde(default)]
    pub seed: u64,
    /// Wall-clock budget; the strategy returns its best so far when it runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_ms: Option<u64>,
    /// How many distinct layouts are wanted (at least one is returned when any is found).
    #[serde(default = "default_alternatives")]
    pub alternatives: u32,
}

impl Default for RunRequest {
    fn default() -> Self {
        RunRequest {
            parameters: default_parameters(),
            seed: 0,
            time_limit_ms: None,
            alternatives: 1,
        }
    }
}

/// A progress report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Fraction done, 0..=1.
    pub fraction: f64,
    /// Best objective value so far (strategy-defined, higher is better), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_objective: Option<f64>,
    #[serde(default)]
    pub message: String,
}

/// Why a run produced no layouts.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum StrategyError {
    /// The request could not be read (not JSON, wrong shape).
    #[error("bad run request: {0}")]
    BadRequest(String),
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    /// The problem is one this strategy cannot work on.
    #[error("invalid problem: {0}")]
    InvalidProblem(String),
    #[error("cancelled")]
    Cancelled,
    #[error("strategy failed: {0}")]
    Failed(String),
    /// The strategy panicked; the panic was caught at the ABI boundary.
    #[error("strategy panicked: {0}")]
    Panicked(String),
}

/// How a running strategy talks to its caller.
pub struct RunContext<'a> {
    progress: Box<dyn FnMut(&Progress) + 'a>,
    cancelled: Box<dyn Fn() -> bool + 'a>,
    started: Instant,
    deadline: Option<Instant>,
}

impl std::fmt::Debug for RunContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("started", &self.started)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<'a> RunContext<'a> {
    /// A context forwarding progress to `progress` and asking `cancelled` for cancellation.
    pub fn new(progress: impl FnMut(&Progress) + 'a, cancelled: impl Fn() -> bool + 'a) -> Self {
        RunContext {
            progress: Box::new(progress),
            cancelled: Box::new(cancelled),
            started: Instant::now(),
            deadline: None,
        }
    }

    /// A context that discards progress and is never cancelled.
    pub fn detached() -> RunContext<'static> {
        RunContext::new(|_| {}, || false)
    }

    /// Sets the wall-clock budget, counted from now.
    pub fn with_time_limit(mut self, time_limit_ms: Option<u64>) -> Self {
        self.deadline = time_limit_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
        self
    }

    /// Reports progress; `fraction` is clamped to 0..=1.
    pub fn report(
        &mut self,
        fraction: f64,
        best_objective: Option<f64>,
        message: impl Into<String>,
    ) {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        (self.progress)(&Progress {
            fraction,
            best_objective,
            message: message.into(),
        });
    }

    /// Whether the caller asked to stop.
    pub fn is_cancelled(&self) -> bool {
        (self.cancelled)()
    }

    /// Whether the time limit has passed.
    pub fn is_out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Cancelled or out of time: wrap up and return the best found so far.
    pub fn should_stop(&self) -> bool {
        self.is_out_of_time() || self.is_cancelled()
    }

    /// `Err(Cancelled)` when the caller asked to stop.
    pub fn check_cancelled(&self) -> Result<(), StrategyError> {
        if self.is_cancelled() {
            Err(StrategyError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A layout optimizer. Implement it, then `export_strategy!(YourType)` in a `cdylib`.
pub trait Strategy {
    /// Name, version, capabilities and parameter schema.
    fn manifest(&self) -> Manifest;

    /// Solves `problem`, returning up to `request.alternatives` layouts, best first. Layouts
    /// must pass `validate::validate_layout`; the host rejects the run otherwise.
    fn run(
        &self,
        problem: &Problem,
        request: &RunRequest,
        ctx: &mut RunContext<'_>,
    ) -> Result<Vec<Layout>, StrategyError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    #[test]
    fn context_reports_and_cancels() {
        let seen = RefCell::new(Vec::new());
        let cancel = Cell::new(false);
        let mut ctx = RunContext::new(|p| seen.borrow_mut().push(p.clone()), || cancel.get());
        ctx.report(1.5, Some(2.0), "half");
        assert!(!ctx.should_stop());
        cancel.set(true);
        assert_eq!(ctx.check_cancelled(), Err(StrategyError::Cancelled));
        drop(ctx);
        assert_eq!(seen.borrow()[0].fraction, 1.0);
        assert_eq!(seen.borrow()[0].message, "half");
        let ctx = RunContext::detached().with_time_limit(Some(0));
        assert!(ctx.is_out_of_time());
    }

    #[test]
    fn errors_serialise_with_kind_and_message() {
        let e = StrategyError::InvalidParameters("parameters.x: must be > 0".into());
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"invalid_parameters","message":"parameters.x: must be > 0"}"#
        );
        assert_eq!(serde_json::from_str::<StrategyError>(&json).unwrap(), e);
        let c = serde_json::to_string(&StrategyError::Cancelled).unwrap();
        assert_eq!(c, r#"{"kind":"cancelled"}"#);
    }

    #[test]
    fn request_defaults() {
        let r: RunRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(r, RunRequest::default());
        assert!(serde_json::from_str::<RunRequest>(r#"{"sead":1}"#).is_err());
    }

    #[test]
    fn manifest_validation() {
        let mut m = Manifest {
            name: "greedy".into(),
            version: "0.1.0".into(),
            abi_version: 1,
            description: String::new(),
            authors: vec![],
            license: None,
            capabilities: Capabilities::default(),
            parameters: serde_json::json!({"type": "object"}),
        };
        assert!(m.validate().is_ok());
        m.name = "Greedy Solver".into();
        assert!(m.validate().unwrap_err().starts_with("manifest.name"));
    }
}
