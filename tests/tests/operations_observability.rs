//! Logs, request ids, the metrics port, readiness versus liveness and graceful
//! shutdown, checked on the running binary.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, embedded_env, postgres_admin_url, production_like_env, run_entmoot,
};
use serde_json::{Value, json};

/// Log lines parsed as JSON; every line must be JSON with LOG_FORMAT=json.
fn json_lines(server: &TestServer) -> Vec<Value> {
    server
        .log_lines()
        .iter()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|error| panic!("not a JSON log line ({error}): {line}"))
        })
        .collect()
}

/// Waits until a log line satisfies `predicate` (the log is read by a thread).
async fn wait_for_line(server: &TestServer, predicate: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(line) = json_lines(server).into_iter().find(|line| predicate(line)) {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no matching log line within 10 s:\n{}",
            server.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get_with_id(server: &TestServer, path: &str, id: &str) -> reqwest::Response {
    server
        .client
        .get(format!("{}{path}", server.base_url))
        .header("X-Request-ID", id)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_log_level_is_honoured() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert("LOG_FORMAT".into(), "json".into());
    env.insert("LOG_LEVEL".into(), "DEBUG".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");

    // A caller's id is returned and logged (probes log at DEBUG).
    let response = get_with_id(&server, "/health/live", "ops-log-debug-1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "ops-log-debug-1");
    let line = wait_for_line(&server, |line| line["request_id"] == "ops-log-debug-1").await;
    assert_eq!(line["level"], "DEBUG", "{line}");
    assert_eq!(line["message"], "request", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["route"], "/health/live", "{line}");
    assert!(line["timestamp"].is_string(), "{line}");

    // Without a usable id, one is made up and returned.
    let response = server
        .client
        .get(format!("{}/health/live", server.base_url))
        .header("X-Request-ID", "not acceptable")
        .send()
        .await
        .expect("request");
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    wait_for_line(&server, |line| line["request_id"] == generated.as_str()).await;

    // Lines written while serving a request carry its span, with the id.
    let response = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("X-Request-ID", "ops-log-graphql-1")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "ops-log-graphql-1");
    let line = wait_for_line(&server, |line| {
        line["request_id"] == "ops-log-graphql-1" && line["message"] == "request"
    })
    .await;
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["span"]["request_id"], "ops-log-graphql-1", "{line}");
    assert!(
        json_lines(&server)
            .iter()
            .any(|line| line["level"] == "DEBUG"),
        "LOG_LEVEL=DEBUG lets DEBUG lines through"
    );
    drop(server);

    // At INFO, probe lines (DEBUG) disappear and request lines stay.
    let mut env = embedded_env(data_dir.path());
    env.insert("LOG_FORMAT".into(), "json".into());
    env.insert("LOG_LEVEL".into(), "INFO".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");
    get_with_id(&server, "/health/live", "ops-log-info-probe").await;
    let response = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("X-Request-ID", "ops-log-info-graphql")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status(), 200);
    wait_for_line(&server, |line| line["request_id"] == "ops-log-info-graphql").await;
    let lines = json_lines(&server);
    assert!(
        !lines
            .iter()
            .any(|line| line["request_id"] == "ops-log-info-probe"),
        "the DEBUG probe line is filtered at INFO"
    );
    assert!(
        lines
            .iter()
            .all(|line| line["level"] != "DEBUG" && line["level"] != "TRACE"),
        "nothing below INFO at LOG_LEVEL=INFO"
    );
}

#[tokio::test]
async fn prometheus_port_serves_metrics_apart_from_the_api() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert("PROMETHEUS_PORT".into(), "0".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics_url = loop {
        let found = server.log_lines().iter().find_map(|line| {
            line.find("serving /metrics on http://").map(|start| {
                line[start + "serving /metrics on ".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect::<String>()
            })
        });
        if let Some(url) = found {
            break url;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            server.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!metrics_url.starts_with(&server.base_url), "{metrics_url}");
    let scraped = server
        .client
        .get(&metrics_url)
        .send()
        .await
        .expect("scrape");
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.expect("text");
    assert!(text.contains("entmoot_build_info"), "{text}");
    let health_url = metrics_url.replace("/metrics", "/health/live");
    let live = server.client.get(&health_url).send().await.expect("live");
    assert_eq!(live.status(), 200, "probes work on the metrics port too");
    let on_api = server.get("/metrics").await.expect("GET /metrics");
    assert_eq!(
        on_api.status(),
        404,
        "not on the API port when PROMETHEUS_PORT is set"
    );
    drop(server);

    let mut env = embedded_env(data_dir.path());
    env.insert("PROMETHEUS_ENABLED".into(), "false".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");
    let disabled = server.get("/metrics").await.expect("GET /metrics");
    assert_eq!(disabled.status(), 404, "PROMETHEUS_ENABLED=false");
}

#[tokio::test]
async fn readiness_fails_with_the_database_while_liveness_holds() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, data_dir.path());
    // With the database gone no token can be checked, so the detailed report on the
    // API port is only there when the operator says it is public.
    env.insert("ENTMOOT_PUBLIC_OPERATIONS".into(), "true".into());
    let migrated = run_entmoot(data_dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let server = TestServer::start_with_args(data_dir.path(), &env, &["--no-worker"])
        .await
        .expect("server");
    for path in ["/health", "/health/ready", "/health/live"] {
        let response = server.get(path).await.expect(path);
        assert_eq!(response.status(), 200, "{path}");
    }

    let name = database.url.rsplit('/').next().unwrap().to_owned();
    entmoot_migrations::drop_database(&postgres_admin_url(), &name)
        .await
        .expect("drop the database under the server");

    for path in ["/health", "/health/ready"] {
        let response = server.get(path).await.expect(path);
        assert_eq!(response.status(), 503, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["status"], "unhealthy", "{body}");
        assert!(
            body["failing"]
                .as_array()
                .unwrap()
                .contains(&json!("database")),
            "{body}"
        );
        assert_eq!(body["checks"]["database"]["status"], "failing", "{body}");
        assert!(
            body["version"].is_string() && body["timestamp"].is_string(),
            "{body}"
        );
    }
    let live = server.get("/health/live").await.expect("live");
    assert_eq!(
        live.status(),
        200,
        "liveness does not depend on the database"
    );
}

/// Opens a `graphql-transport-ws` socket with the server's key and waits for the ack.
async fn open_acknowledged_socket(server: &TestServer) -> entmoot_tests::GraphqlSocket {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let mut socket = entmoot_tests::connect_graphql_socket(&server.base_url)
        .await
        .expect("connect");
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", server.api_key)}});
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    loop {
        let Some(Ok(Message::Text(text))) = socket.next().await else {
            panic!("no connection_ack");
        };
        if text.contains("connection_ack") {
            return socket;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;

    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert("ENTMOOT_DEBUG_ROUTES".into(), "true".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");
    let client = server.client.clone();
    let slow_url = format!("{}/debug/sleep?ms=2500", server.base_url);
    let base_url = server.base_url.clone();
    let slow = tokio::spawn(async move { client.get(slow_url).send().await });
    // An open websocket is told to go elsewhere (1001) rather than holding the stop
    // for its whole 30 s.
    let mut socket = open_acknowledged_socket(&server).await;
    let told = tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Close(frame) = frame {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let stopped = tokio::task::spawn_blocking(move || server.stop());
    let response = slow
        .await
        .expect("task")
        .expect("the in-flight request is answered, not cut");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["slept_ms"], 2500);
    stopped
        .await
        .expect("task")
        .expect("the server exits after SIGTERM");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped in {:?}",
        started.elapsed()
    );
    assert_eq!(told.await.expect("task"), Some(1001));
    let refused = reqwest::Client::new()
        .get(format!("{base_url}/health/live"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "nothing listens after the stop");
}

#[tokio::test]
async fn a_worker_serves_metrics_and_probes_on_prometheus_port() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, data_dir.path());
    let migrated = run_entmoot(data_dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    env.insert("PROMETHEUS_PORT".into(), "0".into());
    let mut worker = entmoot_tests::entmoot_command(data_dir.path(), &env)
        .arg("worker")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn entmoot worker");
    let stderr = worker.stderr.take().expect("stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(start) = line.find("serving /metrics on http://") {
                let url: String = line[start + "serving /metrics on ".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                let _ = sender.send(url);
            }
        }
    });
    let metrics_url = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the worker logs its metrics address");
    let client = reqwest::Client::new();
    let text = client
        .get(&metrics_url)
        .send()
        .await
        .expect("scrape the worker")
        .text()
        .await
        .expect("text");
    assert!(text.contains("entmoot_worker_active_jobs"), "{text}");
    let ready = client
        .get(metrics_url.replace("/metrics", "/health/ready"))
        .send()
        .await
        .expect("readiness");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("JSON");
    assert_eq!(body["role"], "worker", "{body}");

    let pid = worker.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = worker.try_wait().expect("wait") {
            assert!(
                status.success(),
                "the worker exits cleanly on SIGTERM: {status}"
            );
            break;
        }
        if Instant::now() > deadline {
            let _ = worker.kill();
            panic!("the worker did not stop within 40 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
