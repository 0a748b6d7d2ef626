//! What an unauthenticated client can make the server hold or tell: a multipart
//! `operations` part is held to the JSON limit (and multipart needs a token at all), a
//! websocket that never sends `connection_init` is closed, one that streams
//! continuation frames is closed at the message limit, a megabyte "e-mail" at sign-in
//! is just a wrong e-mail, an invalid id is not echoed back whole; in production there
//! is no GraphiQL, and anonymous callers outside development cannot introspect or read
//! /metrics on the API port.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{
    GraphqlSocket, MULTIPART_CONTENT_TYPE, TestServer, connect_graphql_socket, embedded_env,
    graphql_multipart_body,
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

async fn open_socket(server: &TestServer) -> GraphqlSocket {
    connect_graphql_socket(&server.base_url)
        .await
        .expect("connect")
}

/// Reads until the server closes; returns the close code, if it sent one.
async fn close_code(socket: &mut GraphqlSocket, within: Duration) -> Option<u16> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match tokio::time::timeout(deadline - Instant::now(), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|frame| frame.code.into()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return None,
            Err(_) => break,
        }
    }
    panic!("the server did not close the socket within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_bytes_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_ENV".into(), "staging".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let anonymous = reqwest::Client::new();

    // Multipart: without a token, refused before the body is read.
    let body = graphql_multipart_body(
        "mutation($file: Upload!) { uploadParcel(projectId: \"x\", file: $file) { id } }",
        json!({"file": null}),
        "file",
        "parcel.kml",
        b"<kml/>",
    );
    let refused = anonymous
        .post(format!("{}/graphql", server.base_url))
        .header("Content-Type", MULTIPART_CONTENT_TYPE)
        .header("Apollo-Require-Preflight", "true")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status().as_u16(), 401);

    // With a token, an `operations` part over 1 MiB is refused (413), not stored.
    let huge_name = "n".repeat(2 * 1024 * 1024);
    let body = graphql_multipart_body(
        &format!(
            "mutation($file: Upload!) {{ uploadParcel(projectId: \"{huge_name}\", file: $file) {{ id }} }}"
        ),
        json!({"file": null}),
        "file",
        "parcel.kml",
        b"<kml/>",
    );
    let too_large = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("Content-Type", MULTIPART_CONTENT_TYPE)
        .header("Apollo-Require-Preflight", "true")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(too_large.status().as_u16(), 413);
    let answer: Value = too_large.json().await.expect("json");
    assert!(
        answer.to_string().contains("`operations` part exceeds"),
        "{answer}"
    );

    // A socket that never says connection_init is closed with 4408.
    let mut idle = open_socket(&server).await;
    assert_eq!(
        close_code(&mut idle, Duration::from_secs(10)).await,
        Some(4408)
    );

    // A socket streaming continuation frames is closed at the message limit (1009),
    // before sending connection_init.
    let mut streaming = open_socket(&server).await;
    streaming
        .send(Message::Frame(Frame::message(
            vec![b' '; 60 * 1024],
            OpCode::Data(Data::Text),
            false,
        )))
        .await
        .expect("first frame");
    let mut sent = 60 * 1024;
    let mut closed = false;
    while sent < 4 * 1024 * 1024 {
        if streaming
            .send(Message::Frame(Frame::message(
                vec![b' '; 60 * 1024],
                OpCode::Data(Data::Continue),
                false,
            )))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        sent += 60 * 1024;
    }
    // Writes succeed into the kernel's buffers for a while after the server closed;
    // what matters is that it closes, with 1009 (message too big).
    if !closed {
        assert_eq!(
            close_code(&mut streaming, Duration::from_secs(10)).await,
            Some(1009),
            "after {sent} bytes of one message"
        );
    }

    // A megabyte e-mail is a wrong e-mail, and an invalid id is not echoed whole.
    let sign_in: Value = anonymous
        .post(format!("{}/graphql", server.base_url))
        .json(&json!({
            "query": "mutation($email: String!) { signIn(email: $email, password: \"whatever it is\") { token } }",
            "variables": {"email": "e".repeat(1_000_000)},
        }))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(
        sign_in["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED",
        "{}",
        &sign_in.to_string()[..200]
    );
    let invalid_id = server
        .graphql(
            "query($id: ID!) { project(id: $id) { name } }",
            json!({"id": "A".repeat(900_000)}),
        )
        .await
        .expect("project");
    assert!(
        invalid_id.to_string().len() < 2_000,
        "{}",
        &invalid_id.to_string()[..300]
    );

    // Outside development, an anonymous caller cannot introspect nor read /metrics on
    // the API port; a caller with a key can.
    let introspect = json!({"query": "{ __schema { queryType { name } } }"});
    let anonymous_schema: Value = anonymous
        .post(format!("{}/graphql", server.base_url))
        .json(&introspect)
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert!(
        anonymous_schema["data"]["__schema"].is_null(),
        "{anonymous_schema}"
    );
    let with_key = server
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await
        .expect("introspection");
    assert_eq!(with_key["data"]["__schema"]["queryType"]["name"], "Query");
    let metrics = anonymous
        .get(format!("{}/metrics", server.base_url))
        .send()
        .await
        .expect("GET");
    assert_eq!(metrics.status().as_u16(), 401);
    let health: Value = anonymous
        .get(format!("{}/health", server.base_url))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert!(health.get("checks").is_none(), "{health}");
    assert!(
        health["status"].is_string()
            && health["version"].is_string()
            && health["timestamp"].is_string()
    );
    let detailed: Value = server
        .get("/health")
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert!(detailed["checks"].is_object(), "{detailed}");
}

#[tokio::test]
async fn production_serves_no_graphiql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_ENV".into(), "production".into());
    env.insert("SECRET_KEY".into(), entmoot_tests::TEST_SECRET_KEY.into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let page = reqwest::Client::new()
        .get(format!("{}/graphql", server.base_url))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GET");
    let text = page.text().await.expect("body");
    assert!(!text.contains("GraphiQL"), "{text}");
}
