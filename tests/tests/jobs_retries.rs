//! Transient failures, seen from outside: a job whose strategy process crashes is queued
//! again after a backoff and its next attempt runs the fixed version installed meanwhile; a job that crashes on
//! every attempt is dead-lettered after `max_attempts` with each attempt in its history.
//!
//! The crashing strategies are C plugins compiled here against the public header (the
//! system C compiler, `$CC` or `cc`); a crash (`abort()`) is what the worker classifies as
//! transient, unlike invalid input or an invalid layout.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use entmoot_tests::{
    FreshPostgres, TestServer, TestWorker, embedded_env, graphql_ok, json_fixture,
    production_like_env, repository_root, run_entmoot, rural_demo_boundary,
};
use serde_json::{Value, json};

/// `ExecutionSettings::retry_backoff` by default: the delay before the second attempt,
/// doubled for each attempt after that.
const BASE_BACKOFF: Duration = Duration::from_secs(2);

/// How a test strategy behaves on every run.
#[derive(Clone, Copy)]
enum Behaviour {
    /// `abort()`: a crash, which the worker classifies as transient.
    Crashes,
    /// Returns one empty layout, which is valid (placing fewer assets than asked is fine).
    Succeeds,
}

/// Writes and compiles a strategy plugin named `name` at `version`, then installs it into
/// `plugin_dir` with an atomic rename (replacing an earlier build of the same plugin, as an
/// operator shipping a fix would).
///
/// A sandboxed plugin cannot keep state between runs (its files are its own fresh working
/// directory), so "crashes once" is a crashing version replaced by a fixed one between
/// the attempts.
fn install_plugin(
    work_dir: &Path,
    plugin_dir: &Path,
    name: &str,
    version: &str,
    behaviour: Behaviour,
) {
    let crash = match behaviour {
        Behaviour::Crashes => "    (void)out;\n    abort();",
        Behaviour::Succeeds => {
            "    *out = text(\"{\\\"layouts\\\":[{\\\"assets\\\":[],\\\"roads\\\":[]}]}\");\n    return ENTMOOT_STATUS_OK;"
        }
    };
    let source = format!(
        r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "entmoot_strategy.h"
static EntmootBuffer text(const char *s) {{
    EntmootBuffer b = {{NULL, 0}};
    b.len = strlen(s);
    b.ptr = (uint8_t *)malloc(b.len);
    if (b.ptr != NULL) memcpy(b.ptr, s, b.len); else b.len = 0;
    return b;
}}
static EntmootBuffer manifest(void) {{
    return text("{{\"name\":\"{name}\",\"version\":\"{version}\",\"abi_version\":1,"
                "\"description\":\"crashes\",\"capabilities\":{{\"rotations\":false,"
                "\"alternatives\":false,\"terrain_aware\":false,\"deterministic\":true}},"
                "\"parameters\":{{\"type\":\"object\"}}}}");
}}
static int32_t run(const uint8_t *r, size_t n, EntmootProgressFn p, EntmootCancelFn c, void *u,
                   EntmootBuffer *out) {{
    (void)r; (void)n; (void)p; (void)c; (void)u;
{crash}
}}
static void release(EntmootBuffer b) {{ free(b.ptr); }}
static const EntmootStrategyV1 TABLE = {{ENTMOOT_ABI_VERSION, sizeof(EntmootStrategyV1),
                                        manifest, run, release}};
const EntmootStrategyV1 *entmoot_strategy_entry_v1(void) {{ return &TABLE; }}
"#
    );
    let source_path = work_dir.join(format!("{name}.c"));
    std::fs::write(&source_path, source).expect("write the plugin source");
    std::fs::create_dir_all(plugin_dir).expect("plugin dir");
    let file_name = format!("lib{}.so", name.replace('-', "_"));
    let built = work_dir.join(&file_name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args([
            "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
        ])
        .arg("-I")
        .arg(repository_root().join("plugins/sdk/include"))
        .arg("-o")
        .arg(&built)
        .arg(&source_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&built, plugin_dir.join(&file_name)).expect("install the plugin");
}

/// Submits the rural demo program to `strategy` on a new site; returns the job id.
async fn submit(server: &TestServer, strategy: &str) -> String {
    let project = graphql_ok(
        server,
        "mutation { createProject(input: {name: \"Retries\"}) { id } }",
        json!({}),
    )
    .await;
    let site = graphql_ok(
        server,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
        json!({"input": {"projectId": project["createProject"]["id"], "name": "Rural demo", "boundary": rural_demo_boundary()}}),
    )
    .await;
    let job = graphql_ok(
        server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id status strategy } }",
        json!({"input": {"siteId": site["createSite"]["id"], "program": json_fixture("programs/three_buildings_ft.json"), "strategy": strategy}}),
    )
    .await;
    assert_eq!(job["createJob"]["strategy"], strategy, "{job}");
    job["createJob"]["id"].as_str().expect("job id").to_owned()
}

/// Polls the job until `done` says yes.
async fn wait_for_job(
    server: &TestServer,
    job_id: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let data = graphql_ok(
            server,
            "query($id: ID!) { job(id: $id) { status error attempts history layouts { rank placedCount } } }",
            json!({"id": job_id}),
        )
        .await;
        let job = data["job"].clone();
        if done(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not {what} within {within:?}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the job until it is terminal.
async fn wait_for_end(server: &TestServer, job_id: &str, within: Duration) -> Value {
    wait_for_job(server, job_id, within, "end", |job| {
        matches!(
            job["status"].as_str(),
            Some("SUCCEEDED" | "FAILED" | "CANCELLED")
        )
    })
    .await
}

fn timestamp(entry: &Value, field: &str) -> DateTime<FixedOffset> {
    let text = entry[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {entry}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{field} `{text}`: {e}"))
}

/// How long the job waited between the end of attempt `index` and the start of the next.
fn pause_after(history: &[Value], index: usize) -> Duration {
    (timestamp(&history[index + 1], "started_at") - timestamp(&history[index], "ended_at"))
        .to_std()
        .unwrap_or_else(|_| panic!("attempt {} started before {} ended", index + 2, index + 1))
}

/// Every attempt of a crashed run is recorded with the crash as its error.
fn assert_crashed_attempt(entry: &Value, attempt: i64) {
    assert_eq!(entry["attempt"], attempt, "{entry}");
    assert_eq!(entry["outcome"], "retried", "queued again: {entry}");
    let error = entry["error"].as_str().expect("error");
    assert!(
        error.contains("the plugin process ended without a result"),
        "the crash is the reason: {error}"
    );
    assert!(entry["worker"].is_string(), "{entry}");
}

#[tokio::test]
async fn a_strategy_that_crashes_once_is_retried_after_a_backoff_and_succeeds() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin_dir = dir.path().join("plugins");
    install_plugin(
        dir.path(),
        &plugin_dir,
        "crash-once",
        "1.0.0",
        Behaviour::Crashes,
    );
    let mut env: HashMap<String, String> = production_like_env(&database.url, dir.path());
    env.insert(
        "ENTMOOT_PLUGIN_DIR".into(),
        plugin_dir.display().to_string(),
    );
    // A 2 s lease makes recovery pass every second, several times within the backoff: the
    // job must still wait the backoff out rather than be dispatched again by recovery.
    env.insert("ENTMOOT_JOB_LEASE_SECONDS".into(), "2".into());
    // Long enough for the worker's plugin watcher (polling every second, loading a file
    // once it has stayed the same for one more poll) to load the fix before the retry.
    let backoff = Duration::from_secs(8);
    env.insert(
        "ENTMOOT_JOB_RETRY_BACKOFF_SECONDS".into(),
        backoff.as_secs().to_string(),
    );
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let server = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("server");
    let _worker = TestWorker::start(dir.path(), &env).expect("worker");

    let job_id = submit(&server, "crash-once").await;
    let waiting = wait_for_job(
        &server,
        &job_id,
        Duration::from_secs(60),
        "crash and wait for its retry",
        |job| job["history"].as_array().is_some_and(|h| !h.is_empty()),
    )
    .await;
    assert_eq!(
        waiting["status"], "QUEUED",
        "waits for its retry: {waiting}"
    );
    assert!(
        waiting["error"]
            .as_str()
            .is_some_and(|e| e.contains("the plugin process ended without a result")),
        "the crash is reported while the job waits: {waiting}"
    );
    install_plugin(
        dir.path(),
        &plugin_dir,
        "crash-once",
        "1.0.1",
        Behaviour::Succeeds,
    );
    let job = wait_for_end(&server, &job_id, Duration::from_secs(60)).await;

    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert!(job["error"].is_null(), "a success clears the error: {job}");
    assert_eq!(
        job["layouts"].as_array().expect("layouts").len(),
        1,
        "one stored result: {job}"
    );
    let history = job["history"].as_array().expect("history").clone();
    assert_eq!(history.len(), 2, "{job}");
    assert_crashed_attempt(&history[0], 1);
    assert_eq!(history[0]["strategy_version"], "1.0.0", "{job}");
    assert_eq!(history[1]["attempt"], 2, "{job}");
    assert_eq!(history[1]["outcome"], "succeeded", "{job}");
    assert_eq!(
        history[1]["strategy_version"], "1.0.1",
        "the retry runs the version installed when it starts: {job}"
    );
    assert!(history[1]["error"].is_null(), "{job}");
    let pause = pause_after(&history, 0);
    assert!(
        pause >= backoff - Duration::from_millis(50),
        "the second attempt waited out the backoff of {backoff:?}, not {pause:?}"
    );
    assert!(
        pause < backoff + Duration::from_secs(5),
        "the second attempt came soon after the backoff, not after {pause:?}"
    );
}

#[tokio::test]
async fn a_strategy_that_always_crashes_is_dead_lettered_with_each_attempt_in_its_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin_dir = dir.path().join("plugins");
    install_plugin(
        dir.path(),
        &plugin_dir,
        "crash-always",
        "1.0.0",
        Behaviour::Crashes,
    );
    let mut env = embedded_env(dir.path());
    env.insert(
        "ENTMOOT_PLUGIN_DIR".into(),
        plugin_dir.display().to_string(),
    );
    env.insert("ENTMOOT_JOB_LEASE_SECONDS".into(), "2".into());
    let server = TestServer::start(dir.path(), &env).await.expect("server");

    let job_id = submit(&server, "crash-always").await;
    let job = wait_for_end(&server, &job_id, Duration::from_secs(60)).await;

    assert_eq!(job["status"], "FAILED", "{job}");
    // submit_job gives every job 3 attempts.
    assert_eq!(job["attempts"], 3, "{job}");
    let error = job["error"].as_str().expect("error");
    assert!(
        error.starts_with("dead-lettered after 3 attempts; last error: ")
            && error.contains("the plugin process ended without a result"),
        "says it was dead-lettered and why: {error}"
    );
    assert_eq!(job["layouts"], json!([]), "{job}");
    let history = job["history"].as_array().expect("history").clone();
    assert_eq!(history.len(), 3, "one entry per attempt: {job}");
    assert_crashed_attempt(&history[0], 1);
    assert_crashed_attempt(&history[1], 2);
    assert_eq!(history[2]["attempt"], 3, "{job}");
    assert_eq!(history[2]["outcome"], "failed", "{job}");
    assert!(
        history[2]["error"]
            .as_str()
            .is_some_and(|last| last.starts_with("dead-lettered after 3 attempts")),
        "{job}"
    );
    // Exponential backoff: the base, then twice the base.
    for (index, backoff) in [(0, BASE_BACKOFF), (1, BASE_BACKOFF * 2)] {
        let pause = pause_after(&history, index);
        assert!(
            pause >= backoff - Duration::from_millis(50),
            "attempt {} waited {pause:?}, less than its backoff of {backoff:?}",
            index + 2
        );
    }
}
