//! `entmoot plugins check PATH` as a plugin author runs it in CI: the built-in strategies
//! (greedy, anneal) and both example plugins (Rust, built by the workspace; C, compiled here with the
//! system C compiler against the public header) pass; a broken plugin fails with a report and
//! a non-zero exit code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use entmoot_tests::{embedded_env, entmoot_binary, repository_root, run_entmoot};
use serde_json::Value;

fn check(dir: &Path, plugin: &Path, json: bool) -> Output {
    let path = plugin.to_str().expect("UTF-8 path");
    let mut args = vec!["plugins", "check", path];
    if json {
        args.push("--json");
    }
    run_entmoot(dir, &embedded_env(dir), &args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A library the workspace build put beside the `entmoot` binary.
fn beside_binary(stem: &str) -> PathBuf {
    let path = entmoot_binary().parent().unwrap().join(format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first",
        path.display()
    );
    path
}

/// Compiles a C plugin with `$CC` (default `cc`) against plugins/sdk/include.
fn compile_c(source: &Path, out_dir: &Path, name: &str) -> PathBuf {
    let out = out_dir.join(format!("lib{name}.so"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args([
            "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
        ])
        .arg("-I")
        .arg(repository_root().join("plugins/sdk/include"))
        .arg("-o")
        .arg(&out)
        .arg(source)
        .arg("-lm")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(output.status.success(), "{}", text(&output.stderr));
    out
}

fn assert_conforms(output: &Output, strategy: &str) {
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("strategy: {strategy} ")),
        "{stdout}"
    );
    assert!(stdout.contains("isolation: child process ("), "{stdout}");
    for step in [
        "PASS  handshake",
        "PASS  manifest",
        "PASS  parameter schema",
        "PASS  run: rural demo",
        "PASS  run: concave parcel",
        "PASS  run: tiny parcel",
        "PASS  reproducible with a seed",
        "PASS  progress monotonic",
        "PASS  cancellation within 1 s",
        "PASS  time limit honoured",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert!(stdout.contains("0 failed"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("the plugin conforms."),
        "{stdout}"
    );
}

#[test]
fn the_builtin_greedy_strategy_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path(), &beside_binary("entmoot_strategy_greedy"), false);
    assert_conforms(&output, "greedy");
}

#[test]
fn the_builtin_anneal_strategy_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path(), &beside_binary("entmoot_strategy_anneal"), false);
    assert_conforms(&output, "anneal");
}

#[test]
fn the_rust_example_plugin_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(dir.path(), &beside_binary("example_rust"), false);
    assert_conforms(&output, "example-rows");
}

#[test]
fn the_c_example_plugin_conforms_and_the_report_is_available_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let lib = compile_c(
        &repository_root().join("plugins/examples/c/grid.c"),
        dir.path(),
        "example_c_grid",
    );
    assert_conforms(&check(dir.path(), &lib, false), "example-c-grid");

    let output = check(dir.path(), &lib, true);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    assert_eq!(report["strategy"], "example-c-grid 0.1.0");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 13, "{report}");
    assert!(steps.iter().all(|s| s["outcome"] == "passed"), "{report}");
}

#[test]
fn a_broken_plugin_fails_the_check_with_a_report_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    // A C plugin that always returns the same building at the origin of the UTM zone.
    let source = dir.path().join("liar.c");
    std::fs::write(
        &source,
        r#"#include <stdlib.h>
#include <string.h>
#include "entmoot_strategy.h"
static EntmootBuffer text(const char *s) {
    EntmootBuffer b = {NULL, 0};
    b.len = strlen(s);
    b.ptr = (uint8_t *)malloc(b.len);
    if (b.ptr != NULL) memcpy(b.ptr, s, b.len); else b.len = 0;
    return b;
}
static EntmootBuffer manifest(void) {
    return text("{\"name\":\"liar\",\"version\":\"1.0.0\",\"abi_version\":1,\"description\":\"lies\","
                "\"capabilities\":{\"rotations\":false,\"alternatives\":false,"
                "\"terrain_aware\":false,\"deterministic\":true},\"parameters\":{\"type\":\"object\"}}");
}
static int32_t run(const uint8_t *r, size_t n, EntmootProgressFn p, EntmootCancelFn c, void *u,
                   EntmootBuffer *out) {
    (void)r; (void)n; (void)p; (void)c; (void)u;
    *out = text("{\"layouts\":[{\"assets\":[{\"asset_id\":\"building-1\",\"name\":\"Building\","
                "\"asset_type\":\"building\",\"center\":[0,0],\"width_m\":18.288,"
                "\"length_m\":24.384,\"rotation_deg\":0}],\"roads\":[]}]}");
    return ENTMOOT_STATUS_OK;
}
static void release(EntmootBuffer b) { free(b.ptr); }
static const EntmootStrategyV1 TABLE = {ENTMOOT_ABI_VERSION, sizeof(EntmootStrategyV1),
                                        manifest, run, release};
const EntmootStrategyV1 *entmoot_strategy_entry_v1(void) { return &TABLE; }
"#,
    )
    .unwrap();
    let lib = compile_c(&source, dir.path(), "liar");
    let output = check(dir.path(), &lib, false);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS  handshake"), "{stdout}");
    assert!(
        stdout.contains("FAIL  run: rural demo") && stdout.contains("outside_buildable"),
        "{stdout}"
    );
    assert!(stdout.contains("the plugin does NOT conform."), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "entmoot: error: {} does not conform:",
            lib.display()
        )),
        "{stderr}"
    );

    // Not a library at all: only the handshake runs, and fails.
    let junk = dir.path().join("libjunk.so");
    std::fs::write(&junk, b"not a shared library").unwrap();
    let output = check(dir.path(), &junk, false);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  handshake  cannot load the library"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed, 0 skipped"), "{stdout}");
}
