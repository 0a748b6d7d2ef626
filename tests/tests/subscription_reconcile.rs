//! A job that ends without an event (its worker was killed between storing the end and
//! publishing it) still ends for its subscribers: the process-wide check of followed
//! jobs (`graphql::ended_jobs`) finds it in the database within its 10 s period and
//! tells every `jobProgress` and `jobUpdates` subscription that follows it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use entmoot_tests::{
    FreshPostgres, TestServer, create_project, create_site, production_like_env, run_entmoot,
    rural_demo_boundary, submit_three_buildings, subscribe,
};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// The next payload within `within`, or a failure naming what was awaited.
async fn next(
    receiver: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
    within: Duration,
    what: &str,
) -> Value {
    tokio::time::timeout(within, receiver.recv())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {within:?}"))
        .unwrap_or_else(|| panic!("{what}: the subscription closed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_ends_unannounced_still_ends_for_its_subscribers() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, dir.path());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success(), "{migrated:?}");
    // No worker anywhere: the job stays queued until the database says otherwise.
    let server = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("serve");
    let project = create_project(&server, "Unannounced").await;
    let site = create_site(&server, &project, "Site", rural_demo_boundary()).await;
    let job = submit_three_buildings(&server, &site).await;

    let mut progress = subscribe(
        &server,
        "subscription($id: ID!) { jobProgress(jobId: $id) { jobId status } }",
        json!({"id": job}),
    )
    .await
    .expect("jobProgress");
    let mut updates = subscribe(
        &server,
        "subscription($p: ID!) { jobUpdates(projectId: $p) { jobId status } }",
        json!({"p": project}),
    )
    .await
    .expect("jobUpdates");
    let first = next(
        &mut progress,
        Duration::from_secs(10),
        "jobProgress's current state",
    )
    .await;
    assert_eq!(first["data"]["jobProgress"]["status"], "QUEUED", "{first}");
    let first = next(
        &mut updates,
        Duration::from_secs(10),
        "jobUpdates's current state",
    )
    .await;
    assert_eq!(first["data"]["jobUpdates"]["status"], "QUEUED", "{first}");

    // Ended behind the bus's back, as a killed worker would leave it.
    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    let changed = connection
        .execute_raw(Statement::from_string(
            connection.get_database_backend(),
            "UPDATE jobs SET status = 'cancelled', finished_at = now()",
        ))
        .await
        .expect("update");
    assert_eq!(changed.rows_affected(), 1);

    // One check period (10 s) plus margin.
    let within = Duration::from_secs(25);
    let ended = next(&mut progress, within, "jobProgress's end").await;
    assert_eq!(
        ended["data"]["jobProgress"]["status"], "CANCELLED",
        "{ended}"
    );
    assert_eq!(ended["data"]["jobProgress"]["jobId"], job.as_str());
    let complete = next(
        &mut progress,
        Duration::from_secs(5),
        "jobProgress's completion",
    )
    .await;
    assert_eq!(complete["type"], "complete", "{complete}");
    let ended = next(&mut updates, within, "jobUpdates's end").await;
    assert_eq!(
        ended["data"]["jobUpdates"]["status"], "CANCELLED",
        "{ended}"
    );
}
