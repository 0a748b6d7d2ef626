//! The line protocol between the host and the `entmoot-plugin-runner` child process.
//!
//! The host starts `entmoot-plugin-runner --plugin PATH [limits]` with a cleared environment in
//! a fresh empty working directory and its own process group, writes one `RunInput` JSON
//! document to its stdin and closes it. The runner sets up its sandbox (`sandbox`), then
//! answers on stdout with one JSON object per line, each tagged by `event`: one `sandbox` line
//! (the protections in force), any number of `progress` lines, at most one `stray_processes`
//! line, then exactly one `result`, `error`, `protocol_error` or `refused` line.
//!
//! With `--handshake` the runner only loads the plugin and answers `sandbox`, then `manifest`
//! or `refused`: discovery never loads plugin code in the host. With `--probe` it answers
//! only the `sandbox` line (what `plugins check` and the start-up log report). Anything the plugin itself prints goes to the runner's stderr, never into
//! the protocol.
//!
//! Cancellation: the host sends the runner SIGTERM; the runner turns it into the cancel flag
//! the plugin polls through the ABI, so a well-behaved plugin answers `cancelled` (or its best
//! layouts so far) promptly. A runner that has not answered within the host's cancellation
//! grace is killed with SIGKILL.

use entmoot_plugin_sdk::{Layout, Manifest, Progress, StrategyError};

use crate::sandbox::SandboxReport;
use serde::{Deserialize, Serialize};

/// Name of the runner executable.
pub const RUNNER_NAME: &str = "entmoot-plugin-runner";

/// One line the runner writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunnerEvent {
    /// The protections in force, first.
    Sandbox(SandboxReport),
    Progress(Progress),
    /// The handshake succeeded (`--handshake`).
    Manifest {
        manifest: Box<Manifest>,
    },
    /// Processes the plugin started were still running when `run` returned; the runner
    /// killed them.
    StrayProcesses {
        count: usize,
    },
    /// The run succeeded.
    Result {
        layouts: Vec<Layout>,
    },
    /// The strategy returned an error (or panicked; the panic was caught).
    Error {
        error: StrategyError,
    },
    /// The plugin broke the ABI: unknown status, or output that is not the documented JSON.
    ProtocolError {
        message: String,
    },
    /// The library failed the handshake in the child.
    Refused {
        reason: String,
    },
}

/// The `result` line, read without `RunnerEvent`'s tag dispatch: serde reads an internally
/// tagged enum by first buffering the whole object as a generic tree (about 1 KiB per road
/// of a result, 100 MiB for the largest result the caps admit), where this plain struct
/// is read straight into the layouts.
#[derive(Debug, Deserialize)]
struct ResultLine {
    event: String,
    layouts: Vec<Layout>,
}

/// Reads a runner's `result` line (`{"event":"result","layouts":[…]}`) into its layouts.
pub fn parse_result_line(line: &[u8]) -> Result<Vec<Layout>, String> {
    let parsed: ResultLine = serde_json::from_slice(line).map_err(|error| error.to_string())?;
    if parsed.event != "result" {
        return Err(format!("a result line tagged `{}`", parsed.event));
    }
    Ok(parsed.layouts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_one_tagged_object_per_line() {
        let p = RunnerEvent::Progress(Progress {
            fraction: 0.5,
            best_objective: Some(3.0),
            message: "x".into(),
        });
        let line = serde_json::to_string(&p).unwrap();
        assert_eq!(
            line,
            r#"{"event":"progress","fraction":0.5,"best_objective":3.0,"message":"x"}"#
        );
        assert_eq!(serde_json::from_str::<RunnerEvent>(&line).unwrap(), p);
        let e = RunnerEvent::Error {
            error: StrategyError::Cancelled,
        };
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(line, r#"{"event":"error","error":{"kind":"cancelled"}}"#);
        assert_eq!(serde_json::from_str::<RunnerEvent>(&line).unwrap(), e);
        let p = RunnerEvent::ProtocolError {
            message: "bad".into(),
        };
        let line = serde_json::to_string(&p).unwrap();
        assert_eq!(line, r#"{"event":"protocol_error","message":"bad"}"#);
    }

    #[test]
    fn a_result_line_reads_as_the_event_does() {
        let event = RunnerEvent::Result {
            layouts: vec![Layout::default(), Layout::default()],
        };
        let line = serde_json::to_vec(&event).unwrap();
        assert_eq!(
            RunnerEvent::Result {
                layouts: parse_result_line(&line).unwrap()
            },
            event
        );
        assert!(parse_result_line(br#"{"event":"error","layouts":[]}"#).is_err());
    }
}
