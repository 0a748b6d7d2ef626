//! Jobs survive crashes and scale out: 2 API instances and 3 worker processes on
//! PostgreSQL and a private Redis; 200 jobs submitted through GraphQL; workers are
//! killed with SIGKILL at random while they run jobs and restarted; Redis is killed and
//! restarted once. Every job must end, with exactly one stored result, and the
//! `jobUpdates` subscribers on both API instances must have seen every job finish.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, PrivateRedis, TestServer, TestWorker, json_fixture, production_like_env,
    run_entmoot, rural_demo_boundary, subscribe,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

const JOBS: usize = 200;
const WORKERS: usize = 3;

async fn scalar_i64(connection: &DatabaseConnection, sql: &str) -> i64 {
    connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("integer")
}

/// Workers (by process id) that hold a running job right now.
async fn busy_worker_pids(connection: &DatabaseConnection) -> HashSet<u32> {
    let rows = connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT DISTINCT worker_id FROM jobs WHERE status = 'running' AND worker_id IS NOT NULL",
        ))
        .await
        .expect("query");
    rows.iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        // worker ids are `host-pid-random`
        .filter_map(|id| id.rsplit('-').nth(1).and_then(|pid| pid.parse().ok()))
        .collect()
}

fn record_finished(payload: &Value, finished: &mut HashSet<String>) {
    let update = &payload["data"]["jobUpdates"];
    if matches!(
        update["status"].as_str(),
        Some("succeeded" | "failed" | "cancelled")
    ) {
        finished.insert(update["jobId"].as_str().expect("jobId").to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_jobs_survive_killed_workers_and_a_redis_restart() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let mut redis = PrivateRedis::start().expect("redis-server");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = production_like_env(&database.url, dir.path());
    env.insert("REDIS_URL".into(), redis.url());
    // Short leases so that a killed worker's job is taken over within seconds.
    env.insert("ENTMOOT_JOB_LEASE_SECONDS".into(), "2".into());
    env.insert("MAX_CONCURRENT_JOBS".into(), "4".into());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let api = [
        TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
            .await
            .expect("api 1"),
        TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
            .await
            .expect("api 2"),
    ];
    let project = api[0]
        .graphql(
            "mutation { createProject(input: {name: \"Chaos\"}) { id } }",
            json!({}),
        )
        .await
        .expect("project");
    let project_id = project["data"]["createProject"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let site = api[1]
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
            json!({"input": {"projectId": project_id, "name": "Rural demo", "boundary": rural_demo_boundary()}}),
        )
        .await
        .expect("site");
    let site_id = site["data"]["createSite"]["id"]
        .as_str()
        .expect("site id")
        .to_owned();

    let subscription = "subscription($p: ID!) { jobUpdates(projectId: $p) { jobId status } }";
    let mut subscribers = Vec::new();
    for server in &api {
        subscribers.push(
            subscribe(server, subscription, json!({"p": project_id}))
                .await
                .expect("subscribe"),
        );
    }

    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    let program = json_fixture("programs/three_buildings_ft.json");
    for index in 0..JOBS {
        let body = api[index % 2]
            .graphql(
                "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                json!({"input": {"siteId": site_id, "program": program}}),
            )
            .await
            .expect("createJob");
        assert!(body.get("errors").is_none(), "{body}");
    }
    // Workers start on a full backlog, so that there is work to interrupt: submitting
    // through GraphQL is slower than solving this small program.
    let mut workers: Vec<TestWorker> = (0..WORKERS)
        .map(|_| TestWorker::start(dir.path(), &env).expect("worker"))
        .collect();

    // Chaos: kill busy workers, restart them, and restart Redis once, while jobs run.
    let mut kills = 0;
    let mut redis_restarted = false;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(240);
    let mut finished: [HashSet<String>; 2] = [HashSet::new(), HashSet::new()];
    loop {
        for (index, subscriber) in subscribers.iter_mut().enumerate() {
            while let Ok(payload) = subscriber.try_recv() {
                record_finished(&payload, &mut finished[index]);
            }
        }
        let open = scalar_i64(
            &connection,
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')",
        )
        .await;
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} jobs still open after 240 s"
        );
        if kills < 6 {
            let busy = busy_worker_pids(&connection).await;
            if let Some(position) = workers
                .iter()
                .position(|worker| busy.contains(&worker.pid()))
            {
                workers[position].kill().expect("SIGKILL");
                workers[position] = TestWorker::start(dir.path(), &env).expect("restart worker");
                kills += 1;
            }
        }
        if !redis_restarted && kills >= 2 {
            redis.restart().expect("restart redis");
            redis_restarted = true;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(
        redis_restarted,
        "the run ended before Redis could be restarted"
    );
    assert!(
        kills >= 2,
        "workers were killed while running jobs ({kills})"
    );

    // Every job ended successfully, each with exactly one stored layout.
    assert_eq!(
        scalar_i64(&connection, "SELECT count(*) FROM jobs").await,
        JOBS as i64
    );
    assert_eq!(
        scalar_i64(
            &connection,
            "SELECT count(*) FROM jobs WHERE status = 'succeeded'"
        )
        .await,
        JOBS as i64
    );
    assert_eq!(
        scalar_i64(&connection, "SELECT count(*) FROM layouts").await,
        JOBS as i64
    );
    assert_eq!(
        scalar_i64(&connection, "SELECT count(DISTINCT job_id) FROM layouts").await,
        JOBS as i64
    );
    assert_eq!(
        scalar_i64(&connection, "SELECT count(*) FROM buildings").await,
        3 * JOBS as i64
    );
    let taken_over = scalar_i64(&connection, "SELECT count(*) FROM jobs WHERE attempts > 1").await;
    assert!(
        taken_over >= 1,
        "at least one killed worker's job was taken over by another"
    );

    // Both API instances' subscribers saw every job finish.
    let all: HashSet<String> = {
        let rows = api[0]
            .graphql(
                "query($p: ID!) { node(id: $p) { id } }",
                json!({"p": project_id}),
            )
            .await
            .expect("ping");
        assert!(rows.get("errors").is_none());
        let ids = connection
            .query_all_raw(Statement::from_string(
                connection.get_database_backend(),
                "SELECT id::text FROM jobs",
            ))
            .await
            .expect("ids");
        ids.iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("id"))
            .map(|uuid| entmoot_tests::global_id("Job", &uuid))
            .collect()
    };
    let settle = Instant::now() + Duration::from_secs(20);
    while finished.iter().any(|seen| !all.is_subset(seen)) && Instant::now() < settle {
        for (index, subscriber) in subscribers.iter_mut().enumerate() {
            while let Ok(payload) = subscriber.try_recv() {
                record_finished(&payload, &mut finished[index]);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (index, seen) in finished.iter().enumerate() {
        let missing = all.difference(seen).count();
        assert_eq!(
            missing,
            0,
            "API instance {} missed the end of {missing} job(s)",
            index + 1
        );
    }
}
