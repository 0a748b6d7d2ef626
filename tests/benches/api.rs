//! GraphQL API benchmark (BENCHMARKS.md, "GraphQL API"), against the release `entmoot`
//! binary on PostgreSQL + Redis (`serve --no-worker` plus one `entmoot worker`):
//!
//! 1. throughput and p50/p99 latency at 64 concurrent keep-alive clients of a typical
//!    query over seeded data (10 projects × 3 sites, each site with a succeeded job),
//!    of the smallest authenticated GraphQL query (`{ __typename }`) and of the bare
//!    actix JSON handler `/health/live` of the same process, with the ratios;
//! 2. resident memory per idle `jobProgress` subscription (graphql-transport-ws) at
//!    1,000 and 5,000 subscribers, and the CPU the API spends on them while idle;
//! 3. the time from a worker stamping a job event (`JobProgress.at`, set just before the
//!    worker publishes it to Redis) to a websocket client of the API reading its frame.
//!
//! Run (with the services of `tests/run --services` in the environment):
//! `cargo build --workspace --release && cargo bench -p entmoot-tests --bench api`.
//! The bench runs the `entmoot` binary and plugins of the release build in the same
//! target directory; `ENTMOOT_BIN` points it at another binary. It needs a file
//! descriptor limit (`ulimit -n`) above 5,000 plus some: the server inherits it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entmoot_tests::{
    FreshPostgres, PrivateRedis, TestServer, TestWorker, create_project, create_site,
    first_layout_when_succeeded, production_like_env, run_entmoot, rural_demo_boundary,
    submit_three_buildings,
};
use futures::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// What a project list page asks for.
const TYPICAL_QUERY: &str = "query Typical { projects(first: 10) { edges { node { id name sites { edges { node { id name areaM2 latestLayout { id placedCount metrics } } } } } } } }";
/// The smallest query that still goes through authentication and GraphQL execution.
const TYPENAME_QUERY: &str = "{ __typename }";

const PROJECTS: usize = 10;
const SITES_PER_PROJECT: usize = 3;
const CLIENTS: usize = 64;
const WARM_UP: Duration = Duration::from_secs(3);
const MEASURED: Duration = Duration::from_secs(10);
/// Each of the three targets is loaded this many times, in rotating order.
const LOAD_RUNS: usize = 3;
const SUBSCRIBERS: [usize; 2] = [1_000, 5_000];
/// How many subscriptions are being opened at once.
const OPENING_AT_ONCE: usize = 32;
/// Time for the server to settle after the last subscription was opened.
const SETTLE: Duration = Duration::from_secs(5);
/// Idle CPU is measured over this window: two reconciliation ticks (every 10 s) and
/// four websocket pings (every 5 s) of each subscription.
const IDLE_WINDOW: Duration = Duration::from_secs(20);
const LATENCY_JOBS: usize = 100;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Stack {
    database: FreshPostgres,
    _redis: PrivateRedis,
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

async fn stack() -> Stack {
    let database = FreshPostgres::create().await.expect("PostgreSQL");
    let redis = PrivateRedis::start().expect("redis");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, dir.path());
    env.insert("REDIS_URL".into(), redis.url());
    // 64 clients on one key and one address: the rate limits are not what is measured.
    env.insert("ENTMOOT_RATE_LIMIT_PER_KEY".into(), "0".into());
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "0".into());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success(), "{migrated:?}");
    Stack {
        database,
        _redis: redis,
        dir,
        env,
    }
}

async fn start_api(stack: &Stack) -> TestServer {
    TestServer::start_with_args(stack.dir.path(), &stack.env, &["--no-worker"])
        .await
        .expect("api")
}

fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A /proc/<pid>/status field in KiB (VmRSS, RssAnon, …).
fn status_kib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU seconds a process has used so far.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / clock_ticks_per_second()
}

fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// 1. Throughput and latency
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Target {
    Typical,
    Typename,
    Live,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Self::Typical => "typical query",
            Self::Typename => "{ __typename }",
            Self::Live => "/health/live",
        }
    }
}

struct LoadResult {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// CPU of the API process per request, in microseconds.
    server_cpu_us: f64,
    /// CPU of the PostgreSQL backends serving the bench's database, per request.
    database_cpu_us: f64,
    /// Cores the bench's own clients used meanwhile.
    client_cores: f64,
}

fn has_errors(body: &[u8]) -> bool {
    body.windows(9).any(|window| window == b"\"errors\":")
}

/// The PostgreSQL backends connected to the bench's database (the API's pool), other
/// than `connection`'s own.
async fn database_backends(connection: &DatabaseConnection) -> Vec<String> {
    connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .expect("pg_stat_activity")
        .iter()
        .map(|row| row.try_get_by_index::<i32>(0).expect("pid").to_string())
        .collect()
}

/// CPU seconds of these processes; one that has exited counts as 0.
fn cpu_seconds_of(pids: &[String]) -> HashMap<String, f64> {
    pids.iter()
        .filter(|pid| std::path::Path::new(&format!("/proc/{pid}/stat")).exists())
        .map(|pid| (pid.clone(), cpu_seconds(pid)))
        .collect()
}

/// CLIENTS tasks, each with its own keep-alive connection, send requests back to back
/// for WARM_UP + MEASURED; what completes inside the MEASURED window counts.
async fn load(api: &TestServer, connection: &DatabaseConnection, target: Target) -> LoadResult {
    let started = Instant::now();
    let measure_from = started + WARM_UP;
    let end = measure_from + MEASURED;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let base_url = api.base_url.clone();
            let token = api.api_key.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .expect("client");
                let request = || match target {
                    Target::Live => client.get(format!("{base_url}/health/live")),
                    Target::Typical | Target::Typename => client
                        .post(format!("{base_url}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({"query": match target {
                            Target::Typical => TYPICAL_QUERY,
                            _ => TYPENAME_QUERY,
                        }})),
                };
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut first = true;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let response = request().send().await.expect("request");
                    let status = response.status();
                    let body = response.bytes().await.expect("body");
                    let done = Instant::now();
                    if first {
                        // The first answer is read whole: a wrong query must not be
                        // measured as a fast one.
                        let value: Value = serde_json::from_slice(&body).expect("JSON");
                        assert!(
                            status.is_success() && value.get("errors").is_none(),
                            "{value}"
                        );
                        first = false;
                    }
                    if done >= measure_from && done <= end {
                        if status.is_success() && !has_errors(&body) {
                            latencies.push((done - sent).as_secs_f64() * 1000.0);
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let pid = api.pid().to_string();
    tokio::time::sleep_until(measure_from.into()).await;
    let (server_before, client_before) = (cpu_seconds(&pid), cpu_seconds("self"));
    let database_before = cpu_seconds_of(&database_backends(connection).await);
    tokio::time::sleep_until(end.into()).await;
    let (server_after, client_after) = (cpu_seconds(&pid), cpu_seconds("self"));
    // A backend that started inside the window counts whole.
    let database_cpu: f64 = cpu_seconds_of(&database_backends(connection).await)
        .iter()
        .map(|(pid, after)| after - database_before.get(pid).unwrap_or(&0.0))
        .sum();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (task_latencies, task_errors) = task.await.expect("client task");
        latencies.extend(task_latencies);
        errors += task_errors;
    }
    latencies.sort_by(f64::total_cmp);
    let requests = latencies.len() + errors;
    LoadResult {
        per_second: requests as f64 / MEASURED.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        errors,
        server_cpu_us: (server_after - server_before) / requests as f64 * 1e6,
        database_cpu_us: database_cpu / requests as f64 * 1e6,
        client_cores: (client_after - client_before) / MEASURED.as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------
// Websocket subscriptions (graphql-transport-ws, the key in connection_init)
// ---------------------------------------------------------------------------------

async fn open_subscription(
    base_url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Socket> {
    let url = format!("{}/graphql", base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
                .to_string(),
        ))
        .await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text)?;
                anyhow::ensure!(
                    message["type"] == "connection_ack",
                    "expected connection_ack, got {message}"
                );
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => anyhow::bail!("closed before connection_ack"),
        }
    }
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
                .to_string(),
        ))
        .await?;
    Ok(socket)
}

/// Reads until the first `next` message and returns its payload.
async fn first_next(socket: &mut Socket) -> anyhow::Result<Value> {
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let message: Value = serde_json::from_str(&text)?;
            match message["type"].as_str() {
                Some("next") => return Ok(message["payload"].clone()),
                Some("ping") | Some("pong") => {}
                _ => anyhow::bail!("expected next, got {message}"),
            }
        }
    }
    anyhow::bail!("closed before the first event")
}

// ---------------------------------------------------------------------------------
// 2. Memory per idle subscription
// ---------------------------------------------------------------------------------

struct MemoryResult {
    subscribers: usize,
    rss_before_kib: f64,
    rss_after_kib: f64,
    rss_later_kib: f64,
    idle_cores: f64,
}

const JOB_PROGRESS: &str =
    "subscription($id: ID!) { jobProgress(jobId: $id) { jobId status percent at } }";

/// A fresh API process; RSS before and after `subscribers` clients each subscribe to
/// the progress of `job`, which stays queued (no worker runs).
async fn idle_subscriptions(stack: &Stack, job: &str, subscribers: usize) -> MemoryResult {
    let api = start_api(stack).await;
    let pid = api.pid();
    // Warm-up: what the first request and the first subscriptions allocate once
    // (connection pool, schema caches, thread-local buffers) belongs to the baseline.
    for _ in 0..20 {
        api.graphql(TYPICAL_QUERY, json!({})).await.expect("query");
    }
    for _ in 0..OPENING_AT_ONCE {
        let mut socket = open_subscription(
            &api.base_url,
            &api.api_key,
            JOB_PROGRESS,
            json!({"id": job}),
        )
        .await
        .expect("subscribe");
        first_next(&mut socket).await.expect("first event");
        socket.close(None).await.ok();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before_kib = status_kib(pid, "VmRSS");
    let base_url = api.base_url.clone();
    let token = api.api_key.clone();
    let sockets: Vec<Socket> = futures::stream::iter(0..subscribers)
        .map(|_| {
            let base_url = base_url.clone();
            let token = token.clone();
            async move {
                let mut socket =
                    open_subscription(&base_url, &token, JOB_PROGRESS, json!({"id": job}))
                        .await
                        .expect("subscribe");
                let first = first_next(&mut socket).await.expect("first event");
                assert_eq!(first["data"]["jobProgress"]["status"], "QUEUED", "{first}");
                socket
            }
        })
        .buffer_unordered(OPENING_AT_ONCE)
        .collect()
        .await;
    // Each client keeps reading, which answers the server's websocket pings.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} })
        })
        .collect();
    tokio::time::sleep(SETTLE).await;
    let rss_after_kib = status_kib(pid, "VmRSS");
    let cpu_before = cpu_seconds(&pid.to_string());
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle_cores = (cpu_seconds(&pid.to_string()) - cpu_before) / IDLE_WINDOW.as_secs_f64();
    let rss_later_kib = status_kib(pid, "VmRSS");
    assert!(
        readers.iter().all(|reader| !reader.is_finished()),
        "a subscription closed while idle"
    );
    for reader in readers {
        reader.abort();
    }
    MemoryResult {
        subscribers,
        rss_before_kib,
        rss_after_kib,
        rss_later_kib,
        idle_cores,
    }
}

// ---------------------------------------------------------------------------------
// 3. Event latency, worker to client
// ---------------------------------------------------------------------------------

struct Received {
    job_id: String,
    status: String,
    at: DateTime<Utc>,
    received: DateTime<Utc>,
}

const JOB_UPDATES: &str =
    "subscription($id: ID!) { jobUpdates(projectId: $id) { jobId status stage percent at } }";

struct LatencyResult {
    /// Events published by the worker (running, progress, succeeded), in ms.
    worker_ms: Vec<f64>,
    /// `queued` events, published by the API itself in createJob, in ms.
    api_ms: Vec<f64>,
    /// Reconciliation copies of a terminal event that the subscription made from the
    /// database before the bus brought the real one; not worker events.
    reconciled: usize,
}

/// Subscribes to a project's job updates, then submits LATENCY_JOBS jobs one at a time,
/// each after the previous one's terminal event arrived.
async fn event_latencies(api: &TestServer, project: &str, site: &str) -> LatencyResult {
    let mut socket = open_subscription(
        &api.base_url,
        &api.api_key,
        JOB_UPDATES,
        json!({"id": project}),
    )
    .await
    .expect("subscribe");
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Received>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            // The receive time is taken before anything else is done with the frame.
            let received = Utc::now();
            let Message::Text(text) = message else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).expect("JSON");
            if message["type"] != "next" {
                continue;
            }
            let event = &message["payload"]["data"]["jobUpdates"];
            let at = DateTime::parse_from_rfc3339(event["at"].as_str().expect("at"))
                .expect("RFC 3339")
                .with_timezone(&Utc);
            let _ = sender.send(Received {
                job_id: event["jobId"].as_str().expect("jobId").to_owned(),
                status: event["status"].as_str().expect("status").to_owned(),
                at,
                received,
            });
        }
    });
    // Let the subscription start before the first job.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut events = Vec::new();
    for _ in 0..LATENCY_JOBS {
        let job = submit_three_buildings(api, site).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let event = tokio::time::timeout_at(deadline, receiver.recv())
                .await
                .expect("the job ended within 60 s")
                .expect("subscription open");
            let ended = event.job_id == job
                && matches!(event.status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED");
            assert!(event.status != "FAILED", "a job failed");
            events.push(event);
            if ended {
                break;
            }
        }
    }
    // Late duplicates (none expected) arrive within a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(event) = receiver.try_recv() {
        events.push(event);
    }
    reader.abort();
    // A terminal event that arrives twice for a job: the earlier copy came from the
    // subscription's own reconciliation (read from the database in the API), not
    // from the worker; keep the last.
    let mut last_terminal: HashMap<&str, usize> = HashMap::new();
    for (index, event) in events.iter().enumerate() {
        if matches!(event.status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED") {
            last_terminal.insert(&event.job_id, index);
        }
    }
    let mut result = LatencyResult {
        worker_ms: Vec::new(),
        api_ms: Vec::new(),
        reconciled: 0,
    };
    for (index, event) in events.iter().enumerate() {
        let terminal = matches!(event.status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED");
        if terminal && last_terminal.get(event.job_id.as_str()) != Some(&index) {
            result.reconciled += 1;
            continue;
        }
        let ms = (event.received - event.at).num_microseconds().expect("µs") as f64 / 1000.0;
        if event.status == "QUEUED" {
            result.api_ms.push(ms);
        } else {
            result.worker_ms.push(ms);
        }
    }
    result.worker_ms.sort_by(f64::total_cmp);
    result.api_ms.sort_by(f64::total_cmp);
    result
}

#[tokio::main]
async fn main() {
    let limit = open_files_limit();
    let most = SUBSCRIBERS.iter().max().copied().unwrap_or(0) as u64;
    assert!(
        limit >= most + 1_000,
        "the open files limit is {limit}: {most} websockets need more (`ulimit -n {}`; the server inherits it)",
        most + 2_000
    );
    println!(
        "GraphQL API bench: {} cores, load average {} at start, open files limit {limit}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    let stack = stack().await;
    let connection = Database::connect(stack.database.url.as_str())
        .await
        .expect("connect");
    let api = start_api(&stack).await;
    let worker = TestWorker::start(stack.dir.path(), &stack.env).expect("worker");

    // Projects are listed newest first: the two bench projects come first so that the
    // typical query's first page is the ten seeded ones.
    let latency_project = create_project(&api, "Latency").await;
    let latency_site = create_site(
        &api,
        &latency_project,
        "Latency site",
        rural_demo_boundary(),
    )
    .await;
    let idle_project = create_project(&api, "Idle").await;
    let idle_site = create_site(&api, &idle_project, "Idle site", rural_demo_boundary()).await;
    let mut jobs = Vec::new();
    for project in 0..PROJECTS {
        let project = create_project(&api, &format!("Project {project}")).await;
        for site in 0..SITES_PER_PROJECT {
            let site = create_site(
                &api,
                &project,
                &format!("Site {site}"),
                rural_demo_boundary(),
            )
            .await;
            jobs.push(submit_three_buildings(&api, &site).await);
        }
    }
    for job in &jobs {
        first_layout_when_succeeded(&api, job).await;
    }
    println!(
        "seeded {PROJECTS} projects × {SITES_PER_PROJECT} sites, each with a succeeded job (3 buildings)"
    );

    // 3. Event latency, with the worker still running.
    let latency = event_latencies(&api, &latency_project, &latency_site).await;
    drop(worker);

    // 1. Throughput and latency. The worker is gone: nothing else runs in the stack.
    let targets = [Target::Typical, Target::Typename, Target::Live];
    let mut results: HashMap<&str, Vec<LoadResult>> = HashMap::new();
    for run in 0..LOAD_RUNS {
        for offset in 0..targets.len() {
            let target = targets[(run + offset) % targets.len()];
            let result = load(&api, &connection, target).await;
            println!(
                "  run {}: {:<15} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  CPU/req API {:>6.0} µs, PostgreSQL {:>6.0} µs  client {:.2} cores  errors {}",
                run + 1,
                target.label(),
                result.per_second,
                result.p50_ms,
                result.p99_ms,
                result.server_cpu_us,
                result.database_cpu_us,
                result.client_cores,
                result.errors
            );
            results.entry(target.label()).or_default().push(result);
        }
    }
    drop(api);

    // 2. Memory per idle subscription; the job stays queued: no worker runs now.
    let idle_api = start_api(&stack).await;
    let idle_job = submit_three_buildings(&idle_api, &idle_site).await;
    drop(idle_api);
    let mut memory = Vec::new();
    for subscribers in SUBSCRIBERS {
        memory.push(idle_subscriptions(&stack, &idle_job, subscribers).await);
    }

    println!();
    println!(
        "1. {CLIENTS} concurrent keep-alive clients, {} s measured after {} s warm-up, median of {LOAD_RUNS} runs",
        MEASURED.as_secs(),
        WARM_UP.as_secs()
    );
    println!("   typical query: {TYPICAL_QUERY}");
    println!(
        "   | target | requests/s | p50 ms | p99 ms | API CPU µs/request | PostgreSQL CPU µs/request | errors |"
    );
    println!("   |---|---|---|---|---|---|---|");
    let summary = |label: &str| {
        let runs = &results[label];
        let pick = |f: fn(&LoadResult) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        (
            pick(|r| r.per_second),
            pick(|r| r.p50_ms),
            pick(|r| r.p99_ms),
            pick(|r| r.server_cpu_us),
            pick(|r| r.database_cpu_us),
            runs.iter().map(|r| r.errors).sum::<usize>(),
        )
    };
    for target in targets {
        let (rate, p50, p99, cpu, database_cpu, errors) = summary(target.label());
        println!(
            "   | {} | {rate:.0} | {p50:.2} | {p99:.2} | {cpu:.0} | {database_cpu:.0} | {errors} |",
            target.label()
        );
    }
    let (typical_rate, typical_p50, typical_p99, typical_cpu, _, _) =
        summary(Target::Typical.label());
    let (live_rate, live_p50, live_p99, live_cpu, _, _) = summary(Target::Live.label());
    println!(
        "   typical / bare handler: throughput {:.3}, p50 latency {:.1}×, p99 latency {:.1}×, API CPU per request {:.1}×",
        typical_rate / live_rate,
        typical_p50 / live_p50,
        typical_p99 / live_p99,
        typical_cpu / live_cpu
    );

    println!();
    println!(
        "2. idle jobProgress subscriptions (fresh API process each, {} s settle, idle CPU over {} s)",
        SETTLE.as_secs(),
        IDLE_WINDOW.as_secs()
    );
    println!(
        "   | subscribers | VmRSS before | after | per subscription | {} s later, per subscription | API CPU while idle |",
        IDLE_WINDOW.as_secs()
    );
    println!("   |---|---|---|---|---|---|");
    for result in &memory {
        let n = result.subscribers as f64;
        println!(
            "   | {} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {:.1} KiB | {:.1} % of a core |",
            result.subscribers,
            result.rss_before_kib / 1024.0,
            result.rss_after_kib / 1024.0,
            (result.rss_after_kib - result.rss_before_kib) / n,
            (result.rss_later_kib - result.rss_before_kib) / n,
            result.idle_cores * 100.0
        );
    }

    println!();
    println!(
        "3. job event, worker stamps `at` → client reads the frame ({LATENCY_JOBS} jobs one at a time, 3 buildings, greedy)"
    );
    println!("   | events | count | p50 ms | p99 ms | max ms |");
    println!("   |---|---|---|---|---|");
    for (label, values) in [
        ("worker (running, progress, succeeded)", &latency.worker_ms),
        ("API (queued, from createJob)", &latency.api_ms),
    ] {
        println!(
            "   | {label} | {} | {:.2} | {:.2} | {:.2} |",
            values.len(),
            percentile(values, 0.50),
            percentile(values, 0.99),
            values.last().copied().unwrap_or(f64::NAN)
        );
    }
    println!(
        "   terminal events made by the subscription's reconciliation, left out: {}",
        latency.reconciled
    );
    println!();
    println!("load average at the end: {}", load_average());
}
