//! Hostile plugins (plugins/host/tests/test_plugins/hostile.c, compiled here with the system C
//! compiler, one variant per attack) installed in a live `entmoot serve`: the server starts
//! although manifests crash, hang or squat on `greedy`; jobs with plugins that fork, daemonise,
//! SIGKILL their parent, send a 64 MiB error, thousands of copies of one asset, 100,000 roads,
//! or snoop for secrets fail or end on their own, with capped messages and WARN lines; the
//! snooper finds no secret; the server stays healthy, the next greedy job succeeds, nothing is
//! left running, SIGTERM still stops the server, and `plugins check` fails the plugins that
//! leave processes behind or crash their handshake. The same attacks run twice: on the
//! embedded default (one `serve` with its in-process worker) and on PostgreSQL + Redis with
//! the API (`serve --no-worker`) and a separate `entmoot worker`, where the worker is the
//! process the plugins attack.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, TestWorker, create_project, create_site, embedded_env,
    first_layout_when_succeeded, production_like_env, repository_root, run_entmoot,
    rural_demo_boundary, submit_three_buildings,
};
use serde_json::{Value, json};

const SECRET_KEY: &str = "hostile-suite-secret-key-0123456789abcdef";
const DOTENV_SECRET: &str = "dotenv-secret-8842";

/// Compiles the `kind` variant of hostile.c into `dir` as `lib<kind>.so`.
fn hostile(dir: &Path, kind: &str) -> PathBuf {
    let out = dir.join(format!("lib{kind}.so"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
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
        .arg(repository_root().join("plugins/sdk/include"))
        .arg("-o")
        .arg(&out)
        .arg(repository_root().join("plugins/host/tests/test_plugins/hostile.c"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        output.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Processes whose command line contains `needle`.
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

/// Submits a job with `strategy` and `parameters`; returns its id.
async fn submit(server: &TestServer, site: &str, strategy: &str, parameters: Value) -> String {
    let body = server
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": site, "strategy": strategy, "parameters": parameters,
                             "timeLimitSeconds": 30,
                             "program": entmoot_tests::json_fixture("programs/three_buildings_ft.json")}}),
        )
        .await
        .unwrap();
    body["data"]["createJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createJob {strategy}: {body}"))
        .to_owned()
}

/// Waits for `job` to end; returns it.
async fn ended(server: &TestServer, job: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let body = server
            .graphql(
                "query($id: ID!) { job(id: $id) { status error attempts strategy layouts { placedCount } } }",
                json!({"id": job}),
            )
            .await
            .unwrap();
        let status = body["data"]["job"]["status"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if ["SUCCEEDED", "FAILED", "CANCELLED"].contains(&status.as_str()) {
            return body["data"]["job"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the job did not end in time: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Where the attacked plugins run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deployment {
    /// `entmoot serve` on SQLite with its in-process worker.
    Embedded,
    /// `entmoot serve --no-worker` and one `entmoot worker`, on PostgreSQL and Redis.
    SeparateWorker,
}

#[tokio::test]
async fn hostile_plugins_fail_their_own_jobs_and_nothing_else() {
    hostile_suite(Deployment::Embedded).await;
}

#[tokio::test]
async fn hostile_plugins_fail_their_own_jobs_on_postgresql_redis_and_a_separate_worker() {
    hostile_suite(Deployment::SeparateWorker).await;
}

async fn hostile_suite(deployment: Deployment) {
    let work = tempfile::tempdir().unwrap();
    let plugins = work.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for kind in [
        "manifest_segfault",
        "manifest_loop",
        "constructor",
        "squat",
        "fork_pipes",
        "daemon",
        "kill_parent",
        "huge_error",
        "duplicates",
        "road_bomb",
        "snoop",
    ] {
        hostile(&plugins, kind);
    }
    // A secret the server loads from its .env, one from its environment.
    let dotenv = work.path().join(".env");
    std::fs::write(&dotenv, format!("SMTP_PASSWORD={DOTENV_SECRET}\n")).unwrap();
    let database = match deployment {
        Deployment::Embedded => None,
        Deployment::SeparateWorker => Some(FreshPostgres::create().await.unwrap()),
    };
    let mut env: HashMap<String, String> = match &database {
        None => embedded_env(work.path()),
        Some(database) => production_like_env(&database.url, work.path()),
    };
    env.insert("ENTMOOT_PLUGIN_DIR".into(), plugins.display().to_string());
    env.insert("SECRET_KEY".into(), SECRET_KEY.into());
    env.insert("ENTMOOT_PLUGIN_HANDSHAKE_TIMEOUT".into(), "2".into());

    if database.is_some() {
        let migrated = run_entmoot(work.path(), &env, &["migrate", "up"]);
        assert!(migrated.status.success(), "{migrated:?}");
    }
    let started = Instant::now();
    let server = match deployment {
        Deployment::Embedded => TestServer::start(work.path(), &env).await.unwrap(),
        Deployment::SeparateWorker => {
            TestServer::start_with_args(work.path(), &env, &["--no-worker"])
                .await
                .unwrap()
        }
    };
    // The process that runs the plugins, and so the one they attack.
    let mut worker = match deployment {
        Deployment::Embedded => None,
        Deployment::SeparateWorker => Some(TestWorker::start(work.path(), &env).unwrap()),
    };
    let runner_pid = worker.as_ref().map_or(server.pid(), TestWorker::pid);
    let runner_log = |server: &TestServer, worker: &Option<TestWorker>| -> Vec<String> {
        match worker {
            None => server.log_lines(),
            Some(worker) => worker.log().lines().map(str::to_owned).collect(),
        }
    };
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    let log = server.log_lines().join("\n");
    assert!(log.contains("plugin sandbox"), "{log}");
    for file in [
        "libmanifest_segfault.so",
        "libmanifest_loop.so",
        "libconstructor.so",
        "libsquat.so",
    ] {
        assert!(
            server
                .log_lines()
                .iter()
                .any(|l| l.contains("WARN") && l.contains("refused plugin") && l.contains(file)),
            "no WARN naming {file}:\n{log}"
        );
    }
    let listed = server
        .graphql("{ strategies { name version } }", json!({}))
        .await
        .unwrap();
    let names: Vec<String> = listed["data"]["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["name"].as_str().unwrap(),
                s["version"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("greedy 0.")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "greedy 99.0.0"), "{names:?}");
    assert!(
        names.contains(&"hostile-fork-pipes 1.0.0".to_owned()),
        "{names:?}"
    );

    let project = create_project(&server, "Hostile").await;
    let site = create_site(&server, &project, "Rural demo", rural_demo_boundary()).await;
    let port = server
        .base_url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let snoop_parameters = json!({
        "secret_file": dotenv.display().to_string(),
        "host_pid": runner_pid.to_string(),
        "port": port,
    });
    let mut jobs = Vec::new();
    for (kind, parameters) in [
        ("fork-pipes", json!({})),
        ("daemon", json!({})),
        ("kill-parent", json!({})),
        ("huge-error", json!({})),
        ("duplicates", json!({})),
        ("road-bomb", json!({})),
        ("snoop", snoop_parameters),
    ] {
        let job = submit(&server, &site, &format!("hostile-{kind}"), parameters).await;
        jobs.push((kind, job));
    }
    let mut results = HashMap::new();
    for (kind, job) in &jobs {
        // Transient failures are retried twice with a backoff: a minute is plenty.
        results.insert(*kind, ended(&server, job, Duration::from_secs(90)).await);
    }
    for kind in ["fork-pipes", "daemon", "kill-parent"] {
        assert_eq!(
            results[kind]["status"], "SUCCEEDED",
            "{kind}: {}",
            results[kind]
        );
    }
    let error = |kind: &str| results[kind]["error"].as_str().unwrap_or("").to_owned();
    assert_eq!(results["huge-error"]["status"], "FAILED");
    assert!(
        error("huge-error").len() < 5_000,
        "{}",
        error("huge-error").len()
    );
    assert!(error("huge-error").contains("[cut: 67108864 bytes in all]"));
    // Refused unread by the result cap, or as duplicates when they fit under it.
    assert!(
        error("duplicates").contains("duplicate_asset: 4000 assets placed, but the problem has 3")
            || error("duplicates").contains("is larger than the"),
        "{}",
        error("duplicates")
    );
    assert!(
        error("road-bomb").contains("is larger than the"),
        "{}",
        error("road-bomb")
    );
    assert_eq!(
        results["road-bomb"]["attempts"], 1,
        "oversized output would come again: not retried: {}",
        results["road-bomb"]
    );
    let snooped = error("snoop");
    assert!(snooped.contains("env.SECRET_KEY=absent"), "{snooped}");
    for secret in [SECRET_KEY, DOTENV_SECRET] {
        assert!(!snooped.contains(secret), "{snooped}");
    }
    assert!(snooped.contains("secret_file=denied("), "{snooped}");
    assert!(snooped.contains("host_environ=denied("), "{snooped}");
    assert!(!snooped.contains("connect=connected"), "{snooped}");

    // The logs name the job, the strategy, the file and the reason of each failed run.
    let lines = runner_log(&server, &worker);
    let log = lines.join("\n");
    assert!(
        lines.iter().any(|l| l.contains("WARN")
            && l.contains("strategy run failed")
            && l.contains("job_id=")
            && l.contains("strategy=hostile-duplicates@1.0.0")
            && l.contains("libduplicates.so")
            && (l.contains("reason=the strategy returned an invalid layout")
                || l.contains("reason=the plugin's result is larger than the"))),
        "{log}"
    );
    assert!(!log.contains("exceeded its time limit"), "{log}");

    // The server is healthy and the next greedy job succeeds.
    let job = submit_three_buildings(&server, &site).await;
    let layout = first_layout_when_succeeded(&server, &job).await;
    assert!(layout["geojson"].is_object(), "{layout}");
    // Nothing any run started is left running, and the worker the plugins attacked
    // (SIGKILL of its parent, among others) is still the one running jobs.
    let private = format!("entmoot-plugins-{runner_pid}-");
    assert_eq!(processes_mentioning(&private), Vec::<String>::new());
    if let Some(worker) = worker.as_mut() {
        assert!(!worker.has_exited(), "{}", worker.log());
    }
    if deployment == Deployment::SeparateWorker {
        // The checker's verdicts do not depend on the deployment: checked once, below.
        server.stop().unwrap();
        return;
    }

    // The checker fails what leaves processes behind or crashes its handshake, and says
    // which protections the machine gives.
    let check = run_entmoot(
        work.path(),
        &env,
        &[
            "plugins",
            "check",
            plugins.join("libfork_pipes.so").to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("sandbox: active: "), "{stdout}");
    assert!(stdout.contains("FAIL  no process left behind"), "{stdout}");
    let check = run_entmoot(
        work.path(),
        &env,
        &[
            "plugins",
            "check",
            plugins.join("libmanifest_segfault.so").to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  handshake  the handshake crashed the runner"),
        "{stdout}"
    );

    server.stop().unwrap();
}

/// The fallback when the host is not root: no other user to switch to, no namespaces
/// without privileges. What is left still contains a plugin (a cleared environment, a
/// fresh directory, resource limits, Landlock, the stray-process reaper), and the checker
/// says which protections are missing and why. `plugins check` runs as `nobody` here
/// (as the tests' own user when they do not run as root).
#[test]
fn a_host_that_is_not_root_still_contains_plugins_and_says_what_is_missing() {
    use std::os::unix::fs::PermissionsExt;

    let work = tempfile::tempdir().unwrap();
    // The unprivileged user must be able to work here (its plugin cache, the runs'
    // scratch directories) and to read the plugins.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let fork_pipes = hostile(work.path(), "fork_pipes");
    let snoop = hostile(work.path(), "snoop");
    let mut env = embedded_env(work.path());
    env.insert(
        "ENTMOOT_PLUGIN_CACHE_DIR".into(),
        work.path().join("cache").display().to_string(),
    );
    env.insert("SECRET_KEY".into(), SECRET_KEY.into());
    let check = |plugin: &Path| {
        let output = entmoot_tests::entmoot_command_not_root(work.path(), &env)
            .args(["plugins", "check", plugin.to_str().unwrap()])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (code, stdout, stderr) = check(&fork_pipes);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let sandbox = stdout
        .lines()
        .find(|line| line.contains("sandbox: active: "))
        .unwrap_or_else(|| panic!("no sandbox line:\n{stdout}\n{stderr}"));
    for active in [
        "cleared environment",
        "resource limits",
        "Landlock filesystem",
    ] {
        assert!(
            sandbox.contains(active),
            "{active} is not active: {sandbox}"
        );
    }
    let (_, unavailable) = sandbox
        .split_once("unavailable: ")
        .unwrap_or_else(|| panic!("nothing said to be missing: {sandbox}"));
    assert!(
        unavailable.contains("unprivileged user (the host does not run as root"),
        "{sandbox}"
    );
    // Without a PID namespace, the reaper is what finds the plugin's children.
    assert!(
        sandbox.contains("PID namespace") && !unavailable.contains("stray process reaper"),
        "{sandbox}"
    );
    assert!(stdout.contains("FAIL  no process left behind"), "{stdout}");
    assert_eq!(
        processes_mentioning(fork_pipes.to_str().unwrap()),
        Vec::<String>::new()
    );

    // The snooper, run by the checker as a job would run it, finds no secret of the host.
    let (_, stdout, stderr) = check(&snoop);
    assert!(!stdout.contains(SECRET_KEY), "{stdout}");
    assert!(!stderr.contains(SECRET_KEY), "{stderr}");
}
