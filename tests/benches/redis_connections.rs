//! Redis connection benchmark (BENCHMARKS.md, "Redis connections"): one multiplexed
//! `ConnectionManager` shared by every request, as the server does, against a bb8-redis
//! pool of 8, 16 and 64 connections, with 64 concurrent clients sending what an API
//! request sends to Redis.
//!
//! One request here is what an authenticated GraphQL request costs Redis in the server:
//! the session lookup (`GETEX … EX`, `adapters/sessions.rs`), the rate-limit count (an
//! atomic `INCR` + `EXPIRE` pipeline, `adapters/rate_limit.rs`) and, for one request in
//! four, a cached read of 16 KiB (a site's buildable area, `adapters/cache.rs`).
//!
//! Run: `cargo bench -p entmoot-tests --bench redis_connections` with
//! `ENTMOOT_TEST_REDIS_URL` set (`tests/run --services` prints it). `ENTMOOT_BENCH_RUNS`
//! (default 3) runs of `ENTMOOT_BENCH_SECONDS` (default 5) per strategy, interleaved so
//! that a change in the machine's load touches every strategy alike.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bb8_redis::RedisConnectionManager;
use redis::aio::{ConnectionLike, ConnectionManager};

const CLIENTS: usize = 64;
const SESSIONS: usize = 256;
const CACHED_VALUES: usize = 16;
const CACHED_VALUE_BYTES: usize = 16 * 1024;

/// Where the requests go: the server's shared connection, or a pool.
#[derive(Clone)]
enum Connections {
    Multiplexed(ConnectionManager),
    /// A pool and its maximum size.
    Pool(bb8::Pool<RedisConnectionManager>, u32),
}

impl Connections {
    fn label(&self) -> String {
        match self {
            Connections::Multiplexed(_) => "one multiplexed ConnectionManager".to_owned(),
            Connections::Pool(_, size) => format!("bb8-redis pool of {size}"),
        }
    }
}

/// What one API request sends to Redis.
async fn one_request(
    connection: &mut impl ConnectionLike,
    prefix: &str,
    number: usize,
) -> redis::RedisResult<()> {
    let session = format!("{prefix}:session:{}", number % SESSIONS);
    let session_value: Option<String> = redis::cmd("GETEX")
        .arg(&session)
        .arg("EX")
        .arg(3600)
        .query_async(connection)
        .await?;
    assert!(session_value.is_some(), "the session {session} was set up");
    let counter = format!("{prefix}:rate:{}", number % SESSIONS);
    let (_count, _expiry): (u64, i64) = redis::pipe()
        .atomic()
        .incr(&counter, 1)
        .expire(&counter, 120)
        .query_async(connection)
        .await?;
    if number.is_multiple_of(4) {
        let cached: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("{prefix}:cache:{}", number % CACHED_VALUES))
            .query_async(connection)
            .await?;
        assert_eq!(cached.map(|value| value.len()), Some(CACHED_VALUE_BYTES));
    }
    Ok(())
}

async fn request_through(
    connections: &Connections,
    prefix: &str,
    number: usize,
) -> Result<(), String> {
    match connections {
        Connections::Multiplexed(manager) => {
            let mut connection = manager.clone();
            one_request(&mut connection, prefix, number)
                .await
                .map_err(|error| error.to_string())
        }
        Connections::Pool(pool, _) => {
            let mut connection = pool.get().await.map_err(|error| error.to_string())?;
            one_request(&mut *connection, prefix, number)
                .await
                .map_err(|error| error.to_string())
        }
    }
}

struct RunFigures {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// `CLIENTS` tasks send requests back to back for `duration`; each request's latency
/// includes waiting for a pooled connection.
async fn run(connections: &Connections, prefix: &str, duration: Duration) -> RunFigures {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let connections = connections.clone();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut number = client;
            while Instant::now() < deadline {
                let sent = Instant::now();
                if request_through(&connections, &prefix, number)
                    .await
                    .is_err()
                {
                    errors += 1;
                }
                latencies.push(sent.elapsed());
                number += CLIENTS;
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut some, failed) = task.await.expect("client task");
        latencies.append(&mut some);
        errors += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |share: f64| {
        latencies[((latencies.len() as f64 * share) as usize).min(latencies.len() - 1)]
    };
    RunFigures {
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        errors,
    }
}

fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    values[values.len() / 2]
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name}: not a number"))
        })
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("ENTMOOT_TEST_REDIS_URL")
        .expect("ENTMOOT_TEST_REDIS_URL (tests/run --services prints it)");
    let runs = env_number("ENTMOOT_BENCH_RUNS", 3) as usize;
    let duration = Duration::from_secs(env_number("ENTMOOT_BENCH_SECONDS", 5));
    let prefix = format!("entmoot-bench-{}", std::process::id());

    let client = redis::Client::open(url.as_str()).expect("Redis URL");
    let manager = ConnectionManager::new(client)
        .await
        .expect("Redis reachable");
    let mut setup = manager.clone();
    for session in 0..SESSIONS {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:session:{session}"))
            .arg("{\"user\":\"bench\"}")
            .arg("EX")
            .arg(3600)
            .query_async(&mut setup)
            .await
            .expect("SET");
    }
    for value in 0..CACHED_VALUES {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:cache:{value}"))
            .arg(vec![b'x'; CACHED_VALUE_BYTES])
            .arg("EX")
            .arg(3600)
            .query_async(&mut setup)
            .await
            .expect("SET");
    }

    let mut strategies = vec![Connections::Multiplexed(manager.clone())];
    for size in [8, 16, 64] {
        let pool = bb8::Pool::builder()
            .max_size(size)
            .min_idle(Some(size))
            .build(RedisConnectionManager::new(url.as_str()).expect("Redis URL"))
            .await
            .expect("pool");
        strategies.push(Connections::Pool(pool, size));
    }
    // Connections opened and warm before anything is measured.
    for connections in &strategies {
        run(connections, &prefix, Duration::from_millis(500)).await;
    }

    let mut figures: Vec<Vec<RunFigures>> = strategies.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (connections, figures) in strategies.iter().zip(&mut figures) {
            figures.push(run(connections, &prefix, duration).await);
        }
    }

    println!(
        "{CLIENTS} clients, {runs} runs of {duration:?} each; medians over the runs (each run's figure in brackets)"
    );
    println!("| connections | requests/s | p50 latency | p99 latency | errors |");
    println!("|---|---|---|---|---|");
    for (connections, figures) in strategies.iter().zip(&figures) {
        let rates: Vec<f64> = figures.iter().map(|f| f.requests_per_second).collect();
        let p50s: Vec<Duration> = figures.iter().map(|f| f.p50).collect();
        let p99s: Vec<Duration> = figures.iter().map(|f| f.p99).collect();
        let errors: usize = figures.iter().map(|f| f.errors).sum();
        println!(
            "| {} | {:.0} ({}) | {:.2} ms | {:.2} ms ({}) | {errors} |",
            connections.label(),
            median(rates.clone()),
            rates
                .iter()
                .map(|rate| format!("{rate:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(p50s).as_secs_f64() * 1000.0,
            median(p99s.clone()).as_secs_f64() * 1000.0,
            p99s.iter()
                .map(|p| format!("{:.2}", p.as_secs_f64() * 1000.0))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }

    let mut cleanup = manager;
    let mut keys = Vec::new();
    for session in 0..SESSIONS {
        keys.push(format!("{prefix}:session:{session}"));
        keys.push(format!("{prefix}:rate:{session}"));
    }
    for value in 0..CACHED_VALUES {
        keys.push(format!("{prefix}:cache:{value}"));
    }
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(&mut cleanup)
        .await
        .expect("DEL");
}
