//! Sentry: with SENTRY_DSN pointing at a listener in this test, a panicking handler
//! and a handler failing with a 500 each reach "Sentry" as an envelope whose event
//! carries the request id (tag `request_id`) and the request; the server answers the
//! panic with a 500 that carries the id and keeps serving.
//!
//! The failing routes exist only with ENTMOOT_DEBUG_ROUTES=true (refused in
//! production; see server/src/http/debug.rs).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entmoot_tests::{TestServer, embedded_env};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Envelope bodies received by the fake Sentry, in arrival order.
type Received = Arc<Mutex<Vec<String>>>;

/// Reads one HTTP/1.1 request (headers and a Content-Length body) and answers 200.
async fn serve_one(mut socket: TcpStream, received: Received) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..]).into_owned();
    received.lock().unwrap().push(body);
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        .await?;
    socket.shutdown().await
}

async fn fake_sentry() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let received: Received = Arc::default();
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve_one(socket, sink.clone()));
        }
    });
    (port, received)
}

/// The event (an envelope item) tagged with `request_id`, once it has arrived.
async fn event_for(received: &Received, request_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bodies = received.lock().unwrap().clone();
        for body in &bodies {
            for line in body.lines() {
                if let Ok(item) = serde_json::from_str::<Value>(line)
                    && item["tags"]["request_id"] == request_id
                {
                    return item;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no Sentry event tagged request_id={request_id} within 20 s; received:\n{}",
            bodies.join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn panics_and_server_errors_reach_sentry_with_their_request_id() {
    let (port, received) = fake_sentry().await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert(
        "SENTRY_DSN".into(),
        format!("http://public@127.0.0.1:{port}/42"),
    );
    env.insert("SENTRY_ENVIRONMENT".into(), "operations-test".into());
    env.insert("SENTRY_TRACES_SAMPLE_RATE".into(), "0".into());
    env.insert("ENTMOOT_DEBUG_ROUTES".into(), "true".into());
    let server = TestServer::start(data_dir.path(), &env)
        .await
        .expect("server");

    // A panic inside a handler.
    let panic_id = format!("sentry-panic-{}", uuid::Uuid::new_v4().simple());
    let response = server
        .client
        .get(format!("{}/debug/panic", server.base_url))
        .header("X-Request-ID", &panic_id)
        .send()
        .await
        .expect("GET /debug/panic");
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["x-request-id"].to_str().unwrap(),
        panic_id,
        "the 500 carries the request id"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        panic_id.as_str()
    );

    let event = event_for(&received, &panic_id).await;
    let text = event.to_string();
    assert!(text.contains("deliberate panic"), "{event:#}");
    assert_eq!(event["environment"], "operations-test", "{event:#}");
    assert!(
        event["request"]["url"]
            .as_str()
            .is_some_and(|url| url.ends_with("/debug/panic")),
        "the request context is attached: {event:#}"
    );
    assert_eq!(
        event["level"], "fatal",
        "a panic is reported as fatal: {event:#}"
    );

    // The worker thread survived the panic.
    // On a new connection: the one that carried the panic may be closed by now, and a
    // pooled client could race that close.
    let live = reqwest::Client::new()
        .get(format!("{}/health/live", server.base_url))
        .send()
        .await
        .expect("GET /health/live");
    assert_eq!(live.status(), 200);

    // A 500 returned as an error (captured by the Sentry middleware).
    let error_id = format!("sentry-error-{}", uuid::Uuid::new_v4().simple());
    let response = server
        .client
        .get(format!("{}/debug/error", server.base_url))
        .header("X-Request-ID", &error_id)
        .send()
        .await
        .expect("GET /debug/error");
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["x-request-id"].to_str().unwrap(),
        error_id
    );
    let event = event_for(&received, &error_id).await;
    assert!(event.to_string().contains("deliberate error"), "{event:#}");
    // Sentry omits the level when it is the default, error.
    assert_eq!(
        event["level"].as_str().unwrap_or("error"),
        "error",
        "{event:#}"
    );
    assert!(
        event["request"]["url"]
            .as_str()
            .is_some_and(|url| url.ends_with("/debug/error")),
        "{event:#}"
    );

    // Each failure was reported once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bodies = received.lock().unwrap().clone();
    for id in [&panic_id, &error_id] {
        let events = bodies
            .iter()
            .flat_map(|body| body.lines())
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|item| item["tags"]["request_id"] == id.as_str())
            .count();
        assert_eq!(events, 1, "{id} reported {events} times");
    }
}

#[test]
fn debug_routes_are_refused_in_production() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(data_dir.path());
    env.insert("ENTMOOT_ENV".into(), "production".into());
    env.insert("ENTMOOT_DEBUG_ROUTES".into(), "true".into());
    let output = entmoot_tests::run_entmoot(data_dir.path(), &env, &["serve"]);
    assert_eq!(output.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ENTMOOT_DEBUG_ROUTES"), "{stderr}");
}
