//! The foundation's promises, checked on the real binary: the embedded default and
//! PostgreSQL + PostGIS + Redis serve /health, GraphiQL and projects through the same
//! code; projects survive a restart; bad configuration stops the start with one line.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;

use entmoot_tests::{FreshPostgres, TestServer, embedded_env, production_like_env, run_entmoot};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

const CREATE_PROJECT: &str = "mutation($input: CreateProjectInput!) { createProject(input: $input) { id name description createdAt } }";
const LIST_PROJECTS: &str =
    "query { projects(first: 100) { edges { node { id name } } pageInfo { hasNextPage } } }";

async fn assert_healthy(server: &TestServer, database_backend: &str, queue_backend: &str) {
    let response = server.get("/health").await.expect("GET /health");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("health JSON");
    assert_eq!(body["status"], "healthy", "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let timestamp = body["timestamp"].as_str().expect("timestamp");
    chrono::DateTime::parse_from_rfc3339(timestamp).expect("RFC 3339 timestamp");
    assert_eq!(
        body["checks"]["database"]["backend"], database_backend,
        "{body}"
    );
    assert_eq!(body["checks"]["queue"]["backend"], queue_backend, "{body}");
    assert_eq!(body["checks"]["storage"]["status"], "ok", "{body}");
}

async fn assert_graphiql_loads(server: &TestServer) {
    let response = server
        .client
        .get(format!("{}/graphql", server.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    assert!(
        page.to_lowercase().contains("graphiql"),
        "not a GraphiQL page"
    );
}

async fn create_project(server: &TestServer, name: &str) -> String {
    let body = server
        .graphql(
            CREATE_PROJECT,
            json!({"input": {"name": name, "description": "made by a test"}}),
        )
        .await
        .expect("createProject");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["createProject"]["name"], name);
    body["data"]["createProject"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn listed_project_names(server: &TestServer) -> Vec<String> {
    let body = server
        .graphql(LIST_PROJECTS, json!({}))
        .await
        .expect("projects");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["projects"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Health, GraphiQL, create, list, restart, list again.
async fn projects_survive_a_restart(
    env: &HashMap<String, String>,
    database_backend: &str,
    queue_backend: &str,
) {
    let working_dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(working_dir.path(), env)
        .await
        .expect("server starts");
    assert_healthy(&server, database_backend, queue_backend).await;
    assert_graphiql_loads(&server).await;

    let id = create_project(&server, "Solar farm north").await;
    create_project(&server, "Depot").await;
    assert_eq!(
        listed_project_names(&server).await,
        vec!["Depot", "Solar farm north"]
    );
    let fetched = server
        .graphql(
            "query($id: ID!) { project(id: $id) { name } node(id: $id) { id } }",
            json!({"id": id}),
        )
        .await
        .expect("project");
    assert_eq!(
        fetched["data"]["project"]["name"], "Solar farm north",
        "{fetched}"
    );
    assert_eq!(fetched["data"]["node"]["id"], id.as_str());
    server.stop().expect("clean stop");

    let server = TestServer::start(working_dir.path(), env)
        .await
        .expect("server restarts");
    assert_eq!(
        listed_project_names(&server).await,
        vec!["Depot", "Solar farm north"]
    );
}

#[tokio::test]
async fn embedded_default_serves_and_keeps_projects_across_restarts() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    projects_survive_a_restart(&embedded_env(data_dir.path()), "sqlite", "in-process").await;
    assert!(
        data_dir.path().join("entmoot.db").exists(),
        "SQLite file in the data directory"
    );
}

#[tokio::test]
async fn postgres_and_redis_serve_and_keep_projects_across_restarts() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, data_dir.path());

    // A server refuses a database whose schema is behind; the operator migrates.
    let refused = run_entmoot(data_dir.path(), &env, &["serve"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("entmoot migrate up"));
    let migrated = run_entmoot(data_dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    projects_survive_a_restart(&env, "postgresql", "redis").await;

    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    let geometry_type = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT udt_name FROM information_schema.columns WHERE table_name = 'buildings' AND column_name = 'geom'",
        ))
        .await
        .expect("query")
        .expect("buildings.geom exists");
    assert_eq!(
        geometry_type
            .try_get::<String>("", "udt_name")
            .expect("udt_name"),
        "geometry"
    );
    let gist = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'buildings' AND indexdef ILIKE '%USING gist (geom)%'",
        ))
        .await
        .expect("query");
    assert!(gist.is_some(), "buildings.geom has a GIST index");
}

#[tokio::test]
async fn migrations_go_down_and_up_from_the_command_line() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(data_dir.path());
    let up = run_entmoot(data_dir.path(), &env, &["migrate", "up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let status =
        String::from_utf8_lossy(&run_entmoot(data_dir.path(), &env, &["migrate", "status"]).stdout)
            .to_string();
    assert!(
        status.lines().count() >= 2 && status.lines().all(|line| line.starts_with("applied")),
        "{status}"
    );
    let down = run_entmoot(
        data_dir.path(),
        &env,
        &["migrate", "down", "--steps", "100"],
    );
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let status =
        String::from_utf8_lossy(&run_entmoot(data_dir.path(), &env, &["migrate", "status"]).stdout)
            .to_string();
    assert!(
        status.lines().all(|line| line.starts_with("pending")),
        "{status}"
    );
    let up = run_entmoot(data_dir.path(), &env, &["migrate", "up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
}

/// Runs `entmoot serve` with `env` and returns (success, stderr lines).
fn failed_start(extra: &[(&str, &str)]) -> (bool, Vec<String>) {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    env.entry("API_PORT".into()).or_insert_with(|| "0".into());
    let output = run_entmoot(data_dir.path(), &env, &["serve"]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (
        output.status.success(),
        stderr.lines().map(str::to_owned).collect(),
    )
}

fn assert_one_error_line(extra: &[(&str, &str)], expected: &[&str]) -> Vec<String> {
    let (success, lines) = failed_start(extra);
    assert!(!success, "start should fail for {extra:?}");
    let errors: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("entmoot: error:"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly one error line for {extra:?}: {lines:?}"
    );
    for fragment in expected {
        assert!(
            errors[0].contains(fragment),
            "`{}` should mention `{fragment}`",
            errors[0]
        );
    }
    lines
}

#[test]
fn bad_configuration_stops_the_start_with_one_line() {
    assert_one_error_line(
        &[("API_PORT", "notaport")],
        &["API_PORT", "notaport", "0 to 65535"],
    );
    assert_one_error_line(
        &[("STORAGE_PROVIDER", "dropbox")],
        &[
            "STORAGE_PROVIDER",
            "dropbox",
            "local, memory, aws, gcp or azure",
        ],
    );
    // A short pool timeout: sqlx retries a refused connection until it expires.
    let wrong_database = [
        (
            "DATABASE_URL",
            "postgres://nobody:hunter2@127.0.0.1:1/entmoot",
        ),
        ("SECRET_KEY", entmoot_tests::TEST_SECRET_KEY),
        ("DATABASE_POOL_TIMEOUT", "2"),
    ];
    let lines = assert_one_error_line(&wrong_database, &["DATABASE_URL", "cannot connect"]);
    assert!(
        lines.iter().all(|line| !line.contains("hunter2")),
        "the password is never printed: {lines:?}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    assert_one_error_line(&[("API_PORT", port.as_str())], &["cannot listen", &port]);
}

#[test]
fn flags_override_the_environment() {
    // The variable is valid and the flag is not: the error proves the flag won, and it is
    // the variable's own check (workers from 1 to 1024) that refuses it.
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert("API_WORKERS".into(), "2".into());
    let output = run_entmoot(data_dir.path(), &env, &["--workers", "0", "serve"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("API_WORKERS=\"0\""), "{stderr}");

    // A malformed flag is refused by its type before anything starts, naming the flag.
    let output = run_entmoot(data_dir.path(), &env, &["--port", "99999", "serve"]);
    assert_eq!(output.status.code(), Some(2), "clap's usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'99999'") && stderr.contains("--port"),
        "{stderr}"
    );

    // An enumerated flag takes the variable's spellings, in any case.
    let output = run_entmoot(
        data_dir.path(),
        &env,
        &[
            "--log-level",
            "WARNING",
            "--storage-provider",
            "fs",
            "migrate",
            "status",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
