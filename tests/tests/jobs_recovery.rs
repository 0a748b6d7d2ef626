//! Jobs that always finish, one defect of issue 16 per test, seen from outside:
//! a cancel whose worker died ends the job at the latest when its lease expires; an
//! operator can end or delete any job; workers heal a Redis that lost its data
//! without a restart; a queued job whose dispatch was lost runs within seconds;
//! subscribers see each job's events once and in order, also across a Redis restart;
//! history keeps every attempt (lost, handed back) and attempts never exceed the
//! maximum. PostgreSQL + a private Redis where Redis matters, SQLite otherwise.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, PrivateRedis, TestServer, TestWorker, create_project, create_site, embedded_env,
    graphql_ok, production_like_env, redis_cli, run_entmoot, rural_demo_boundary,
    submit_three_buildings, subscribe,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

/// Short leases, so that a takeover comes within seconds.
const LEASE_SECONDS: u64 = 2;

async fn job(server: &TestServer, id: &str) -> Value {
    graphql_ok(
        server,
        "query($id: ID!) { job(id: $id) { status error attempts maxAttempts cancelRequested history } }",
        json!({"id": id}),
    )
    .await["job"]
        .clone()
}

/// Polls until the job's status is `status`; returns the job and how long it took.
async fn wait_for_status(
    server: &TestServer,
    id: &str,
    status: &str,
    within: Duration,
) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let current = job(server, id).await;
        if current["status"] == status {
            return (current, started.elapsed());
        }
        assert!(
            started.elapsed() < within,
            "not {status} within {within:?}: {current}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An annealing job that runs until its time limit (60 s) unless stopped.
async fn submit_long_job(server: &TestServer, site: &str) -> String {
    let program = json!({"units": "ft", "setback": 20, "min_spacing": 10,
        "assets": [{"name": "Warehouse", "type": "building", "width": 60, "length": 80, "quantity": 60}]});
    graphql_ok(
        server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
        json!({"input": {"siteId": site, "program": program, "strategy": "anneal", "timeLimitSeconds": 60,
            // No iteration cap and no patience: the job runs until its time limit, not until
            // its chains stop improving (seconds on a fast machine).
            "parameters": {"iterations": 0, "patience": 0}}}),
    )
    .await["createJob"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// PostgreSQL, a private Redis, migrated; the environment every process shares.
struct Cluster {
    database: FreshPostgres,
    redis: PrivateRedis,
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

async fn cluster(extra: &[(&str, &str)]) -> Cluster {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let redis = PrivateRedis::start().expect("redis-server");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, dir.path());
    env.insert("REDIS_URL".into(), redis.url());
    env.insert(
        "ENTMOOT_JOB_LEASE_SECONDS".into(),
        LEASE_SECONDS.to_string(),
    );
    for (name, value) in extra {
        env.insert((*name).into(), (*value).into());
    }
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    Cluster {
        database,
        redis,
        dir,
        env,
    }
}

impl Cluster {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn api(&self) -> TestServer {
        TestServer::start_with_args(self.path(), &self.env, &["--no-worker"])
            .await
            .expect("serve --no-worker")
    }

    fn worker(&self) -> TestWorker {
        TestWorker::start(self.path(), &self.env).expect("worker")
    }

    async fn connection(&self) -> DatabaseConnection {
        Database::connect(self.database.url.as_str())
            .await
            .expect("connect")
    }

    fn prefix(&self) -> &str {
        &self.env["ENTMOOT_REDIS_PREFIX"]
    }
}

async fn execute(connection: &DatabaseConnection, sql: &str) -> u64 {
    connection
        .execute_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .expect(sql)
        .rows_affected()
}

async fn worker_of(connection: &DatabaseConnection, job_uuid: &str) -> Option<String> {
    connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            format!("SELECT worker_id FROM jobs WHERE id = '{job_uuid}'"),
        ))
        .await
        .expect("query")
        .and_then(|row| row.try_get_by_index::<Option<String>>(0).ok().flatten())
}

/// The UUID inside a Job's global id.
fn uuid_of(global_id: &str) -> String {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global_id)
        .expect("base64");
    String::from_utf8(decoded)
        .expect("utf-8")
        .trim_start_matches("Job:")
        .to_owned()
}

fn outcomes(job: &Value) -> Vec<String> {
    job["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry["outcome"].as_str().expect("outcome").to_owned())
        .collect()
}

/// Issue 16, defect 1: the worker of a running job is killed, the job is cancelled
/// within its lease (the answer: still running, cancel requested), and a new worker
/// comes. The takeover of the expired lease ends it cancelled instead of skipping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_whose_worker_was_killed_ends_the_job_when_its_lease_expires() {
    let cluster = cluster(&[]).await;
    let api = cluster.api().await;
    let mut worker = cluster.worker();
    let project = create_project(&api, "Cancel").await;
    let site = create_site(&api, &project, "Site", rural_demo_boundary()).await;
    let id = submit_long_job(&api, &site).await;
    wait_for_status(&api, &id, "RUNNING", Duration::from_secs(30)).await;

    worker.kill().expect("SIGKILL");
    let cancel = graphql_ok(
        &api,
        "mutation($id: ID!) { cancelJob(id: $id) { status cancelRequested } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(cancel["cancelJob"]["cancelRequested"], true, "{cancel}");
    let _replacement = cluster.worker();
    // The lease (2 s) plus one recovery pass (1 s) plus margin.
    let (ended, after) = wait_for_status(&api, &id, "CANCELLED", Duration::from_secs(15)).await;
    println!("cancelled {after:?} after the cancel request (lease {LEASE_SECONDS} s)");
    assert_eq!(ended["attempts"], 1, "{ended}");
    assert_eq!(outcomes(&ended), ["worker_lost"], "{ended}");
    assert!(
        ended["error"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "{ended}"
    );
}

/// Issue 16, defect 1 on SQLite, and the operator's way out: a job left running by a
/// worker that is gone and asked to stop ends cancelled at the next recovery pass; an
/// operator ends a job a (fake, live-looking) worker holds and deletes another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_an_abandoned_cancelled_job_ends_and_an_operator_ends_or_deletes_any_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert(
        "ENTMOOT_JOB_LEASE_SECONDS".into(),
        LEASE_SECONDS.to_string(),
    );
    // Jobs are created without a worker, then made to look abandoned.
    let server = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("serve --no-worker");
    let project = create_project(&server, "Stuck").await;
    let site = create_site(&server, &project, "Site", rural_demo_boundary()).await;
    let abandoned = submit_three_buildings(&server, &site).await;
    let held = submit_three_buildings(&server, &site).await;
    let doomed = submit_three_buildings(&server, &site).await;
    server.stop().expect("stop");

    let connection = Database::connect(format!(
        "sqlite://{}?mode=rw",
        dir.path().join("entmoot.db").display()
    ))
    .await
    .expect("open SQLite");
    let a_minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for (job, lease, cancel) in [
        (&abandoned, &a_minute_ago, true),
        (&held, &in_an_hour, false),
        (&doomed, &in_an_hour, false),
    ] {
        let changed = execute(
            &connection,
            &format!(
                "UPDATE jobs SET status = 'running', worker_id = 'gone-1-deadbeef', attempts = 1, \
                 started_at = '{a_minute_ago}', lease_expires_at = '{lease}', cancel_requested = {} \
                 WHERE id = X'{}'",
                i32::from(cancel),
                // sqlx stores a UUID on SQLite as its 16 bytes.
                uuid_of(job).replace('-', "")
            ),
        )
        .await;
        assert_eq!(changed, 1);
    }
    drop(connection);

    // With its in-process worker, whose recovery passes every second.
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let (ended, _) =
        wait_for_status(&server, &abandoned, "CANCELLED", Duration::from_secs(10)).await;
    assert_eq!(outcomes(&ended), ["worker_lost"], "{ended}");
    assert_eq!(job(&server, &held).await["status"], "RUNNING");

    // A job a live-looking worker holds cannot be deleted, but it can be ended.
    let refused = run_entmoot(dir.path(), &env, &["admin", "jobs", "delete", &held]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("end it first"),
        "{refused:?}"
    );
    let listed = run_entmoot(dir.path(), &env, &["admin", "jobs", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains(&uuid_of(&held)), "{listed}");
    let end = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "jobs",
            "end",
            &held,
            "--reason",
            "its worker is gone",
        ],
    );
    assert!(end.status.success(), "{end:?}");
    let ended = job(&server, &held).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    assert_eq!(
        ended["error"], "ended by an operator: its worker is gone",
        "{ended}"
    );
    assert_eq!(outcomes(&ended), ["ended_by_operator"], "{ended}");
    let again = run_entmoot(dir.path(), &env, &["admin", "jobs", "end", &held]);
    assert!(!again.status.success(), "an ended job is not ended twice");

    let end = run_entmoot(
        dir.path(),
        &env,
        &["admin", "jobs", "end", &uuid_of(&doomed)],
    );
    assert!(end.status.success(), "{end:?}");
    let deleted = run_entmoot(dir.path(), &env, &["admin", "jobs", "delete", &doomed]);
    assert!(deleted.status.success(), "{deleted:?}");
    let gone = server
        .graphql(
            "query($id: ID!) { job(id: $id) { id } }",
            json!({"id": doomed}),
        )
        .await
        .expect("job");
    assert_eq!(
        gone["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{gone}"
    );
}

/// Issue 16, defect 2: Redis restarts without persistence while a worker runs. The
/// same worker process takes the next job within seconds (it recreates the consumer
/// group itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_heals_a_redis_that_lost_its_data() {
    let mut cluster = cluster(&[]).await;
    let api = cluster.api().await;
    let mut worker = cluster.worker();
    let project = create_project(&api, "Redis").await;
    let site = create_site(&api, &project, "Site", rural_demo_boundary()).await;
    let first = submit_three_buildings(&api, &site).await;
    wait_for_status(&api, &first, "SUCCEEDED", Duration::from_secs(30)).await;

    cluster.redis.restart().expect("restart Redis");
    let restarted = Instant::now();
    let second = submit_three_buildings(&api, &site).await;
    let (_, _) = wait_for_status(&api, &second, "SUCCEEDED", Duration::from_secs(20)).await;
    println!(
        "a job submitted right after the Redis restart succeeded {:?} after it",
        restarted.elapsed()
    );
    assert!(!worker.has_exited(), "the same worker process did it");
    assert!(
        worker.log().contains("consumer group is gone"),
        "the worker saw the group missing and recreated it:\n{}",
        worker.log()
    );
}

/// Issue 16, defect 3: one queued job's stream entry went to a consumer that died
/// before acknowledging it (with three stray entries), another's entry is lost
/// (deleted), so the stream holds more entries than there are queued jobs. A worker
/// started afterwards runs both within seconds: dispatch is reconciled from the
/// database, not from the stream's length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_whose_dispatch_was_lost_runs_within_seconds() {
    let cluster = cluster(&[]).await;
    let api = cluster.api().await;
    let project = create_project(&api, "Dispatch").await;
    let site = create_site(&api, &project, "Site", rural_demo_boundary()).await;
    let stream = format!("{}:jobs", cluster.prefix());
    let url = cluster.redis.url();

    let taken = submit_three_buildings(&api, &site).await;
    for _ in 0..3 {
        redis_cli(
            &url,
            &[
                "XADD",
                &stream,
                "*",
                "job_id",
                &uuid::Uuid::new_v4().to_string(),
            ],
        );
    }
    // A consumer that reads every entry and dies without acknowledging them: the
    // stream keeps 4 entries, more than the 2 queued jobs, until they are reclaimed.
    let read = redis_cli(
        &url,
        &[
            "XREADGROUP",
            "GROUP",
            "entmoot-workers",
            "dead-worker",
            "COUNT",
            "10",
            "STREAMS",
            &stream,
            ">",
        ],
    );
    assert!(read.contains(&uuid_of(&taken)), "{read}");
    let lost = submit_three_buildings(&api, &site).await;
    let entries = redis_cli(&url, &["XRANGE", &stream, "-", "+"]);
    let lost_entry = entries
        .lines()
        .collect::<Vec<_>>()
        .windows(3)
        .find(|window| window[2].contains(&uuid_of(&lost)))
        .map(|window| window[0].to_owned())
        .expect("the lost job's entry");
    redis_cli(&url, &["XDEL", &stream, &lost_entry]);
    assert_eq!(redis_cli(&url, &["XLEN", &stream]).trim(), "4");

    let worker = cluster.worker();
    // The bound is on recovery, not on how long a worker takes to start (its plugins' sandbox
    // handshakes take seconds on a loaded machine): the clock starts once it is up.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !worker.log().contains("worker started") {
        assert!(
            Instant::now() < deadline,
            "the worker never started: {}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let (_, first) = wait_for_status(&api, &lost, "SUCCEEDED", Duration::from_secs(15)).await;
    let (_, second) = wait_for_status(&api, &taken, "SUCCEEDED", Duration::from_secs(15)).await;
    println!(
        "lost dispatch ran {first:?}, stolen one {second:?} after the wait began ({:?} in all)",
        started.elapsed()
    );
}

fn terminal(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "CANCELLED")
}

/// Checks what a `jobUpdates` subscriber received: per job, sequences strictly
/// increasing, `QUEUED` first, progress of an attempt never going back, exactly one
/// terminal event, which is the last.
fn assert_each_job_once_and_in_order(events: &[Value], jobs: &[String]) {
    let mut by_job: HashMap<&str, Vec<&Value>> = HashMap::new();
    for event in events {
        by_job
            .entry(event["jobId"].as_str().expect("jobId"))
            .or_default()
            .push(event);
    }
    for job in jobs {
        let seen = by_job
            .get(job.as_str())
            .unwrap_or_else(|| panic!("no event of {job}"));
        assert_eq!(seen[0]["status"], "QUEUED", "{job}: {seen:?}");
        for pair in seen.windows(2) {
            assert!(
                pair[1]["sequence"].as_i64() > pair[0]["sequence"].as_i64(),
                "{job}: sequence does not increase: {seen:?}"
            );
            if pair[0]["status"] == "RUNNING" && pair[1]["status"] == "RUNNING" {
                assert!(
                    pair[1]["percent"].as_f64() >= pair[0]["percent"].as_f64(),
                    "{job}: progress went back: {seen:?}"
                );
            }
        }
        let ends = seen
            .iter()
            .filter(|event| terminal(event["status"].as_str().unwrap_or_default()))
            .count();
        assert_eq!(ends, 1, "{job}: {seen:?}");
        assert!(
            terminal(seen.last().unwrap()["status"].as_str().unwrap()),
            "{job}: the end is the last event: {seen:?}"
        );
    }
}

/// Issue 16, defects 4 and 5: a `jobUpdates` subscriber sees each job's events once
/// and in order (`QUEUED` first, sequences increasing, one end), also when Redis
/// restarts while a job reports progress (the resynchronisation never rewinds it and
/// never repeats an end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_each_jobs_events_once_and_in_order_across_a_redis_restart() {
    let mut cluster = cluster(&[("MAX_CONCURRENT_JOBS", "4")]).await;
    let api = cluster.api().await;
    let _worker = cluster.worker();
    let project = create_project(&api, "Order").await;
    let site = create_site(&api, &project, "Site", rural_demo_boundary()).await;
    let mut updates = subscribe(
        &api,
        "subscription($p: ID!) { jobUpdates(projectId: $p) { jobId status sequence percent } }",
        json!({"p": project}),
    )
    .await
    .expect("jobUpdates");
    let mut jobs = Vec::new();
    for _ in 0..8 {
        jobs.push(submit_three_buildings(&api, &site).await);
    }
    let long = graphql_ok(
        &api,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
        json!({"input": {"siteId": site, "strategy": "anneal", "timeLimitSeconds": 6,
            "program": {"units": "ft", "setback": 20, "min_spacing": 10,
                "assets": [{"name": "Warehouse", "type": "building", "width": 60, "length": 80, "quantity": 40}]}}}),
    )
    .await["createJob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    jobs.push(long.clone());
    wait_for_status(&api, &long, "RUNNING", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.redis.restart().expect("restart Redis");
    for id in &jobs {
        wait_for_status(&api, id, "SUCCEEDED", Duration::from_secs(60)).await;
    }
    // Late repeats (none expected) would come within the reconciliation period.
    let mut events = Vec::new();
    let quiet_until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < quiet_until {
        match tokio::time::timeout(Duration::from_millis(200), updates.recv()).await {
            Ok(Some(payload)) => events.push(payload["data"]["jobUpdates"].clone()),
            Ok(None) => panic!("the subscription closed"),
            Err(_) => {}
        }
    }
    assert_each_job_once_and_in_order(&events, &jobs);
}

/// Issue 16, defect 6, and the hand-back: with ENTMOOT_JOB_MAX_ATTEMPTS=2, a job whose
/// workers are killed twice is dead-lettered at its second takeover with attempts 2 of
/// 2 and both lost attempts in its history; a job whose worker is stopped (SIGTERM)
/// while it runs is handed back (recorded, attempt not counted) and runs elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_keeps_lost_and_handed_back_attempts_and_attempts_never_exceed_the_maximum() {
    let cluster = cluster(&[("ENTMOOT_JOB_MAX_ATTEMPTS", "2")]).await;
    let api = cluster.api().await;
    let connection = cluster.connection().await;
    let project = create_project(&api, "History").await;
    let site = create_site(&api, &project, "Site", rural_demo_boundary()).await;

    let doomed = submit_long_job(&api, &site).await;
    for attempt in 1..=2 {
        let mut worker = cluster.worker();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Running on this worker (its id holds the pid), not on the one killed before.
        while !worker_of(&connection, &uuid_of(&doomed))
            .await
            .is_some_and(|id| id.contains(&format!("-{}-", worker.pid())))
        {
            assert!(Instant::now() < deadline, "attempt {attempt} never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worker.kill().expect("SIGKILL");
    }
    let last = cluster.worker();
    let (failed, _) = wait_for_status(&api, &doomed, "FAILED", Duration::from_secs(15)).await;
    drop(last);
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert_eq!(failed["maxAttempts"], 2, "{failed}");
    assert_eq!(
        outcomes(&failed),
        ["worker_lost", "worker_lost"],
        "{failed}"
    );
    assert!(
        failed["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("dead-lettered"),
        "{failed}"
    );

    // SIGTERM: the worker waits its grace period (20 s), then hands the job back.
    let stopping = cluster.worker();
    let handed = submit_long_job(&api, &site).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !worker_of(&connection, &uuid_of(&handed))
        .await
        .is_some_and(|id| id.contains(&format!("-{}-", stopping.pid())))
    {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stopping.signal_terminate().expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let current = job(&api, &handed).await;
        if outcomes(&current) == ["handed_back"] {
            assert_eq!(current["status"], "QUEUED", "{current}");
            assert_eq!(
                current["attempts"], 0,
                "the attempt was given back: {current}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not handed back: {current}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _next = cluster.worker();
    wait_for_status(&api, &handed, "RUNNING", Duration::from_secs(15)).await;
    let cancel = graphql_ok(
        &api,
        "mutation($id: ID!) { cancelJob(id: $id) { id } }",
        json!({"id": handed}),
    )
    .await;
    assert!(cancel["cancelJob"]["id"].is_string());
    let (ended, _) = wait_for_status(&api, &handed, "CANCELLED", Duration::from_secs(10)).await;
    assert_eq!(outcomes(&ended), ["handed_back", "cancelled"], "{ended}");
    assert_eq!(ended["attempts"], 1, "{ended}");
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Not a check but a measurement for BENCHMARKS.md (run by hand, `--ignored`): how long
/// after its worker is SIGKILLed a running job runs on another worker (takeover), and
/// how long after Redis restarts without persistence a job submitted at once succeeds
/// on the same worker (recovery). `ENTMOOT_BENCH_LEASE_SECONDS` sets the lease
/// (default 30, the production default); `ENTMOOT_BENCH_RUNS` the runs (default 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md, minutes long with the default lease"]
async fn measure_takeover_and_redis_recovery_times() {
    let lease = std::env::var("ENTMOOT_BENCH_LEASE_SECONDS").unwrap_or_else(|_| "30".into());
    let runs: usize = std::env::var("ENTMOOT_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(3);
    let mut cluster = cluster(&[("ENTMOOT_JOB_LEASE_SECONDS", lease.as_str())]).await;
    let api = cluster.api().await;
    let connection = cluster.connection().await;
    let project = create_project(&api, "Bench").await;
    let site = create_site(&api, &project, "Site", rural_demo_boundary()).await;
    let (mut takeovers, mut recoveries) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let mut worker = cluster.worker();
        let id = submit_long_job(&api, &site).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !worker_of(&connection, &uuid_of(&id))
            .await
            .is_some_and(|owner| owner.contains(&format!("-{}-", worker.pid())))
        {
            assert!(Instant::now() < deadline, "the job never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let replacement = cluster.worker();
        // Let the replacement start before the kill: the time measured is the
        // takeover's, not a process start's.
        tokio::time::sleep(Duration::from_secs(2)).await;
        worker.kill().expect("SIGKILL");
        let killed = Instant::now();
        while !worker_of(&connection, &uuid_of(&id))
            .await
            .is_some_and(|owner| owner.contains(&format!("-{}-", replacement.pid())))
        {
            assert!(killed.elapsed() < Duration::from_secs(180), "no takeover");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        takeovers.push(killed.elapsed());
        graphql_ok(
            &api,
            "mutation($id: ID!) { cancelJob(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
        wait_for_status(&api, &id, "CANCELLED", Duration::from_secs(30)).await;

        cluster.redis.restart().expect("restart Redis");
        let restarted = Instant::now();
        let next = submit_three_buildings(&api, &site).await;
        wait_for_status(&api, &next, "SUCCEEDED", Duration::from_secs(60)).await;
        recoveries.push(restarted.elapsed());
        drop(replacement);
    }
    println!(
        "lease {lease} s: takeover after SIGKILL {takeovers:?} (median {:?}); a job submitted right after a Redis restart succeeded after {recoveries:?} (median {:?})",
        median(takeovers.clone()),
        median(recoveries.clone())
    );
}
