//! Jobs always finish, under the faults production sees, bounded to a few minutes so
//! that CI runs it every time: 2 API instances (`serve --no-worker`), 3 workers,
//! PostgreSQL and a private Redis; about 100 jobs (most small greedy ones, some
//! annealing ones running 2–5 s), a tenth of them cancelled shortly after submission
//! and a few more while they run.
//! Meanwhile: busy workers are SIGKILLed at random and replaced, one busy worker is
//! stopped with SIGTERM (it hands its jobs back after its grace period), one plugin
//! runner is SIGKILLed mid-run, the API instance that holds one subscriber is killed
//! (the subscriber reconnects to the other one and catches up with `since`), and Redis
//! is killed and started again without persistence.
//!
//! Asserted: every job ends within a bound after the last fault; none stores more than
//! one result; each subscriber saw each job's events in sequence and each job's end
//! once; every attempt is in the job's history and attempts never exceed the maximum.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, PrivateRedis, TestServer, TestWorker, child_pids, json_fixture,
    production_like_env, run_entmoot, rural_demo_boundary, subscribe,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

const JOBS: usize = 100;
const ANNEALING_EVERY: usize = 8;
const CANCEL_EVERY: usize = 10;
const WORKERS: usize = 3;
const SIGKILLS: usize = 5;
/// Running (annealing) jobs cancelled during the faults.
const RUNNING_CANCELS: usize = 3;
/// At least this long between two faults, so that each one meets running work and the
/// system is recovering from one when the next comes.
const FAULT_SPACING: Duration = Duration::from_millis(1500);
const MAX_ATTEMPTS: i64 = 6;
/// Every job ends within this long after the last fault (the SIGTERMed worker's grace
/// of 20 s is the longest wait among them).
const SETTLE_AFTER_LAST_FAULT: Duration = Duration::from_secs(90);

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

/// The plugin runner processes of the given workers.
fn runners_of(workers: &[TestWorker]) -> Vec<u32> {
    workers
        .iter()
        .flat_map(|worker| child_pids(worker.pid()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("entmoot-plugin"))
        })
        .collect()
}

/// What one logical subscriber (one client, perhaps over several connections) saw:
/// every event, and per connection the events in arrival order.
#[derive(Default)]
struct Seen {
    connections: Vec<Vec<Value>>,
}

impl Seen {
    fn drain(&mut self, receiver: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> bool {
        let mut open = true;
        loop {
            match receiver.try_recv() {
                Ok(payload) if payload["data"]["jobUpdates"].is_object() => self
                    .connections
                    .last_mut()
                    .expect("a connection")
                    .push(payload["data"]["jobUpdates"].clone()),
                Ok(_) => {}
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => return open,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    if receiver.is_empty() {
                        return open;
                    }
                }
            }
        }
    }

    fn last_at(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        self.connections
            .iter()
            .flatten()
            .filter_map(|event| event["at"].as_str())
            .filter_map(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .max()
    }

    /// Within each connection each job's sequence increases and its end comes once; over
    /// all connections, after dropping repeats by (job, sequence) as a client does, each
    /// job ended exactly once.
    fn assert_in_order_and_ended_once(&self, name: &str, jobs: &HashSet<String>) {
        for (index, events) in self.connections.iter().enumerate() {
            let mut last: HashMap<&str, i64> = HashMap::new();
            let mut ends: HashMap<&str, usize> = HashMap::new();
            for event in events {
                let job = event["jobId"].as_str().expect("jobId");
                let sequence = event["sequence"].as_i64().expect("sequence");
                if let Some(previous) = last.insert(job, sequence) {
                    assert!(
                        sequence > previous,
                        "{name}, connection {index}: {job} went from sequence {previous} to {sequence}"
                    );
                }
                if matches!(
                    event["status"].as_str(),
                    Some("SUCCEEDED" | "FAILED" | "CANCELLED")
                ) {
                    *ends.entry(job).or_default() += 1;
                }
            }
            for (job, count) in ends {
                assert_eq!(
                    count, 1,
                    "{name}, connection {index}: {job} ended {count} times"
                );
            }
        }
        let mut ended: HashMap<&str, HashSet<i64>> = HashMap::new();
        for event in self.connections.iter().flatten() {
            if matches!(
                event["status"].as_str(),
                Some("SUCCEEDED" | "FAILED" | "CANCELLED")
            ) {
                ended
                    .entry(event["jobId"].as_str().expect("jobId"))
                    .or_default()
                    .insert(event["sequence"].as_i64().expect("sequence"));
            }
        }
        let missing: Vec<&String> = jobs
            .iter()
            .filter(|job| !ended.contains_key(job.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{name} never saw the end of {missing:?}"
        );
        for (job, sequences) in ended {
            assert_eq!(
                sequences.len(),
                1,
                "{name}: {job} ended with different sequences {sequences:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_end_once_under_killed_workers_apis_runners_and_a_redis_restart() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let mut redis = PrivateRedis::start().expect("redis-server");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = production_like_env(&database.url, dir.path());
    env.insert("REDIS_URL".into(), redis.url());
    // Short leases so that a killed worker's job is taken over within seconds.
    env.insert("ENTMOOT_JOB_LEASE_SECONDS".into(), "2".into());
    env.insert("ENTMOOT_JOB_MAX_ATTEMPTS".into(), MAX_ATTEMPTS.to_string());
    env.insert("ENTMOOT_JOB_RETRY_BACKOFF_SECONDS".into(), "1".into());
    env.insert("MAX_CONCURRENT_JOBS".into(), "3".into());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let start_api = || TestServer::start_with_args(dir.path(), &env, &["--no-worker"]);
    let mut api = vec![
        start_api().await.expect("api 1"),
        start_api().await.expect("api 2"),
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

    // Subscriber A lives on API 1 (killed later, then reconnects to API 2); B on API 2.
    let subscription = "subscription($p: ID!, $since: DateTime) { jobUpdates(projectId: $p, since: $since) { jobId status sequence at } }";
    let mut seen = [Seen::default(), Seen::default()];
    let mut receivers = Vec::new();
    for (index, server) in api.iter().enumerate() {
        receivers.push(
            subscribe(server, subscription, json!({"p": project_id}))
                .await
                .expect("subscribe"),
        );
        seen[index].connections.push(Vec::new());
    }

    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    let program = json_fixture("programs/three_buildings_ft.json");
    let annealing = json!({"units": "ft", "setback": 20, "min_spacing": 10,
        "assets": [{"name": "Warehouse", "type": "building", "width": 60, "length": 80, "quantity": 30}]});
    let mut job_ids = HashSet::new();
    let mut annealing_ids = Vec::new();
    let mut cancelled = 0;
    for index in 0..JOBS {
        let input = if index % ANNEALING_EVERY == 0 {
            json!({"siteId": site_id, "program": annealing, "strategy": "anneal",
                   "timeLimitSeconds": 2 + (index / ANNEALING_EVERY) % 4,
                   "parameters": {"patience": 0}})
        } else {
            json!({"siteId": site_id, "program": program})
        };
        let body = api[index % 2]
            .graphql(
                "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                json!({"input": input}),
            )
            .await
            .expect("createJob");
        let id = body["data"]["createJob"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned();
        if index % ANNEALING_EVERY == 0 {
            annealing_ids.push(id.clone());
        }
        if index % CANCEL_EVERY == 3 {
            let cancel = api[(index + 1) % 2]
                .graphql(
                    "mutation($id: ID!) { cancelJob(id: $id) { id } }",
                    json!({"id": id}),
                )
                .await
                .expect("cancelJob");
            // A job that already ended answers CONFLICT; anything else is a failure.
            if cancel.get("errors").is_some() {
                assert_eq!(
                    cancel["errors"][0]["extensions"]["code"], "CONFLICT",
                    "{cancel}"
                );
            } else {
                cancelled += 1;
            }
        }
        job_ids.insert(id);
    }
    assert!(cancelled >= 1, "some cancels reached unfinished jobs");
    // Workers start on a full backlog, so that there is work to interrupt: submitting
    // through GraphQL is slower than solving the small program.
    let mut workers: Vec<TestWorker> = (0..WORKERS)
        .map(|_| TestWorker::start(dir.path(), &env).expect("worker"))
        .collect();

    // The faults, each once the work allows it, in this order of preference.
    let mut sigkills = 0;
    let mut running_cancels = 0;
    // A runner counts as killed once an attempt shows `retried` in a history: one that
    // ended on its own between the last look and the SIGKILL is no fault, so another
    // is killed then.
    let mut runner_killed = false;
    let mut runner_kill_sent: Option<Instant> = None;
    let mut sigtermed: Option<TestWorker> = None;
    let mut api_killed = false;
    let mut redis_restarted = false;
    let started = Instant::now();
    let mut last_fault = Instant::now();
    let faults_done = |sigkills: usize, runner: bool, term: bool, api: bool, redis: bool| {
        sigkills >= SIGKILLS && runner && term && api && redis
    };
    let cancels_done = |running_cancels: usize| running_cancels >= RUNNING_CANCELS;
    loop {
        for (index, receiver) in receivers.iter_mut().enumerate() {
            seen[index].drain(receiver);
        }
        let open = scalar_i64(
            &connection,
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')",
        )
        .await;
        if !runner_killed && let Some(sent) = runner_kill_sent {
            let retried = scalar_i64(
                &connection,
                "SELECT count(*) FROM jobs WHERE history::text LIKE '%\"retried\"%'",
            )
            .await;
            if retried > 0 {
                runner_killed = true;
            } else if sent.elapsed() > Duration::from_secs(15) {
                runner_kill_sent = None;
            }
        }
        let all_faults = faults_done(
            sigkills,
            runner_killed,
            sigtermed.is_some(),
            api_killed,
            redis_restarted,
        );
        if open == 0 && all_faults && cancels_done(running_cancels) {
            break;
        }
        assert!(
            last_fault.elapsed() < SETTLE_AFTER_LAST_FAULT,
            "{open} jobs still open {SETTLE_AFTER_LAST_FAULT:?} after the last fault"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{open} jobs still open after 300 s"
        );
        if open == 0 {
            // The work ran out before every fault happened: more work, for the rest.
            let body = api[1]
                .graphql(
                    "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                    json!({"input": {"siteId": site_id, "program": annealing, "strategy": "anneal", "timeLimitSeconds": 5,
                        "parameters": {"patience": 0}}}),
                )
                .await
                .expect("createJob");
            let id = body["data"]["createJob"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned();
            annealing_ids.push(id.clone());
            job_ids.insert(id);
        }
        // Running annealing jobs are cancelled too, a few of them.
        if running_cancels < RUNNING_CANCELS {
            for id in &annealing_ids {
                let state = api[0]
                    .graphql(
                        "query($id: ID!) { job(id: $id) { status cancelRequested } }",
                        json!({"id": id}),
                    )
                    .await
                    .expect("job");
                if state["data"]["job"]["status"] == "RUNNING"
                    && state["data"]["job"]["cancelRequested"] == false
                {
                    let cancel = api[1]
                        .graphql(
                            "mutation($id: ID!) { cancelJob(id: $id) { id } }",
                            json!({"id": id}),
                        )
                        .await
                        .expect("cancelJob");
                    if cancel.get("errors").is_none() {
                        running_cancels += 1;
                        cancelled += 1;
                    }
                    break;
                }
            }
        }
        if last_fault.elapsed() < FAULT_SPACING {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let busy = busy_worker_pids(&connection).await;
        // A runner seen twice, 300 ms apart, is one that runs a job (a greedy run's
        // runner lives a few milliseconds).
        let runners = if runner_killed || runner_kill_sent.is_some() {
            Vec::new()
        } else {
            let before = runners_of(&workers);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let after = runners_of(&workers);
            before
                .into_iter()
                .filter(|pid| after.contains(pid))
                .collect()
        };
        if let Some(runner) = runners.first() {
            let status = std::process::Command::new("kill")
                .args(["-KILL", &runner.to_string()])
                .status()
                .expect("kill");
            if status.success() {
                runner_kill_sent = Some(Instant::now());
            }
            last_fault = Instant::now();
        } else if sigkills < SIGKILLS
            && let Some(position) = workers
                .iter()
                .position(|worker| busy.contains(&worker.pid()))
        {
            workers[position].kill().expect("SIGKILL");
            workers[position] = TestWorker::start(dir.path(), &env).expect("restart worker");
            sigkills += 1;
            last_fault = Instant::now();
        } else if sigtermed.is_none()
            && sigkills >= 2
            && let Some(position) = workers
                .iter()
                .position(|worker| busy.contains(&worker.pid()))
        {
            let stopping = workers.remove(position);
            stopping.signal_terminate().expect("SIGTERM");
            workers.push(TestWorker::start(dir.path(), &env).expect("replace worker"));
            sigtermed = Some(stopping);
            last_fault = Instant::now();
        } else if !api_killed && sigkills >= 1 {
            // SIGKILL, no goodbye to the subscriber; it reconnects to API 2 and asks
            // for what ended since its last event (a few seconds of margin).
            let killed = api.remove(0);
            drop(killed);
            seen[0].drain(&mut receivers[0]);
            let since = seen[0]
                .last_at()
                .map(|at| at - chrono::Duration::seconds(10))
                .map(|at| at.to_rfc3339());
            receivers[0] = subscribe(
                &api[0],
                subscription,
                json!({"p": project_id, "since": since}),
            )
            .await
            .expect("resubscribe");
            seen[0].connections.push(Vec::new());
            api.push(start_api().await.expect("restart api 1"));
            api_killed = true;
            last_fault = Instant::now();
        } else if !redis_restarted && sigkills >= 1 {
            redis.restart().expect("restart redis");
            redis_restarted = true;
            last_fault = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settled_after = last_fault.elapsed();
    println!(
        "{} jobs ended {settled_after:?} after the last fault, {:?} in all ({sigkills} SIGKILLs, {cancelled} cancels)",
        job_ids.len(),
        started.elapsed()
    );
    if let Some(mut stopping) = sigtermed {
        let deadline = Instant::now() + Duration::from_secs(40);
        while !stopping.has_exited() {
            assert!(
                Instant::now() < deadline,
                "the SIGTERMed worker did not stop"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // Every job ended; a succeeded one stored exactly one result, the others none.
    let total = job_ids.len() as i64;
    assert_eq!(
        scalar_i64(&connection, "SELECT count(*) FROM jobs").await,
        total
    );
    let succeeded = scalar_i64(
        &connection,
        "SELECT count(*) FROM jobs WHERE status = 'succeeded'",
    )
    .await;
    let ended_otherwise = scalar_i64(
        &connection,
        "SELECT count(*) FROM jobs WHERE status = 'cancelled' OR (status = 'failed' AND error LIKE 'dead-lettered%')",
    )
    .await;
    assert_eq!(
        succeeded + ended_otherwise,
        total,
        "every job succeeded, was cancelled or ran out of attempts"
    );
    assert!(
        succeeded >= total - 20,
        "most jobs succeeded ({succeeded} of {total})"
    );
    assert_eq!(
        scalar_i64(
            &connection,
            "SELECT count(*) FROM layouts l JOIN jobs j ON j.id = l.job_id WHERE j.status <> 'succeeded'"
        )
        .await,
        0,
        "only succeeded jobs have layouts"
    );
    assert_eq!(
        scalar_i64(&connection, "SELECT count(DISTINCT job_id) FROM layouts").await,
        succeeded
    );
    assert_eq!(
        scalar_i64(
            &connection,
            "SELECT count(*) FROM (SELECT job_id, rank FROM layouts GROUP BY job_id, rank HAVING count(*) > 1) AS twice"
        )
        .await,
        0,
        "no job stored a result twice"
    );

    // History: one entry per attempt (a hand-back gives its attempt back), never more
    // attempts than allowed, and the faults show in it.
    let rows = connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT id::text, attempts, max_attempts, history::text FROM jobs",
        ))
        .await
        .expect("history");
    let mut outcome_counts: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        let id: String = row.try_get_by_index(0).expect("id");
        let attempts: i32 = row.try_get_by_index(1).expect("attempts");
        let max_attempts: i32 = row.try_get_by_index(2).expect("max_attempts");
        let history: Value =
            serde_json::from_str(&row.try_get_by_index::<String>(3).expect("history"))
                .expect("JSON");
        let entries = history.as_array().expect("array");
        assert!(
            attempts <= max_attempts,
            "{id}: {attempts} of {max_attempts}"
        );
        let counted = entries
            .iter()
            .filter(|entry| entry["outcome"] != "handed_back")
            .count();
        assert_eq!(counted as i32, attempts, "{id}: history {history}");
        for entry in entries {
            *outcome_counts
                .entry(entry["outcome"].as_str().expect("outcome").to_owned())
                .or_default() += 1;
        }
    }
    println!("attempt outcomes: {outcome_counts:?}");
    assert!(
        outcome_counts.get("worker_lost").copied().unwrap_or(0) >= 1,
        "a killed worker's attempt is in a history: {outcome_counts:?}"
    );
    assert!(
        outcome_counts.get("retried").copied().unwrap_or(0) >= 1,
        "the attempt whose plugin runner was killed is in a history: {outcome_counts:?}"
    );

    // The subscribers: each job's events in sequence, each end once.
    let global_ids: HashSet<String> = job_ids;
    let settle = Instant::now() + Duration::from_secs(20);
    loop {
        for (index, receiver) in receivers.iter_mut().enumerate() {
            seen[index].drain(receiver);
        }
        let complete = seen.iter().all(|subscriber| {
            let ended: HashSet<&str> = subscriber
                .connections
                .iter()
                .flatten()
                .filter(|event| {
                    matches!(
                        event["status"].as_str(),
                        Some("SUCCEEDED" | "FAILED" | "CANCELLED")
                    )
                })
                .filter_map(|event| event["jobId"].as_str())
                .collect();
            global_ids.iter().all(|id| ended.contains(id.as_str()))
        });
        if complete || Instant::now() > settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    seen[0].assert_in_order_and_ended_once("subscriber A (API 1, then API 2)", &global_ids);
    seen[1].assert_in_order_and_ended_once("subscriber B (API 2)", &global_ids);
}
