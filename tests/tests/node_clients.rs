//! Real Node.js GraphQL clients against the binary: the `graphql-http` conformance
//! audit, `graphql-ws` and `subscriptions-transport-ws` following a job to its end,
//! and an Apollo Client frontend (uploads, subscriptions, export, download). The
//! scripts live in `tests/node/`; `tests/run` installs their packages (`npm ci`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use entmoot_tests::{TestServer, embedded_env, repository_root};

/// Longer than any script's own deadline, so a script's message is what is reported;
/// this only catches a node that ignores its own timer.
const NODE_DEADLINE: Duration = Duration::from_secs(240);

/// Runs `node tests/node/SCRIPT` against a fresh embedded server; panics with the
/// script's output unless it exits 0.
async fn run_script(script: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let (base_url, api_key) = (server.base_url.clone(), server.api_key.clone());
    let script_owned = script.to_owned();
    let output = tokio::task::spawn_blocking(move || node(&script_owned, &base_url, &api_key))
        .await
        .expect("node runner");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "node tests/node/{script} failed ({}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- server log (last 40 lines) ---\n{}",
        output.status,
        tail(&server.log_lines(), 40),
    );
    stdout
}

fn node(script: &str, base_url: &str, api_key: &str) -> Output {
    let node_dir = repository_root().join("tests/node");
    assert!(
        node_dir.join("node_modules").is_dir(),
        "{}/node_modules is missing: tests/run installs it (npm ci in tests/node)",
        node_dir.display()
    );
    let mut child = Command::new("node")
        .arg(node_dir.join(script))
        .current_dir(&node_dir)
        .env("ENTMOOT_URL", base_url)
        .env("ENTMOOT_API_KEY", api_key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("running `node` failed ({error}): tests/run installs Node.js")
        });
    // Both pipes are drained on their own threads so a chatty script cannot block.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let stdout_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break status;
        }
        if started.elapsed() > NODE_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "node {script} was still running after {NODE_DEADLINE:?}; its stdout:\n{}",
                String::from_utf8_lossy(&stdout_reader.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: stdout_reader.join().expect("stdout reader"),
        stderr: stderr_reader.join().expect("stderr reader"),
    }
}

fn tail(lines: &[String], count: usize) -> String {
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_http_audit_passes_every_audit() {
    let stdout = run_script("graphql_http_audit.mjs").await;
    // The script exits 0 only when all audits are ok; the count also proves it ran
    // some, so an audit package that returned nothing would not pass silently.
    let (ok, total) = stdout
        .lines()
        .find_map(|line| {
            let counts = line.strip_prefix("audits ok: ")?;
            let (ok, total) = counts.split_once(" of ")?;
            Some((ok.parse::<usize>().ok()?, total.parse::<usize>().ok()?))
        })
        .unwrap_or_else(|| panic!("no `audits ok: N of M` line in:\n{stdout}"));
    assert!(total > 0, "the audit ran nothing:\n{stdout}");
    assert_eq!(ok, total, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_follows_a_job_to_succeeded() {
    run_script("graphql_ws.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_transport_ws_follows_a_job_to_succeeded() {
    run_script("subscriptions_transport_ws.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apollo_frontend_uploads_plans_follows_exports_and_downloads() {
    run_script("apollo_client.mjs").await;
}
