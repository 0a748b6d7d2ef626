//! Deliberately broken plugins: each fails its run with a precise `HostError` while other runs
//! in the same process, before, during and after, still succeed. The broken behaviours come
//! from the sdk-based `misbehaving_plugin` fixture (panic, segfault, abort, endless loop,
//! memory hog, invalid layout, stdout noise) and from raw-ABI variants (a panic escaping the C
//! ABI, garbage output, an unknown status, no output, a wrong ABI version). The runner's CPU
//! limit is checked on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use entmoot_plugin_host::{
    HostError, LoadError, RunEnding, RunOptions, StrategyInfo, observe_run, run_strategy_with,
};
use entmoot_plugin_sdk::validate::Rule;
use entmoot_plugin_sdk::{Layout, RunRequest, StrategyError};
use serde_json::json;

fn misbehaving() -> StrategyInfo {
    load(misbehaving_library()).unwrap()
}

fn mode(mode: &str) -> RunRequest {
    RunRequest {
        parameters: json!({ "mode": mode }),
        ..RunRequest::default()
    }
}

fn run(
    info: &StrategyInfo,
    options: &RunOptions,
    request: &RunRequest,
) -> Result<Vec<Layout>, HostError> {
    run_strategy_with(
        options,
        info,
        &demo_problem(),
        request,
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

/// What a broken run must end with.
enum Expect {
    /// This exact error.
    Exactly(HostError),
    /// A crash whose status contains all of these, and whose stderr tail contains the other.
    Crash(&'static [&'static str], &'static str),
    /// A protocol error starting with this.
    Protocol(&'static str),
    /// An invalid layout breaking this rule, with this text in the message.
    Invalid(Rule, &'static str),
}

fn check(name: &str, result: Result<Vec<Layout>, HostError>, expect: &Expect) {
    let err = match result {
        Ok(layouts) => panic!("{name}: expected a failure, got {layouts:?}"),
        Err(e) => e,
    };
    match (expect, &err) {
        (Expect::Exactly(wanted), _) => assert_eq!(&err, wanted, "{name}"),
        (Expect::Crash(status_has, stderr_has), HostError::Crashed { status, stderr }) => {
            for part in *status_has {
                assert!(status.contains(part), "{name}: {err}");
            }
            assert!(stderr.contains(stderr_has), "{name}: {err}");
        }
        (Expect::Protocol(start), HostError::Protocol(message)) => {
            assert!(message.starts_with(start), "{name}: {err}");
        }
        (Expect::Invalid(rule, text), HostError::InvalidLayout { violations, .. }) => {
            assert!(violations.iter().any(|v| v.rule == *rule), "{name}: {err}");
            assert!(err.to_string().contains(text), "{name}: {err}");
        }
        _ => panic!("{name}: unexpected error {err:?} ({err})"),
    }
}

#[test]
fn every_broken_plugin_fails_precisely_while_other_runs_succeed() {
    let bad = misbehaving();
    let greedy = load(greedy_library()).unwrap();
    let child = child_options();
    let limited = RunOptions {
        max_memory_mb: Some(512),
        grace_ms: 200,
        ..child_options()
    };
    let quick = RunRequest {
        time_limit_ms: Some(500),
        ..mode("spin")
    };
    let raw = |variant: &str| load(&raw_plugin(variant)).unwrap();
    let cases: Vec<(&str, StrategyInfo, RunOptions, RunRequest, Expect)> = vec![
        (
            "sdk panic",
            bad.clone(),
            child.clone(),
            mode("panic"),
            Expect::Exactly(HostError::Strategy(StrategyError::Panicked(
                "deliberate panic in the misbehaving plugin".into(),
            ))),
        ),
        (
            "segfault",
            bad.clone(),
            child.clone(),
            mode("segfault"),
            Expect::Crash(
                &["killed by signal 11 (SIGSEGV: invalid memory access)"],
                "",
            ),
        ),
        (
            "abort",
            bad.clone(),
            child.clone(),
            mode("abort"),
            Expect::Crash(&["killed by signal 6 (SIGABRT"], ""),
        ),
        (
            "endless loop",
            bad.clone(),
            limited.clone(),
            quick,
            Expect::Exactly(HostError::TimedOut {
                limit_ms: 500,
                grace_ms: 200,
            }),
        ),
        (
            "memory hog",
            bad.clone(),
            limited.clone(),
            mode("hog"),
            Expect::Crash(
                &[
                    "SIGABRT",
                    "out of memory: the plugin exceeded its memory limit of 512 MiB",
                ],
                "memory allocation of 67108864 bytes failed",
            ),
        ),
        (
            "invalid layout",
            bad.clone(),
            child.clone(),
            mode("liar"),
            Expect::Invalid(
                Rule::OutsideBuildable,
                "outside_buildable: assets[0] (building-1) at [0.000, 0.000] is not inside the buildable area",
            ),
        ),
        (
            "panic across the C ABI",
            raw("panic"),
            child.clone(),
            RunRequest::default(),
            Expect::Crash(&["SIGABRT"], "deliberate panic across the C ABI"),
        ),
        (
            "garbage bytes",
            raw("garbage"),
            child.clone(),
            RunRequest::default(),
            Expect::Protocol("the plugin's result is not valid: expected value at line 1 column 1"),
        ),
        (
            "unknown status",
            raw("bad_status"),
            child.clone(),
            RunRequest::default(),
            Expect::Exactly(HostError::Protocol(
                "the plugin returned the unknown status 7".into(),
            )),
        ),
        (
            "no output",
            raw("null_output"),
            child.clone(),
            RunRequest::default(),
            Expect::Protocol("the plugin's result is not valid: EOF while parsing"),
        ),
        (
            "raw invalid layout",
            raw("liar"),
            child.clone(),
            RunRequest::default(),
            Expect::Invalid(
                Rule::DuplicateAsset,
                "duplicate_asset: assets[1]: building-1 is placed more than once",
            ),
        ),
    ];

    let before = run(&greedy, &child, &RunRequest::default()).unwrap();
    std::thread::scope(|s| {
        let broken: Vec<_> = cases
            .iter()
            .map(|(name, info, options, request, expect)| {
                s.spawn(move || check(name, run(info, options, request), expect))
            })
            .collect();
        // Good runs, in a child and in this process, while the broken ones fail.
        let good: Vec<_> = (0..3)
            .map(|k| {
                let greedy = greedy.clone();
                s.spawn(move || {
                    let options = if k == 0 {
                        in_process_options()
                    } else {
                        child_options()
                    };
                    run(&greedy, &options, &RunRequest::default()).unwrap()
                })
            })
            .collect();
        for handle in broken {
            handle.join().unwrap();
        }
        for handle in good {
            assert_eq!(handle.join().unwrap(), before);
        }
    });
    let after = run(&greedy, &child, &RunRequest::default()).unwrap();
    assert_eq!(after, before);
    assert_eq!(after[0].assets.len(), 3);
}

#[test]
fn a_plugin_that_ignores_cancellation_is_killed_after_the_grace() {
    let bad = misbehaving();
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let observation = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            cancel.store(true, Ordering::Relaxed);
        });
        observe_run(
            &RunOptions {
                cancel_grace_ms: 300,
                ..child_options()
            },
            &bad,
            &demo_problem(),
            &mode("spin"),
            &mut |_| {},
            &cancel,
        )
    });
    assert!(matches!(observation.result, Err(HostError::Cancelled)));
    assert_eq!(observation.ending, RunEnding::KilledOnCancel);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The raw `spin` plugin sleeps in a loop without polling: same story, and a grace of 0
    // kills at once.
    let spin = load(&raw_plugin("spin")).unwrap();
    let cancel = AtomicBool::new(true);
    let observation = observe_run(
        &RunOptions {
            cancel_grace_ms: 0,
            ..child_options()
        },
        &spin,
        &demo_problem(),
        &RunRequest::default(),
        &mut |_| {},
        &cancel,
    );
    assert!(matches!(observation.result, Err(HostError::Cancelled)));
    assert_eq!(observation.ending, RunEnding::KilledOnCancel);
}

#[test]
fn the_runner_enforces_its_cpu_limit() {
    // The host sets RLIMIT_CPU from the time limit as a backstop (the wall-clock deadline
    // normally comes first); run the runner by hand with a 1 s budget on a busy loop.
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    let input = entmoot_plugin_sdk::abi::RunInput {
        problem: demo_problem(),
        request: mode("spin"),
    };
    let mut child = std::process::Command::new(runner())
        .arg("--plugin")
        .arg(misbehaving_library())
        .args(["--max-cpu-seconds", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&serde_json::to_vec(&input).unwrap())
        .unwrap();
    drop(stdin);
    let started = Instant::now();
    let status = child.wait().unwrap();
    // SIGXCPU (24 on Linux) at the soft limit, which the host reports as "CPU time limit".
    assert_eq!(status.signal(), Some(24), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn plugin_output_on_stdout_does_not_corrupt_the_protocol() {
    let layouts = run(&misbehaving(), &child_options(), &mode("print")).unwrap();
    assert_eq!(layouts, vec![Layout::default()]);
}

#[test]
fn in_process_failures_that_can_be_contained_are() {
    // In-process only what does not kill the process can be survived; crashes and endless
    // loops are what the child process is for.
    let in_process = in_process_options();
    let bad = misbehaving();
    check(
        "sdk panic",
        run(&bad, &in_process, &mode("panic")),
        &Expect::Exactly(HostError::Strategy(StrategyError::Panicked(
            "deliberate panic in the misbehaving plugin".into(),
        ))),
    );
    check(
        "invalid layout",
        run(&bad, &in_process, &mode("liar")),
        &Expect::Invalid(Rule::OutsideBuildable, "is not inside the buildable area"),
    );
    for (variant, expect) in [
        (
            "garbage",
            Expect::Protocol("the plugin's result is not valid: expected value"),
        ),
        (
            "bad_status",
            Expect::Exactly(HostError::Protocol(
                "the plugin returned the unknown status 7".into(),
            )),
        ),
        (
            "null_output",
            Expect::Protocol("the plugin's result is not valid: EOF while parsing"),
        ),
    ] {
        let info = load(&raw_plugin(variant)).unwrap();
        check(
            variant,
            run(&info, &in_process, &RunRequest::default()),
            &expect,
        );
    }
    let greedy = load(greedy_library()).unwrap();
    assert_eq!(
        run(&greedy, &in_process, &RunRequest::default()).unwrap()[0]
            .assets
            .len(),
        3
    );
}

#[test]
fn a_wrong_abi_version_is_refused_at_load_with_the_versions() {
    // Read in the sandboxed runner: the reason crosses the protocol as text.
    let err = load(&raw_plugin("wrong_abi")).unwrap_err();
    assert_eq!(
        err,
        LoadError::AbiVersion {
            found: 99,
            expected: 1
        }
        .to_string()
    );
    assert_eq!(
        err,
        "ABI version 99 is not supported (this host speaks version 1)"
    );
    let missing = load(Path::new("/nonexistent/libplugin.so")).unwrap_err();
    assert!(
        missing.starts_with("cannot read the file: No such file or directory"),
        "{missing}"
    );
}
