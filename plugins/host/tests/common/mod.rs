//! Shared helpers of the host's integration tests: builds the real plugin libraries once per
//! test binary (the greedy strategy, the Rust and C examples, the sdk-based misbehaving
//! fixture, raw-ABI variants compiled with rustc) and the usual problems and run options.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use std::sync::Arc;

use entmoot_plugin_host::{
    HostSettings, PluginRegistry, RunOptions, StrategyInfo, discover_plugins, load_plugin,
};
use entmoot_plugin_sdk::Problem;
use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::prepare::prepare_problem;

pub const LIB_PREFIX: &str = std::env::consts::DLL_PREFIX;
pub const LIB_SUFFIX: &str = std::env::consts::DLL_SUFFIX;

/// target/<profile>: the test executable lives in target/<profile>/deps.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `cargo build` for `args` in this workspace, into this test's target directory.
fn cargo_build(args: &[&str]) {
    let dir = profile_dir();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--manifest-path"])
        .arg(repository_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.parent().unwrap())
        .args(args);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build {args:?} failed");
}

fn built(path: PathBuf) -> PathBuf {
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The greedy cdylib, built once per test binary.
pub fn greedy_library() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        cargo_build(&["-p", "entmoot-strategy-greedy"]);
        built(profile_dir().join(format!("{LIB_PREFIX}entmoot_strategy_greedy{LIB_SUFFIX}")))
    })
}

/// The Rust example plugin (plugins/examples/rust), built once per test binary.
pub fn rust_example_library() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        cargo_build(&["-p", "example-rust"]);
        built(profile_dir().join(format!("{LIB_PREFIX}example_rust{LIB_SUFFIX}")))
    })
}

/// The sdk-based misbehaving fixture (tests/test_plugins/misbehaving.rs).
pub fn misbehaving_library() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        cargo_build(&[
            "-p",
            "entmoot-plugin-host",
            "--example",
            "misbehaving_plugin",
        ]);
        built(
            profile_dir()
                .join("examples")
                .join(format!("{LIB_PREFIX}misbehaving_plugin{LIB_SUFFIX}")),
        )
    })
}

fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Compiles the raw test plugin in `variant` once and returns its path.
pub fn raw_plugin(variant: &str) -> PathBuf {
    static COMPILING: Mutex<()> = Mutex::new(());
    let dir = scratch_dir();
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

/// Compiles a C plugin with the C compiler (`$CC`, default `cc`) against the public header.
pub fn compile_c(source: &Path, name: &str) -> PathBuf {
    static COMPILING: Mutex<()> = Mutex::new(());
    let _guard = COMPILING.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch_dir().join(format!("{LIB_PREFIX}{name}{LIB_SUFFIX}"));
    if out.exists() {
        return out;
    }
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/include");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args([
            "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
        ])
        .arg(&out)
        .arg("-I")
        .arg(&include)
        .arg(source)
        .arg("-lm")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` (set CC): {e}"));
    assert!(
        output.status.success(),
        "{} failed to compile: {}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// The C example plugin (plugins/examples/c/grid.c).
pub fn c_example_library() -> PathBuf {
    compile_c(
        &repository_root().join("plugins/examples/c/grid.c"),
        "example_c_grid",
    )
}

/// A fresh directory holding copies of `libs` under the given file names.
pub fn plugin_dir(libs: &[(&Path, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (lib, name) in libs {
        std::fs::copy(lib, dir.path().join(name)).unwrap();
    }
    dir
}

pub fn demo_problem() -> Problem {
    prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap()
}

pub fn runner() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_entmoot-plugin-runner"))
}

pub fn child_options() -> RunOptions {
    RunOptions::child_process(runner(), std::env::temp_dir())
}

pub fn in_process_options() -> RunOptions {
    RunOptions::in_process(std::env::temp_dir())
}

/// Host settings over `dirs`, whose `libentmoot_strategy_*` files count as built-in.
pub fn settings(dirs: &[PathBuf], run: RunOptions) -> HostSettings {
    HostSettings::new(dirs.to_vec(), dirs.to_vec(), std::env::temp_dir(), run)
}

/// Discovery over `dirs` with handshakes in the sandboxed runner.
pub fn discover(dirs: &[PathBuf]) -> PluginRegistry {
    discover_plugins(settings(dirs, child_options()))
}

/// One file's handshake in the sandboxed runner.
pub fn load(path: &Path) -> Result<StrategyInfo, String> {
    load_plugin(path, &Arc::new(settings(&[], child_options())))
}
