//! The websocket obeys the rules HTTP does: every operation on an open socket is
//! authenticated anew (a revoked key stops working, and an open subscription ends
//! within seconds), rate-limited per key, and a mutation over the socket lands in the
//! audit log.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use entmoot_tests::{TestServer, create_project, embedded_env, run_entmoot, subscribe_with_token};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn issue_key(
    server_dir: &std::path::Path,
    env: &std::collections::HashMap<String, String>,
) -> (String, String) {
    let output = run_entmoot(
        server_dir,
        env,
        &[
            "admin", "keys", "create", "--name", "socket", "--role", "admin", "--json",
        ],
    );
    assert!(output.status.success());
    let issued: Value = serde_json::from_slice(&output.stdout).expect("json");
    (
        issued["token"].as_str().expect("token").to_owned(),
        issued["id"].as_str().expect("id").to_owned(),
    )
}

/// Opens a `graphql-transport-ws` socket with `token` and waits for the ack.
async fn open_socket(base_url: &str, token: &str) -> entmoot_tests::GraphqlSocket {
    let mut socket = entmoot_tests::connect_graphql_socket(base_url)
        .await
        .expect("connect");
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
                .to_string(),
        ))
        .await
        .expect("init");
    loop {
        let Some(Ok(Message::Text(text))) = socket.next().await else {
            panic!("no connection_ack");
        };
        let message: Value = serde_json::from_str(&text).expect("json");
        if message["type"] == "connection_ack" {
            return socket;
        }
    }
}

/// Runs one operation over the socket and returns its first `next` payload.
async fn run_over_socket(
    socket: &mut entmoot_tests::GraphqlSocket,
    id: &str,
    query: &str,
) -> Value {
    socket
        .send(Message::text(
            json!({"id": id, "type": "subscribe", "payload": {"query": query}}).to_string(),
        ))
        .await
        .expect("send");
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer within 10 s");
        let Some(Ok(Message::Text(text))) = message else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).expect("json");
        if message["id"] == id && (message["type"] == "next" || message["type"] == "error") {
            return message["payload"].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_is_limited_audited_and_cut_off_when_its_key_is_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_RATE_LIMIT_PER_KEY".into(), "6".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Watched").await;

    // A subscription with a key of its own, which is then revoked.
    let (revoked, revoked_id) = issue_key(dir.path(), &env);
    let mut updates = subscribe_with_token(
        &server.base_url,
        Some(&revoked),
        "subscription($p: ID!) { jobUpdates(projectId: $p) { jobId status } }",
        json!({"p": project}),
    )
    .await
    .expect("subscribe");
    assert!(
        tokio::time::timeout(Duration::from_secs(2), updates.recv())
            .await
            .is_err(),
        "nothing to report yet"
    );
    let output = run_entmoot(dir.path(), &env, &["admin", "keys", "revoke", &revoked_id]);
    assert!(output.status.success());
    let ended = tokio::time::timeout(Duration::from_secs(15), updates.recv())
        .await
        .expect("the subscription ends within 15 s of the revocation");
    if let Some(message) = ended {
        let text = message.to_string();
        assert!(
            text.contains("UNAUTHENTICATED") || text.contains("complete"),
            "{text}"
        );
    }

    // Queries and mutations on a socket count against the key's limit, and the
    // mutation is audited with the key.
    let (key, key_id) = issue_key(dir.path(), &env);
    let mut socket = open_socket(&server.base_url, &key).await;
    let created = run_over_socket(
        &mut socket,
        "m",
        "mutation { createProject(input: {name: \"Over the socket\"}) { id } }",
    )
    .await;
    assert!(
        created["data"]["createProject"]["id"].is_string(),
        "{created}"
    );
    let mut codes = Vec::new();
    for attempt in 0..8 {
        let answer = run_over_socket(&mut socket, &format!("q{attempt}"), "{ apiVersion }").await;
        codes.push(
            answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("ok")
                .to_owned(),
        );
    }
    assert!(
        codes.iter().any(|code| code == "LIMIT_EXCEEDED"),
        "eight queries over one socket with a limit of six per minute: {codes:?}"
    );
    let audit = run_entmoot(dir.path(), &env, &["admin", "audit"]);
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(
        audit
            .lines()
            .any(|line| line.contains("createProject") && line.contains(&key_id)),
        "the socket's mutation is audited with its key: {audit}"
    );
}
