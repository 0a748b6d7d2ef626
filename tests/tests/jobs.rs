//! A job submitted through GraphQL runs on a worker (in-process on the embedded
//! default, a separate `entmoot worker` process on PostgreSQL + Redis) and its layouts
//! and building footprints are stored.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, TestWorker, embedded_env, fixture, graphql_ok, json_fixture,
    production_like_env, run_entmoot, rural_demo_boundary,
};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// Creates a project, a site and a job; waits for the job; returns (job, layout).
async fn run_rural_demo_job(server: &TestServer) -> (Value, Value) {
    let project = graphql_ok(
        server,
        "mutation { createProject(input: {name: \"Rural demo\"}) { id } }",
        json!({}),
    )
    .await;
    let project_id = project["createProject"]["id"]
        .as_str()
        .expect("project id")
        .to_owned();
    let site = graphql_ok(
        server,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id name areaM2 } }",
        json!({"input": {"projectId": project_id, "name": "Rural demo", "boundary": rural_demo_boundary()}}),
    )
    .await;
    let site_id = site["createSite"]["id"]
        .as_str()
        .expect("site id")
        .to_owned();
    let area = site["createSite"]["areaM2"].as_f64().expect("area");
    assert!(
        (180_000.0..200_000.0).contains(&area),
        "about 47 acres, got {area} m²"
    );

    let job = graphql_ok(
        server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id status strategy } }",
        json!({"input": {"siteId": site_id, "program": json_fixture("programs/three_buildings_ft.json")}}),
    )
    .await;
    let job_id = job["createJob"]["id"].as_str().expect("job id").to_owned();
    assert_eq!(job["createJob"]["status"], "QUEUED");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let data = graphql_ok(
            server,
            "query($id: ID!) { job(id: $id) { id status error attempts layouts { rank placedCount requestedCount geojson earthwork } } }",
            json!({"id": job_id}),
        )
        .await;
        let status = data["job"]["status"].as_str().expect("status").to_owned();
        if status == "SUCCEEDED" || status == "FAILED" {
            assert_eq!(status, "SUCCEEDED", "{data}");
            let layout = data["job"]["layouts"][0].clone();
            return (data["job"].clone(), layout);
        }
        assert!(
            Instant::now() < deadline,
            "job did not finish within 60 s: {data}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_three_buildings(job: &Value, layout: &Value) {
    assert_eq!(job["attempts"], 1);
    assert_eq!(layout["rank"], 0);
    assert_eq!(layout["placedCount"], 3);
    assert_eq!(layout["requestedCount"], 3);
    assert_eq!(
        layout["earthwork"]["status"], "unknown",
        "no DEM, no guessed earthwork"
    );
    let assets: Vec<&Value> = layout["geojson"]["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|feature| feature["properties"]["kind"] == "asset")
        .collect();
    assert_eq!(assets.len(), 3);
    for asset in assets {
        assert_eq!(asset["geometry"]["type"], "Polygon");
        assert_eq!(asset["properties"]["name"], "Warehouse");
        let width = asset["properties"]["width"].as_f64().expect("width");
        assert!(
            (width - 60.0 * 0.3048).abs() < 1e-6,
            "width in metres, got {width}"
        );
    }
}

#[tokio::test]
async fn a_job_runs_on_the_in_process_worker_of_the_embedded_default() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(data_dir.path(), &embedded_env(data_dir.path()))
        .await
        .expect("server");
    let (job, layout) = run_rural_demo_job(&server).await;
    assert_three_buildings(&job, &layout);
}

#[tokio::test]
async fn a_job_runs_on_a_separate_worker_process_over_postgres_and_redis() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let env: HashMap<String, String> = production_like_env(&database.url, data_dir.path());
    let migrated = run_entmoot(data_dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let server = TestServer::start_with_args(data_dir.path(), &env, &["--no-worker"])
        .await
        .expect("server");
    let _worker = TestWorker::start(data_dir.path(), &env).expect("worker");

    let (job, layout) = run_rural_demo_job(&server).await;
    assert_three_buildings(&job, &layout);

    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT count(*) AS n, min(ST_Area(geom::geography)) AS smallest, bool_and(ST_IsValid(geom)) AS valid FROM buildings",
        ))
        .await
        .expect("query")
        .expect("a row");
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 3);
    let smallest = row.try_get::<f64>("", "smallest").expect("smallest");
    assert!(
        (smallest - 60.0 * 80.0 * 0.3048 * 0.3048).abs() < 5.0,
        "footprint area in PostGIS: {smallest}"
    );
    assert!(row.try_get::<bool>("", "valid").expect("valid"));
}

#[tokio::test]
async fn invalid_job_input_is_refused_with_a_code_and_a_location() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(data_dir.path(), &embedded_env(data_dir.path()))
        .await
        .expect("server");
    let project = graphql_ok(
        &server,
        "mutation { createProject(input: {name: \"P\"}) { id } }",
        json!({}),
    )
    .await;
    let bad_site = server
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
            json!({"input": {"projectId": project["createProject"]["id"], "name": "Bad",
                   "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 200], [0, 0]]]}}}),
        )
        .await
        .expect("request");
    assert_eq!(
        bad_site["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad_site}"
    );
    let message = bad_site["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("position 2"),
        "names the bad position: {message}"
    );

    let unknown = server
        .graphql("query { job(id: \"bm90LWEtam9i\") { id } }", json!({}))
        .await
        .expect("request");
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{unknown}"
    );
}

/// Creates a project and a rural demo site; returns the site id.
async fn rural_demo_site(server: &TestServer) -> String {
    let project = graphql_ok(
        server,
        "mutation { createProject(input: {name: \"P\"}) { id } }",
        json!({}),
    )
    .await;
    let site = graphql_ok(
        server,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
        json!({"input": {"projectId": project["createProject"]["id"], "name": "Rural demo", "boundary": rural_demo_boundary()}}),
    )
    .await;
    site["createSite"]["id"]
        .as_str()
        .expect("site id")
        .to_owned()
}

async fn job_status(server: &TestServer, job_id: &str) -> Value {
    graphql_ok(
        server,
        "query($id: ID!) { job(id: $id) { status error attempts history } }",
        json!({"id": job_id}),
    )
    .await["job"]
        .clone()
}

#[tokio::test]
async fn a_cancel_stops_a_running_job_within_a_second_and_a_retry_runs_it_again() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(data_dir.path(), &embedded_env(data_dir.path()))
        .await
        .expect("server");
    let site_id = rural_demo_site(&server).await;
    // Without patience the improving search runs until its time limit unless stopped.
    let program = json!({"units": "ft", "setback": 20, "min_spacing": 10,
        "assets": [{"name": "Warehouse", "type": "building", "width": 60, "length": 80, "quantity": 60}]});
    let job = graphql_ok(
        &server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
        json!({"input": {"siteId": site_id, "program": program, "strategy": "anneal", "timeLimitSeconds": 60,
            "parameters": {"patience": 0}}}),
    )
    .await;
    let job_id = job["createJob"]["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while job_status(&server, &job_id).await["status"] != "RUNNING" {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cancelled_at = Instant::now();
    let cancel = graphql_ok(
        &server,
        "mutation($id: ID!) { cancelJob(id: $id) { cancelRequested } }",
        json!({"id": job_id}),
    )
    .await;
    assert_eq!(cancel["cancelJob"]["cancelRequested"], true);
    loop {
        let status = job_status(&server, &job_id).await;
        if status["status"] == "CANCELLED" {
            break;
        }
        assert!(
            cancelled_at.elapsed() < Duration::from_millis(1500),
            "still {} 1.5 s after the cancel",
            status["status"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Cancelling again conflicts; a retry queues it with a fresh budget.
    let again = server
        .graphql(
            "mutation($id: ID!) { cancelJob(id: $id) { id } }",
            json!({"id": job_id}),
        )
        .await
        .expect("request");
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "CONFLICT",
        "{again}"
    );
    let retried = graphql_ok(
        &server,
        "mutation($id: ID!) { retryJob(id: $id) { status attempts } }",
        json!({"id": job_id}),
    )
    .await;
    assert_eq!(retried["retryJob"]["status"], "QUEUED");
    assert_eq!(retried["retryJob"]["attempts"], 0);
    let history = job_status(&server, &job_id).await["history"].clone();
    assert_eq!(history[0]["outcome"], "cancelled", "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_optimization_disabled_a_failed_job_is_not_retried() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(data_dir.path());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");
    let site_id = rural_demo_site(&server).await;
    // Parameters greedy does not know: the job fails for good.
    let created = server
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": site_id, "parameters": {"no_such_parameter": 1},
                             "program": json_fixture("programs/three_buildings_ft.json")}}),
        )
        .await
        .expect("createJob");
    let job = created["data"]["createJob"]["id"]
        .as_str()
        .expect("job")
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = server
            .graphql(
                "query($id: ID!) { job(id: $id) { status } }",
                json!({"id": job}),
            )
            .await
            .expect("job")["data"]["job"]["status"]
            .clone();
        if status == "FAILED" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.stop().expect("stop");

    // The same data with optimization off: the retry is refused and the job stays failed.
    let mut disabled = env.clone();
    disabled.insert("ENABLE_OPTIMIZATION".into(), "false".into());
    let server = TestServer::start(data_dir.path(), &disabled)
        .await
        .expect("server");
    // (The restarted server issues its own admin key of the same organization.)
    let retry = server
        .graphql(
            "mutation($id: ID!) { retryJob(id: $id) { status } }",
            json!({"id": job}),
        )
        .await
        .expect("retryJob");
    assert_eq!(
        retry["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{retry}"
    );
    assert!(
        retry.to_string().contains("ENABLE_OPTIMIZATION=false"),
        "{retry}"
    );
}

#[tokio::test]
async fn with_optimization_disabled_create_job_is_refused_and_the_cli_still_solves() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert("ENABLE_OPTIMIZATION".into(), "false".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");
    let site_id = rural_demo_site(&server).await;
    let refused = server
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": site_id, "program": json_fixture("programs/three_buildings_ft.json")}}),
        )
        .await
        .expect("request");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let message = refused["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("ENABLE_OPTIMIZATION=false"),
        "names the setting: {message}"
    );
    assert!(refused["data"]["createJob"].is_null(), "{refused}");

    // Solving offline does not submit a job, so the setting does not apply to it.
    let out = data_dir.path().join("layout.geojson");
    let solved = run_entmoot(
        data_dir.path(),
        &env,
        &[
            "solve",
            "--site",
            fixture("rural_demo.kml").to_str().expect("path"),
            "--program",
            fixture("programs/three_buildings_ft.json")
                .to_str()
                .expect("path"),
            "--out",
            out.to_str().expect("path"),
        ],
    );
    assert!(
        solved.status.success(),
        "{}",
        String::from_utf8_lossy(&solved.stderr)
    );
    let summary: Value = serde_json::from_slice(&solved.stdout).expect("JSON summary");
    assert_eq!(summary["placed"], 3, "{summary}");
    assert!(out.is_file());
}
