//! Host integration tests against real libraries: the built greedy cdylib (built on demand
//! with `cargo build -p entmoot-strategy-greedy`) and small raw-ABI plugins compiled with rustc
//! from `tests/test_plugins/raw_plugin.rs` in broken variants (wrong ABI, missing symbol, an
//! invalid layout, a crash, an endless loop).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use entmoot_plugin_host::{
    HostError, Isolation, RunOptions, check_plugin, discover_plugins, load_plugin,
    run_strategy_with,
};
use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::validate::Rule;
use entmoot_plugin_sdk::{Problem, Progress, RunRequest, validate_layout};

const LIB_PREFIX: &str = std::env::consts::DLL_PREFIX;
const LIB_SUFFIX: &str = std::env::consts::DLL_SUFFIX;

/// target/<profile>: the test executable lives in target/<profile>/deps.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the greedy cdylib once per test run and returns its path.
fn greedy_library() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = profile_dir();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "entmoot-strategy-greedy",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(dir.parent().unwrap());
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for the greedy plugin");
        assert!(
            status.success(),
            "cargo build -p entmoot-strategy-greedy failed"
        );
        let path = dir.join(format!("{LIB_PREFIX}entmoot_strategy_greedy{LIB_SUFFIX}"));
        assert!(path.is_file(), "{} was not built", path.display());
        path
    })
}

/// Compiles the raw test plugin in `variant` once and returns its path.
fn raw_plugin(variant: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static COMPILING: Mutex<()> = Mutex::new(());
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
    // Tests run in parallel; compile each variant once.
    let _guard = COMPILING.lock().unwrap_or_else(|e| e.into_inner());
    let out = dir.join(format!("{LIB_PREFIX}{variant}{LIB_SUFFIX}"));
    if !out.exists() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/test_plugins/raw_plugin.rs");
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let tmp = dir.join(format!("{variant}.partial{LIB_SUFFIX}"));
        let output = Command::new(rustc)
            .args([
                "--edition",
                "2024",
                "--crate-type",
                "cdylib",
                "-C",
                "opt-level=1",
            ])
            .arg("--crate-name")
            .arg(format!("raw_{variant}"))
            .arg("--cfg")
            .arg(format!("variant=\"{variant}\""))
            .arg("-o")
            .arg(&tmp)
            .arg(&src)
            .output()
            .expect("run rustc");
        assert!(
            output.status.success(),
            "rustc failed for {variant}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// A fresh directory holding copies of `libs` under the given file names.
fn plugin_dir(libs: &[(&Path, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (lib, name) in libs {
        std::fs::copy(lib, dir.path().join(name)).unwrap();
    }
    dir
}

fn demo_problem() -> Problem {
    prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap()
}

fn child_options() -> RunOptions {
    RunOptions {
        isolation: Isolation::ChildProcess {
            runner: PathBuf::from(env!("CARGO_BIN_EXE_entmoot-plugin-runner")),
        },
        ..RunOptions::default()
    }
}

fn in_process_options() -> RunOptions {
    RunOptions {
        isolation: Isolation::InProcess,
        ..RunOptions::default()
    }
}

#[test]
fn discovers_the_greedy_plugin_and_makes_it_the_default() {
    let dir = plugin_dir(&[(greedy_library(), "libentmoot_strategy_greedy.so")]);
    let registry = discover_plugins(&[dir.path().to_path_buf()]);
    assert_eq!(registry.refused(), vec![]);
    let strategies = registry.strategies();
    assert_eq!(strategies.len(), 1);
    let greedy = &strategies[0];
    assert_eq!(greedy.name, "greedy");
    assert_eq!(greedy.version, env!("CARGO_PKG_VERSION"));
    assert!(greedy.builtin);
    assert!(greedy.manifest.capabilities.deterministic);
    assert_eq!(greedy.manifest.parameters["type"], "object");
    assert_eq!(registry.find(None).unwrap().name, "greedy");
    assert_eq!(registry.find(Some("greedy")).unwrap().path, greedy.path);
    let versioned = format!("greedy@{}", greedy.version);
    assert!(registry.find(Some(&versioned)).is_some());
    assert!(registry.find(Some("greedy@9.9.9")).is_none());
    assert!(registry.find(Some("genetic")).is_none());
}

fn run_demo(options: &RunOptions) -> (Vec<entmoot_plugin_sdk::Layout>, Vec<Progress>) {
    let info = load_plugin(greedy_library()).unwrap();
    let problem = demo_problem();
    let request = RunRequest {
        alternatives: 3,
        ..RunRequest::default()
    };
    let mut progress = Vec::new();
    let layouts = run_strategy_with(
        options,
        &info,
        &problem,
        &request,
        &mut |p| progress.push(p),
        &AtomicBool::new(false),
    )
    .unwrap();
    for l in &layouts {
        assert_eq!(l.assets.len(), 3);
        assert_eq!(validate_layout(&problem, l), vec![]);
    }
    (layouts, progress)
}

#[test]
fn runs_greedy_in_a_child_process() {
    let (layouts, progress) = run_demo(&child_options());
    assert_eq!(layouts.len(), 3);
    assert_eq!(progress.len(), 8, "one report per packing variant");
    assert_eq!(progress.last().unwrap().fraction, 1.0);
}

#[test]
fn runs_greedy_in_process_with_the_same_result() {
    let (in_process, progress) = run_demo(&in_process_options());
    assert_eq!(progress.len(), 8);
    let (child, _) = run_demo(&child_options());
    assert_eq!(in_process, child, "same layouts whichever way it runs");
}

#[test]
fn refuses_wrong_abi_missing_symbol_junk_and_duplicates() {
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"this is not a shared library").unwrap();
    let dir = plugin_dir(&[
        (greedy_library(), "libgreedy_a.so"),
        (greedy_library(), "libgreedy_b.so"),
        (&raw_plugin("wrong_abi"), "libwrong_abi.so"),
        (&raw_plugin("no_symbol"), "libno_symbol.so"),
        (junk.path(), "libjunk.so"),
        (junk.path(), "README.txt"),
    ]);
    let registry = discover_plugins(&[dir.path().to_path_buf()]);
    let names: Vec<String> = registry.strategies().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["greedy"]);
    let refused = registry.refused();
    let reason = |file: &str| {
        refused
            .iter()
            .find(|r| r.path.file_name().unwrap() == file)
            .unwrap_or_else(|| panic!("{file} not refused: {refused:?}"))
            .reason
            .clone()
    };
    assert_eq!(refused.len(), 4, "{refused:#?}");
    assert!(
        reason("libgreedy_b.so").contains("duplicate strategy greedy"),
        "{refused:?}"
    );
    assert!(reason("libgreedy_b.so").contains("libgreedy_a.so"));
    assert_eq!(
        reason("libwrong_abi.so"),
        "ABI version 99 is not supported (this host speaks version 1)"
    );
    assert!(reason("libno_symbol.so").starts_with("no entry symbol `entmoot_strategy_entry_v1`"));
    assert!(reason("libjunk.so").starts_with("cannot load the library"));
}

#[test]
fn a_plugin_that_lies_is_caught_by_revalidation() {
    let info = load_plugin(&raw_plugin("liar")).unwrap();
    assert_eq!(info.name, "liar");
    assert!(!info.builtin);
    for options in [child_options(), in_process_options()] {
        let mut progress = Vec::new();
        let err = run_strategy_with(
            &options,
            &info,
            &demo_problem(),
            &RunRequest::default(),
            &mut |p| progress.push(p),
            &AtomicBool::new(false),
        )
        .unwrap_err();
        let HostError::InvalidLayout {
            alternative,
            violations,
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(*alternative, 0);
        let rules: Vec<Rule> = violations.iter().map(|v| v.rule).collect();
        assert!(rules.contains(&Rule::DuplicateAsset), "{rules:?}");
        assert!(rules.contains(&Rule::OutsideBuildable), "{rules:?}");
        assert!(rules.contains(&Rule::Overlap), "{rules:?}");
        assert!(
            err.to_string()
                .contains("duplicate_asset: assets[1]: building-1 is placed more than once"),
            "{err}"
        );
        assert_eq!(progress[0].message, "raw plugin at work");
    }
}

#[test]
fn a_crashing_plugin_only_takes_down_its_child() {
    let info = load_plugin(&raw_plugin("abort")).unwrap();
    let err = run_strategy_with(
        &child_options(),
        &info,
        &demo_problem(),
        &RunRequest::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    let HostError::Crashed { status, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(status.contains("SIGABRT"), "{err}");
}

#[test]
fn a_stuck_plugin_is_killed_on_cancel() {
    let info = load_plugin(&raw_plugin("spin")).unwrap();
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let err = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            cancel.store(true, Ordering::Relaxed);
        });
        run_strategy_with(
            &child_options(),
            &info,
            &demo_problem(),
            &RunRequest::default(),
            &mut |_| {},
            &cancel,
        )
        .unwrap_err()
    });
    assert_eq!(err, HostError::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_stuck_plugin_is_killed_at_its_time_limit() {
    let info = load_plugin(&raw_plugin("spin")).unwrap();
    let options = RunOptions {
        grace_ms: 100,
        ..child_options()
    };
    let request = RunRequest {
        time_limit_ms: Some(200),
        ..RunRequest::default()
    };
    let started = Instant::now();
    let err = run_strategy_with(
        &options,
        &info,
        &demo_problem(),
        &request,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert_eq!(
        err,
        HostError::TimedOut {
            limit_ms: 200,
            grace_ms: 100
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Compiles `tests/test_plugins/c_plugin.c` against the public C header.
fn c_plugin() -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let out = dir.join(format!("{LIB_PREFIX}c_example{LIB_SUFFIX}"));
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args([
            "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
        ])
        .arg(&out)
        .arg("-I")
        .arg(here.join("../sdk/include"))
        .arg(here.join("tests/test_plugins/c_plugin.c"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` (set CC): {e}"));
    assert!(
        output.status.success(),
        "C plugin failed to compile: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn a_plugin_written_in_c_against_the_header_works() {
    let lib = c_plugin();
    let info = load_plugin(&lib).unwrap();
    assert_eq!(info.name, "c-example");
    assert_eq!(info.manifest.authors, vec!["test"]);
    for options in [child_options(), in_process_options()] {
        let mut progress = Vec::new();
        let layouts = run_strategy_with(
            &options,
            &info,
            &demo_problem(),
            &RunRequest::default(),
            &mut |p| progress.push(p),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(layouts, vec![entmoot_plugin_sdk::Layout::default()]);
        assert_eq!(progress[0].message, "hello from C");
    }
    // In-process, the cancel flag reaches the plugin through the callback.
    let err = run_strategy_with(
        &in_process_options(),
        &info,
        &demo_problem(),
        &RunRequest::default(),
        &mut |_| {},
        &AtomicBool::new(true),
    )
    .unwrap_err();
    assert_eq!(err, HostError::Cancelled);
    let _ = std::fs::remove_dir_all(lib.parent().unwrap());
}

#[test]
fn conformance_check() {
    let good = check_plugin(greedy_library(), &child_options());
    assert!(good.passed(), "{good:#?}");
    assert_eq!(good.steps.len(), 3, "handshake, run, determinism");
    assert!(
        good.steps[1].detail.contains("best places 3 of 3"),
        "{good:#?}"
    );

    let liar = check_plugin(&raw_plugin("liar"), &child_options());
    assert!(!liar.passed());
    assert!(liar.steps[1].detail.contains("invalid layout"), "{liar:#?}");

    let wrong = check_plugin(&raw_plugin("wrong_abi"), &child_options());
    assert!(!wrong.passed());
    assert_eq!(wrong.steps.len(), 1);
    assert!(
        wrong.steps[0].detail.contains("ABI version 99"),
        "{wrong:#?}"
    );
    assert_eq!(wrong.strategy, None);
}

#[test]
fn default_plugin_dirs_include_the_executable_dir_and_the_env() {
    let dirs = entmoot_plugin_host::default_plugin_dirs();
    let exe_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    assert_eq!(dirs[0], exe_dir);
}
