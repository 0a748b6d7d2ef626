//! Hostile plugins (tests/test_plugins/hostile.c, one variant per kind of attack, compiled here
//! with the system C compiler) against the host itself: manifests that crash or hang and ELF
//! constructors are refused from the sandboxed runner while this process carries on; runs that
//! fork, daemonise or attack their parent end on time with nothing left running; output bombs
//! cost little; a snooping plugin finds none of the host's secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::*;
use entmoot_plugin_host::sandbox::protections;
use entmoot_plugin_host::{HostError, RunOptions, StrategyInfo, observe_run, probe_sandbox};
use entmoot_plugin_sdk::validate::Rule;
use entmoot_plugin_sdk::{RunRequest, StrategyError};
use serde_json::json;

/// Compiles the `kind` variant of hostile.c (`HOSTILE_<KIND>`) once per test binary.
fn hostile(kind: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
    let out = dir.join(format!("libhostile_{kind}.so"));
    if out.exists() {
        return out;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/test_plugins/hostile.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let partial = dir.join(format!("{kind}.partial.so"));
    let output = Command::new(&cc)
        .args([
            "-std=gnu99",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-shared",
            "-fPIC",
        ])
        .arg(format!("-DHOSTILE_{}", kind.to_uppercase()))
        .arg(format!(
            "-DHOSTILE_NAME=\"hostile-{}\"",
            kind.replace('_', "-")
        ))
        .arg("-I")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/include"))
        .arg("-o")
        .arg(&partial)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` (set CC): {e}"));
    assert!(
        output.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &out).unwrap();
    out
}

/// Processes whose command line mentions `needle` (the runner is started with the plugin's
/// private copy as an argument, and its forks keep that command line).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

fn observe(
    info: &StrategyInfo,
    options: &RunOptions,
    request: &RunRequest,
) -> entmoot_plugin_host::RunObservation {
    observe_run(
        options,
        info,
        &demo_problem(),
        request,
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

#[test]
fn hostile_manifests_and_constructors_are_refused_and_this_process_carries_on() {
    let dir = plugin_dir(&[
        (greedy_library(), "libentmoot_strategy_greedy.so"),
        (&hostile("manifest_segfault"), "libsegfault.so"),
        (&hostile("manifest_loop"), "libloop.so"),
        (&hostile("constructor"), "libconstructor.so"),
        (&hostile("squat"), "libsquat.so"),
    ]);
    let mut run = child_options();
    run.handshake_timeout_ms = 2_000;
    let started = Instant::now();
    let registry =
        entmoot_plugin_host::discover_plugins(settings(&[dir.path().to_path_buf()], run));
    // The endless manifest costs its timeout, no more.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let names: Vec<String> = registry.strategies().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["greedy"]);
    assert_eq!(
        registry.find(None).unwrap().version,
        env!("CARGO_PKG_VERSION")
    );
    let refused = registry.refused();
    let reason = |file: &str| {
        refused
            .iter()
            .find(|r| r.path.file_name().unwrap() == file)
            .unwrap_or_else(|| panic!("{file} not refused: {refused:?}"))
            .reason
            .clone()
    };
    assert!(
        reason("libsegfault.so")
            .contains("the handshake crashed the runner (killed by signal 11 (SIGSEGV"),
        "{refused:?}"
    );
    assert!(
        reason("libloop.so").starts_with("the handshake did not finish within 2000 ms"),
        "{refused:?}"
    );
    assert!(
        reason("libconstructor.so").contains("killed by signal 9 (SIGKILL)"),
        "{refused:?}"
    );
    assert!(
        reason("libsquat.so").starts_with("the strategy name `greedy` is reserved"),
        "{refused:?}"
    );
    // Nothing of theirs is left running.
    assert_eq!(processes_mentioning("libloop.so"), Vec::<String>::new());
}

#[test]
fn runs_that_fork_daemonise_or_attack_their_parent_end_on_time_with_nothing_left() {
    for kind in ["fork_pipes", "daemon", "kill_parent"] {
        let info = load(&hostile(kind)).unwrap();
        let started = Instant::now();
        let observation = observe(&info, &child_options(), &RunRequest::default());
        let elapsed = started.elapsed();
        // The children sleep 60 s: the host does not wait for them, nor for the pipes they hold.
        assert!(elapsed < Duration::from_secs(5), "{kind}: {elapsed:?}");
        let layouts = observation.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(layouts.len(), 1, "{kind}");
        if kind != "kill_parent" {
            assert!(
                observation.stray_processes >= 1,
                "{kind}: {} strays",
                observation.stray_processes
            );
        }
        let copy = info.loaded_path().display().to_string();
        assert_eq!(processes_mentioning(&copy), Vec::<String>::new(), "{kind}");
    }
    // This process survived the attempt to kill it, and the next run works.
    let greedy = load(greedy_library()).unwrap();
    let observation = observe(&greedy, &child_options(), &RunRequest::default());
    assert_eq!(observation.result.unwrap()[0].assets.len(), 3);
}

#[test]
fn output_bombs_cost_the_host_little() {
    let started = Instant::now();
    let huge_error = load(&hostile("huge_error")).unwrap();
    let err = run_strategy(&huge_error).unwrap_err();
    let HostError::Strategy(StrategyError::Failed(message)) = &err else {
        panic!("{err:?}");
    };
    assert!(message.len() < 3_000, "{}", message.len());
    assert!(
        message.ends_with("[cut: 67108864 bytes in all]"),
        "{}",
        &message[message.len() - 60..]
    );

    // Thousands of copies of one asset: refused unread by the result cap, or, when they
    // fit under it, as duplicates before anything pairwise.
    let duplicates = load(&hostile("duplicates")).unwrap();
    let err = run_strategy(&duplicates).unwrap_err();
    match &err {
        HostError::InvalidLayout { violations, .. } => {
            assert_eq!(violations.len(), 1, "{err}");
            assert_eq!(violations[0].rule, Rule::DuplicateAsset);
        }
        HostError::OutputTooLarge(reason) => {
            assert!(reason.contains("larger than"), "{err}");
        }
        other => panic!("{other:?}"),
    }

    let roads = load(&hostile("road_bomb")).unwrap();
    let err = run_strategy(&roads).unwrap_err();
    assert!(matches!(err, HostError::OutputTooLarge(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("the plugin's result is larger than the"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

fn run_strategy(info: &StrategyInfo) -> Result<Vec<entmoot_plugin_sdk::Layout>, HostError> {
    entmoot_plugin_host::run_strategy_with(
        &child_options(),
        info,
        &demo_problem(),
        &RunRequest::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

#[test]
fn a_snooping_plugin_finds_no_secret() {
    let sandbox = probe_sandbox(&runner(), &child_options()).unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("server.env");
    std::fs::write(&secret_file, "SECRET_KEY=file-secret-4711").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let info = load(&hostile("snoop")).unwrap();
    let request = RunRequest {
        parameters: json!({
            "secret_file": secret_file.display().to_string(),
            "host_pid": std::process::id().to_string(),
            "port": port.to_string(),
        }),
        ..RunRequest::default()
    };
    let err = run_strategy_with_request(&info, &request).unwrap_err();
    let HostError::Strategy(StrategyError::Failed(report)) = &err else {
        panic!("{err:?}");
    };
    let context = format!("{report}\nsandbox: {sandbox}");
    // The environment is cleared: only RUST_BACKTRACE is passed.
    assert!(
        report.contains("env.SECRET_KEY=absent; env.count=1;"),
        "{context}"
    );
    assert!(!report.contains("file-secret-4711"), "{context}");
    assert!(report.contains("secret_file=denied("), "{context}");
    assert!(report.contains("host_environ=denied("), "{context}");
    assert!(report.contains("dotenv=denied("), "{context}");
    assert!(!report.contains("connect=connected"), "{context}");
    for protection in [
        protections::NETWORK_NAMESPACE,
        protections::LANDLOCK_FILES,
        protections::PID_NAMESPACE,
    ] {
        assert!(sandbox.has(protection), "{context}");
    }
}

fn run_strategy_with_request(
    info: &StrategyInfo,
    request: &RunRequest,
) -> Result<Vec<entmoot_plugin_sdk::Layout>, HostError> {
    entmoot_plugin_host::run_strategy_with(
        &child_options(),
        info,
        &demo_problem(),
        request,
        &mut |_| {},
        &AtomicBool::new(false),
    )
}
