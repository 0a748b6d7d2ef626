//! The websocket transport on its own (it is served beside actix-web, from the bare TCP
//! stream): upgrades it refuses get a plain HTTP answer and leave HTTP working, a
//! client's first frame may ride in the same packet as its handshake, pings are
//! answered, a close is answered with a close, an operation runs over the socket, and
//! `entmoot_websockets_open` counts the socket while it is open, and an instance holds
//! no more sockets than ENTMOOT_MAX_WEBSOCKETS.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use entmoot_tests::{TestServer, connect_graphql_socket, embedded_env};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn address(server: &TestServer) -> String {
    server.base_url.trim_start_matches("http://").to_owned()
}

/// Sends `request` on a fresh connection and returns everything the server answers
/// until it closes the connection (or 10 s pass).
async fn raw_exchange(server: &TestServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address(server)).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn upgrade_request(method: &str, path: &str, protocol: Option<&str>) -> Vec<u8> {
    let protocol = protocol
        .map(|protocol| format!("Sec-WebSocket-Protocol: {protocol}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{protocol}\r\n"
    )
    .into_bytes()
}

/// One masked client text frame (payload under 126 bytes).
fn masked_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    assert!(payload.len() < 126);
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4]),
    );
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_upgrades_get_an_http_answer_and_http_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");

    let elsewhere = raw_exchange(
        &server,
        &upgrade_request("GET", "/", Some("graphql-transport-ws")),
    )
    .await;
    assert!(elsewhere.starts_with("HTTP/1.1 404 "), "{elsewhere}");
    assert!(
        elsewhere.contains("websocket is at /graphql"),
        "{elsewhere}"
    );

    let no_protocol = raw_exchange(&server, &upgrade_request("GET", "/graphql", None)).await;
    assert!(no_protocol.starts_with("HTTP/1.1 400 "), "{no_protocol}");
    assert!(
        no_protocol.contains("graphql-transport-ws or graphql-ws"),
        "{no_protocol}"
    );

    let post = raw_exchange(
        &server,
        &upgrade_request("POST", "/graphql", Some("graphql-transport-ws")),
    )
    .await;
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");

    let answer = server
        .graphql("{ apiVersion }", json!({}))
        .await
        .expect("HTTP after refused upgrades");
    assert!(answer["data"]["apiVersion"].is_string(), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_frame_in_the_handshake_s_packet_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let mut stream = TcpStream::connect(address(&server)).await.expect("connect");
    let mut packet = upgrade_request("GET", "/graphql", Some("graphql-transport-ws"));
    packet.extend(masked_text_frame(r#"{"type":"connection_init"}"#));
    stream.write_all(&packet).await.expect("write");

    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    let acknowledged = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let read = stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "closed: {}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&chunk[..read]);
            if String::from_utf8_lossy(&received).contains("connection_ack") {
                return;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received);
    assert!(acknowledged.is_ok(), "no connection_ack: {text}");
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    // The accept key of RFC 6455's own example.
    assert!(
        text.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{text}"
    );
    assert!(
        text.contains("sec-websocket-protocol: graphql-transport-ws"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_answers_pings_runs_operations_and_answers_a_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let url = format!(
        "{}/graphql",
        server.base_url.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .expect("ping");
    let pong = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a pong within 10 s")
        .expect("open")
        .expect("a frame");
    assert_eq!(pong, Message::Pong(b"are you there".to_vec().into()));

    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", server.api_key)}})
                .to_string(),
        ))
        .await
        .expect("init");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": "{ apiVersion }"}})
                .to_string(),
        ))
        .await
        .expect("subscribe");
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|message: &Value| message["type"] == "complete")
    {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer within 10 s")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            seen.push(serde_json::from_str(&text).expect("json"));
        }
    }
    assert_eq!(seen[0]["type"], "connection_ack", "{seen:?}");
    assert_eq!(open_websockets(&server).await, 1);
    let result = seen
        .iter()
        .find(|message| message["type"] == "next")
        .expect("a result");
    assert!(
        result["payload"]["data"]["apiVersion"].is_string(),
        "{result}"
    );
    assert!(result["payload"]["errors"].is_null(), "{result}");

    socket
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        })))
        .await
        .expect("close");
    let answered = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Close(frame) = frame {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .expect("the server answers a close within 10 s");
    assert_eq!(answered, Some(1000));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while open_websockets(&server).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the gauge still counts the closed socket"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `entmoot_websockets_open` from /metrics.
async fn open_websockets(server: &TestServer) -> i64 {
    let text = server
        .get("/metrics")
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix("entmoot_websockets_open "))
        .unwrap_or_else(|| panic!("no entmoot_websockets_open in:\n{text}"))
        .trim()
        .parse()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_beyond_the_limit_get_503_until_one_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_MAX_WEBSOCKETS".into(), "2".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");

    let mut first = connect_graphql_socket(&server.base_url)
        .await
        .expect("first socket");
    let _second = connect_graphql_socket(&server.base_url)
        .await
        .expect("second socket");
    let refused = raw_exchange(
        &server,
        &upgrade_request("GET", "/graphql", Some("graphql-transport-ws")),
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    assert!(refused.contains("as many websockets"), "{refused}");
    let answer = server
        .graphql("{ apiVersion }", json!({}))
        .await
        .expect("HTTP beside a full house of sockets");
    assert!(answer["data"]["apiVersion"].is_string(), "{answer}");

    // A socket that closes makes room again.
    first.close(None).await.expect("close");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match connect_graphql_socket(&server.base_url).await {
            Ok(_third) => break,
            Err(error) if tokio::time::Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("no room after a socket closed: {error}"),
        }
    }
}
