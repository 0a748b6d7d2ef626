//! The operational scripts of deploy/scripts against the local PostGIS:
//! migrate.sh (`migrate.sh production` of docs/deployment.md, which backs up first), a job run
//! that fills the tables (buildings among them), backup-database.sh, dropping the
//! database, restore-database.sh into the same name, identical row counts, and
//! create-indices.sql applied twice.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, entmoot_binary, graphql_ok, json_fixture, postgres_admin_url,
    production_like_env, repository_root, rural_demo_boundary,
};
use serde_json::json;

/// Host, port, user and database of a postgres:// URL (the test URLs carry no password).
struct Connection {
    host: String,
    port: String,
    user: String,
    database: String,
}

fn parse_url(url: &str) -> Connection {
    let rest = url.split_once("://").map(|(_, rest)| rest).expect("a URL");
    let (authority, database) = rest.split_once('/').expect("a database");
    let (user, host_port) = authority
        .rsplit_once('@')
        .unwrap_or(("postgres", authority));
    let user = user.split(':').next().unwrap_or("postgres").to_owned();
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
    Connection {
        host: host.to_owned(),
        port: port.to_owned(),
        user,
        database: database.split('?').next().unwrap_or_default().to_owned(),
    }
}

fn script(name: &str) -> PathBuf {
    repository_root().join("deploy/scripts").join(name)
}

fn run(mut command: Command) -> Output {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn script_command(name: &str, connection: &Connection, working_dir: &Path) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(script(name))
        .current_dir(working_dir)
        .env("DB_PORT", &connection.port)
        .env("DB_USER", &connection.user)
        .env_remove("PGPASSWORD")
        .env_remove("BACKUP_S3_URI");
    command
}

fn psql(connection: &Connection, database: &str, sql: &str) -> String {
    let output = run({
        let mut command = Command::new("psql");
        command.args([
            "-h",
            &connection.host,
            "-p",
            &connection.port,
            "-U",
            &connection.user,
            "-d",
            database,
            "--no-password",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ]);
        command
    });
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Exact row counts of every table of the public schema.
fn row_counts(connection: &Connection, database: &str) -> BTreeMap<String, i64> {
    let tables = psql(
        connection,
        database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    tables
        .lines()
        .map(|table| {
            let count = psql(
                connection,
                database,
                &format!("SELECT count(*) FROM \"{table}\""),
            );
            (table.to_owned(), count.parse().expect("a count"))
        })
        .collect()
}

/// Runs the rural demo job to completion: a project, a site, a job, layouts, buildings.
async fn fill_with_a_job(env: &HashMap<String, String>, data_dir: &Path) {
    let server = TestServer::start(data_dir, env).await.expect("server");
    let project = graphql_ok(
        &server,
        "mutation { createProject(input: {name: \"Backup\"}) { id } }",
        json!({}),
    )
    .await;
    let site = graphql_ok(
        &server,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
        json!({"input": {"projectId": project["createProject"]["id"], "name": "Rural demo", "boundary": rural_demo_boundary()}}),
    )
    .await;
    let job = graphql_ok(
        &server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
        json!({"input": {"siteId": site["createSite"]["id"], "program": json_fixture("programs/three_buildings_ft.json")}}),
    )
    .await;
    let job_id = job["createJob"]["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let data = graphql_ok(
            &server,
            "query($id: ID!) { job(id: $id) { status } }",
            json!({"id": job_id}),
        )
        .await;
        if data["job"]["status"] == "SUCCEEDED" {
            break;
        }
        assert_ne!(data["job"]["status"], "FAILED", "{data}");
        assert!(Instant::now() < deadline, "the job did not finish: {data}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().expect("the server stops");
}

#[tokio::test]
async fn backup_drop_and_restore_keep_every_row() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let connection = parse_url(&database.url);
    let work = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, work.path());

    // The release step of docs/deployment.md: backup (of the empty database), migrate, verify.
    let output = run({
        let mut command = script_command("migrate.sh", &connection, work.path());
        command
            .args(["production", &connection.host])
            .env("DB_NAME", &connection.database)
            .env("DATABASE_URL", &database.url)
            .env("ENTMOOT_BIN", entmoot_binary());
        command
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Creating backup..."), "{stdout}");
    assert!(stdout.contains("Done!"), "{stdout}");
    assert!(!stdout.contains("pending"), "{stdout}");

    fill_with_a_job(&env, work.path()).await;
    let before = row_counts(&connection, &connection.database);
    assert_eq!(before.get("buildings"), Some(&3), "{before:?}");
    assert!(before.get("layouts").is_some_and(|n| *n >= 1), "{before:?}");

    // Back up.
    let backups = work.path().join("nightly");
    let output = run({
        let mut command = script_command("backup-database.sh", &connection, work.path());
        command
            .arg(&connection.host)
            .env("DB_NAME", &connection.database)
            .env("BACKUP_DIR", &backups)
            .env("BACKUP_S3_URI", "");
        command
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let file = stdout
        .lines()
        .find_map(|line| line.strip_prefix("Backup completed: "))
        .unwrap_or_else(|| panic!("no 'Backup completed' line:\n{stdout}"))
        .to_owned();
    let file = if Path::new(&file).is_absolute() {
        PathBuf::from(file)
    } else {
        work.path().join(file)
    };
    assert!(file.metadata().expect("the backup file").len() > 0);
    assert!(
        backups.join("latest.sql").exists(),
        "latest.sql points at it"
    );

    // Drop.
    entmoot_migrations::drop_database(&postgres_admin_url(), &connection.database)
        .await
        .expect("drop");
    let gone = psql(
        &connection,
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{}'",
            connection.database
        ),
    );
    assert_eq!(gone, "0");

    // Restore into the same name.
    let output = run({
        let mut command = script_command("restore-database.sh", &connection, work.path());
        command
            .arg(&file)
            .arg(&connection.host)
            .env("RESTORE_DB_NAME", &connection.database);
        command
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("buildings 3"), "{stdout}");
    assert!(stdout.contains("Restore completed."), "{stdout}");

    let after = row_counts(&connection, &connection.database);
    assert_eq!(
        before, after,
        "every table has the same rows after the restore"
    );
    let valid = psql(
        &connection,
        &connection.database,
        "SELECT bool_and(ST_IsValid(geom)) FROM buildings",
    );
    assert_eq!(valid, "t", "PostGIS geometries survive the round trip");

    // Restoring over an existing database is refused.
    let mut again = script_command("restore-database.sh", &connection, work.path());
    again
        .arg(&file)
        .arg(&connection.host)
        .env("RESTORE_DB_NAME", &connection.database);
    let refused = again.output().expect("runs");
    assert!(
        !refused.status.success(),
        "the restore must not overwrite a database"
    );

    // The restored database is current for this binary.
    let status = run({
        let mut command = Command::new(entmoot_binary());
        command
            .args(["migrate", "status"])
            .current_dir(work.path())
            .env("DATABASE_URL", &database.url);
        command
    });
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(!status.contains("pending"), "{status}");

    // create-indices.sql is idempotent on the restored schema.
    for _ in 0..2 {
        run({
            let mut command = Command::new("psql");
            command
                .args([
                    "-h",
                    &connection.host,
                    "-p",
                    &connection.port,
                    "-U",
                    &connection.user,
                    "-d",
                    &connection.database,
                    "--no-password",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-q",
                    "-f",
                ])
                .arg(script("create-indices.sql"));
            command
        });
    }
    let index = psql(
        &connection,
        &connection.database,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_unfinished_created_at_idx'",
    );
    assert!(index.contains("WHERE"), "a partial index: {index}");
}
