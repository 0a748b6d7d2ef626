//! Job dispatch benchmark (BENCHMARKS.md, "Job dispatch"): throughput of small
//! jobs with 1, 2 and 3 worker processes on PostgreSQL + Redis, and how long the job of
//! a SIGKILLed worker waits before another worker takes it over.
//!
//! Run: `cargo build --workspace --release && cargo bench -p entmoot-tests --bench job_dispatch`
//! (with the services of `tests/run --services` in the environment). The bench runs the
//! `entmoot` binary and plugins of the release build in the same target directory;
//! `ENTMOOT_BIN` points it at another binary.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, PrivateRedis, TestServer, TestWorker, json_fixture, production_like_env,
    run_entmoot, rural_demo_boundary,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

const JOBS_PER_RUN: usize = 100;
const RUNS: usize = 3;

async fn count(connection: &DatabaseConnection, sql: &str) -> i64 {
    connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("count")
}

struct Stack {
    _database: FreshPostgres,
    _redis: PrivateRedis,
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    api: TestServer,
    connection: DatabaseConnection,
    site_id: String,
}

async fn stack(lease_seconds: u32) -> Stack {
    let database = FreshPostgres::create().await.expect("PostgreSQL");
    let redis = PrivateRedis::start().expect("redis");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, dir.path());
    env.insert("REDIS_URL".into(), redis.url());
    env.insert(
        "ENTMOOT_JOB_LEASE_SECONDS".into(),
        lease_seconds.to_string(),
    );
    env.insert("MAX_CONCURRENT_JOBS".into(), "2".into());
    // One client submits everything: the API's rate limits are not what is measured.
    env.insert("ENTMOOT_RATE_LIMIT_PER_KEY".into(), "0".into());
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "0".into());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success());
    let api = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("api");
    let project = api
        .graphql(
            "mutation { createProject(input: {name: \"Bench\"}) { id } }",
            json!({}),
        )
        .await
        .expect("project");
    let site = api
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
            json!({"input": {"projectId": project["data"]["createProject"]["id"], "name": "Rural demo", "boundary": rural_demo_boundary()}}),
        )
        .await
        .expect("site");
    let site_id = site["data"]["createSite"]["id"]
        .as_str()
        .expect("site")
        .to_owned();
    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    Stack {
        _database: database,
        _redis: redis,
        dir,
        env,
        api,
        connection,
        site_id,
    }
}

async fn submit(
    stack: &Stack,
    program: &serde_json::Value,
    strategy: Option<&str>,
    time_limit: Option<i32>,
) {
    let body = stack
        .api
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": stack.site_id, "program": program, "strategy": strategy, "timeLimitSeconds": time_limit}}),
        )
        .await
        .expect("createJob");
    assert!(body.get("errors").is_none(), "{body}");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let program = json_fixture("programs/three_buildings_ft.json");
    println!(
        "jobs per minute, {JOBS_PER_RUN} small jobs (rural demo, 3 buildings), median of {RUNS} runs:"
    );
    for workers in 1..=3 {
        let mut rates = Vec::new();
        // Submission is inside the measured window; its own rate says whether it, rather
        // than the workers, is the limit.
        let mut submission_rates = Vec::new();
        for _ in 0..RUNS {
            let stack = stack(30).await;
            let _workers: Vec<TestWorker> = (0..workers)
                .map(|_| TestWorker::start(stack.dir.path(), &stack.env).expect("worker"))
                .collect();
            tokio::time::sleep(Duration::from_secs(1)).await;
            let started = Instant::now();
            for _ in 0..JOBS_PER_RUN {
                submit(&stack, &program, None, None).await;
            }
            submission_rates.push(JOBS_PER_RUN as f64 / started.elapsed().as_secs_f64() * 60.0);
            while count(
                &stack.connection,
                "SELECT count(*) FROM jobs WHERE status = 'succeeded'",
            )
            .await
                < JOBS_PER_RUN as i64
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            rates.push(JOBS_PER_RUN as f64 / started.elapsed().as_secs_f64() * 60.0);
        }
        println!(
            "  {workers} worker(s): {:.0} jobs/min (runs: {:?}); submission alone {:.0} jobs/min (runs: {:?})",
            median(rates.clone()),
            rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
            median(submission_rates.clone()),
            submission_rates
                .iter()
                .map(|r| r.round())
                .collect::<Vec<_>>()
        );
    }

    // Takeover: a long job (the improving `anneal` strategy searches until its 20 s
    // limit), its worker killed while it runs; measure until another worker holds it.
    let lease = 2;
    let mut waits = Vec::new();
    let crowded = json!({"units": "m", "setback": 5, "min_spacing": 1, "max_coverage": 0.9,
        "assets": [{"name": "Cell", "type": "building", "width": 2, "length": 2, "quantity": 200}]});
    for _ in 0..RUNS {
        let stack = stack(lease).await;
        let mut first = TestWorker::start(stack.dir.path(), &stack.env).expect("worker");
        submit(&stack, &crowded, Some("anneal"), Some(20)).await;
        while count(
            &stack.connection,
            "SELECT count(*) FROM jobs WHERE status = 'running'",
        )
        .await
            == 0
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _second = TestWorker::start(stack.dir.path(), &stack.env).expect("worker");
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.kill().expect("SIGKILL");
        let killed = Instant::now();
        while count(
            &stack.connection,
            "SELECT count(*) FROM jobs WHERE attempts >= 2 AND status = 'running'",
        )
        .await
            == 0
        {
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "no takeover within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        waits.push(killed.elapsed().as_secs_f64());
    }
    println!(
        "takeover after SIGKILL with a {lease} s lease: median {:.2} s (runs: {:?})",
        median(waits.clone()),
        waits
            .iter()
            .map(|w| (w * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
}
