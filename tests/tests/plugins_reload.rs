//! Hot reload of strategy plugins in a running `entmoot serve`: a plugin file replaced by
//! another version of the same strategy is picked up within seconds without a restart, and
//! the next job records that it ran the new version; `reloadStrategies` does the same on
//! demand and says why a file was refused; a corrupt file never takes a working strategy
//! away. The plugin is the C example, compiled twice with different version strings.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use entmoot_tests::{
    TestServer, embedded_env, graphql_ok, json_fixture, repository_root, rural_demo_boundary,
};
use serde_json::{Value, json};

const STRATEGY: &str = "example-c-grid";
const RELOAD_MUTATION: &str =
    "mutation { reloadStrategies { summary strategies { name version } refused { path reason } } }";

/// Compiles the C example with `version` in its manifest into `out_dir`.
fn compile_grid(out_dir: &Path, version: &str) -> PathBuf {
    let out = out_dir.join(format!("grid-{version}.so"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args([
            "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
        ])
        .arg(format!("-DEXAMPLE_C_GRID_VERSION=\"{version}\""))
        .arg("-I")
        .arg(repository_root().join("plugins/sdk/include"))
        .arg("-o")
        .arg(&out)
        .arg(repository_root().join("plugins/examples/c/grid.c"))
        .arg("-lm")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Installs `library` as `dest` the way the README says: copy beside, then rename over.
fn install(library: &Path, dest: &Path) {
    let staging = dest.with_file_name(".installing");
    std::fs::copy(library, &staging).unwrap();
    std::fs::rename(&staging, dest).unwrap();
}

fn server_env(data_dir: &Path, plugin_dir: &Path) -> HashMap<String, String> {
    let mut env = embedded_env(data_dir);
    env.insert(
        "ENTMOOT_PLUGIN_DIR".into(),
        plugin_dir.display().to_string(),
    );
    env
}

/// The versions of `STRATEGY` that `strategies` lists.
async fn listed_versions(server: &TestServer) -> Vec<String> {
    let data = graphql_ok(server, "{ strategies { name version } }", json!({})).await;
    data["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == STRATEGY)
        .map(|s| s["version"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates a project and the rural demo site; returns the site id.
async fn create_site(server: &TestServer) -> String {
    let project = graphql_ok(
        server,
        "mutation { createProject(input: {name: \"Reload\"}) { id } }",
        json!({}),
    )
    .await;
    let site = graphql_ok(
        server,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
        json!({"input": {"projectId": project["createProject"]["id"], "name": "Rural demo", "boundary": rural_demo_boundary()}}),
    )
    .await;
    site["createSite"]["id"].as_str().unwrap().to_owned()
}

/// Runs a job with `STRATEGY` to its end and returns it (it must succeed).
async fn run_job(server: &TestServer, site_id: &str) -> Value {
    let job = graphql_ok(
        server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id strategy strategyVersion } }",
        json!({"input": {"siteId": site_id, "strategy": STRATEGY, "program": json_fixture("programs/three_buildings_ft.json")}}),
    )
    .await;
    assert_eq!(job["createJob"]["strategy"], STRATEGY);
    assert_eq!(
        job["createJob"]["strategyVersion"],
        Value::Null,
        "not pinned: the job runs the newest version installed when it starts"
    );
    let job_id = job["createJob"]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let data = graphql_ok(
            server,
            "query($id: ID!) { job(id: $id) { status error strategy strategyVersionUsed history layouts { placedCount } } }",
            json!({"id": job_id}),
        )
        .await;
        let job = data["job"].clone();
        match job["status"].as_str().unwrap() {
            "SUCCEEDED" => {
                assert_eq!(job["layouts"][0]["placedCount"], 3, "{job}");
                return job;
            }
            "FAILED" | "CANCELLED" => panic!("the job did not succeed: {job}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "job unfinished after 60 s: {job}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `strategies` lists exactly `versions` of `STRATEGY`.
async fn wait_for_versions(server: &TestServer, versions: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let listed = listed_versions(server).await;
        if listed == versions {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {within:?} `strategies` lists {listed:?} of {STRATEGY}, not {versions:?}; server log:\n{}",
            server.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_replaced_plugin_file_is_used_by_the_next_job_without_a_restart() {
    let work = tempfile::tempdir().unwrap();
    let builds = work.path().join("builds");
    let plugins = work.path().join("plugins");
    std::fs::create_dir_all(&builds).unwrap();
    std::fs::create_dir_all(&plugins).unwrap();
    let version_a = compile_grid(&builds, "0.1.0");
    let version_b = compile_grid(&builds, "0.2.0");
    let installed = plugins.join("libexample_c_grid.so");
    install(&version_a, &installed);

    let server = TestServer::start(work.path(), &server_env(work.path(), &plugins))
        .await
        .unwrap();
    assert_eq!(listed_versions(&server).await, ["0.1.0"]);
    let site_id = create_site(&server).await;
    let job = run_job(&server, &site_id).await;
    assert_eq!(job["strategyVersionUsed"], "0.1.0", "{job}");
    assert_eq!(job["history"][0]["strategy_version"], "0.1.0", "{job}");

    install(&version_b, &installed);
    wait_for_versions(&server, &["0.2.0"], Duration::from_secs(15)).await;
    let job = run_job(&server, &site_id).await;
    assert_eq!(job["strategyVersionUsed"], "0.2.0", "{job}");

    // A job pinned to the version that is gone is refused at submission.
    let body = server
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": site_id, "strategy": format!("{STRATEGY}@0.1.0"), "program": json_fixture("programs/three_buildings_ft.json")}}),
        )
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // Removing the file removes the strategy.
    std::fs::remove_file(&installed).unwrap();
    wait_for_versions(&server, &[], Duration::from_secs(15)).await;
    let log = server.log_lines().join("\n");
    assert!(
        log.contains("reloaded strategy plugin example-c-grid 0.2.0"),
        "{log}"
    );
    assert!(
        log.contains("strategy plugin example-c-grid 0.2.0 is no longer available"),
        "{log}"
    );
    server.stop().unwrap();
}

#[tokio::test]
async fn reload_strategies_reports_refused_files_and_keeps_the_good_ones() {
    let work = tempfile::tempdir().unwrap();
    let builds = work.path().join("builds");
    let plugins = work.path().join("plugins");
    std::fs::create_dir_all(&builds).unwrap();
    std::fs::create_dir_all(&plugins).unwrap();
    let installed = plugins.join("libexample_c_grid.so");
    install(&compile_grid(&builds, "0.1.0"), &installed);
    let server = TestServer::start(work.path(), &server_env(work.path(), &plugins))
        .await
        .unwrap();
    let site_id = create_site(&server).await;

    // A new version and a corrupt file arrive; the mutation does not wait for the watcher.
    install(&compile_grid(&builds, "0.2.0"), &installed);
    let corrupt = plugins.join("libcorrupt.so");
    std::fs::write(&corrupt, b"\x7fELF but not really a shared library").unwrap();
    let data = graphql_ok(&server, RELOAD_MUTATION, json!({})).await;
    let reloaded = &data["reloadStrategies"];
    let strategies: Vec<(String, String)> = reloaded["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        strategies.contains(&(STRATEGY.to_owned(), "0.2.0".to_owned())),
        "{reloaded}"
    );
    assert!(
        strategies.iter().any(|(name, _)| name == "greedy"),
        "the built-in strategies beside the binary stay: {reloaded}"
    );
    let refused = reloaded["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{reloaded}");
    assert_eq!(refused[0]["path"], corrupt.display().to_string());
    assert!(
        !refused[0]["reason"].as_str().unwrap().is_empty(),
        "{reloaded}"
    );
    let job = run_job(&server, &site_id).await;
    assert_eq!(job["strategyVersionUsed"], "0.2.0", "{job}");

    // The good file is overwritten with garbage: refused, and 0.2.0 stays in service.
    std::fs::write(&installed, b"garbage").unwrap();
    let data = graphql_ok(&server, RELOAD_MUTATION, json!({})).await;
    let reloaded = &data["reloadStrategies"];
    let refused = reloaded["refused"].as_array().unwrap();
    let grid_refusal = refused
        .iter()
        .find(|r| r["path"] == installed.display().to_string())
        .unwrap_or_else(|| panic!("{reloaded}"));
    assert!(
        grid_refusal["reason"]
            .as_str()
            .unwrap()
            .ends_with("still serving the previously loaded example-c-grid 0.2.0"),
        "{reloaded}"
    );
    assert_eq!(listed_versions(&server).await, ["0.2.0"]);
    let job = run_job(&server, &site_id).await;
    assert_eq!(job["strategyVersionUsed"], "0.2.0", "{job}");

    // The watcher, polling all along, agrees and does not undo anything.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(listed_versions(&server).await, ["0.2.0"]);
    let log = server.log_lines().join("\n");
    assert!(log.contains("refused plugin"), "{log}");
    assert!(log.contains("libcorrupt.so"), "{log}");
    server.stop().unwrap();
}
