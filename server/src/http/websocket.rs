//! The GraphQL websocket (`graphql-transport-ws` and the legacy `graphql-ws`) on
//! /graphql, served beside actix-web rather than through it. actix-http hands every
//! request that asks for `Upgrade: websocket` to `serve_upgrade` with its TCP stream, so
//! an open socket keeps no HTTP/1 dispatcher (two 8 KiB buffers), no actix-web request
//! and no actor: while it is idle it holds the stream, its subscriptions and a few
//! hundred bytes of state, and no read or write buffer at all (bytes are read only when
//! the kernel says some arrived, and a buffer lives only while a frame is incomplete).
//!
//! What an unauthenticated client can make it hold is bounded: frames are at most
//! `MAX_FRAME_BYTES`, a message assembled from continuation frames at most
//! `MAX_MESSAGE_BYTES`, at most `MESSAGES_IN_FLIGHT` messages wait for the protocol
//! handler, a socket that has not sent `connection_init` within
//! `CONNECTION_INIT_TIMEOUT` is closed (4408, as the protocol says), one that does not
//! answer pings within `CLIENT_TIMEOUT` is dropped, and one that does not read what it
//! is sent within `WRITE_TIMEOUT` is dropped. On a graceful shutdown every socket is
//! closed with 1001 (going away), so clients reconnect to another instance at once
//! instead of holding the shutdown for its whole timeout.
//!
//! After the handshake a socket runs as its own task (`OpenSockets`), so the HTTP
//! connection's dispatcher ends and is freed; the process holds at most
//! `OpenSockets::limit` sockets and answers 503 to an upgrade beyond it.
//!
//! The protocol itself is async-graphql's (`http::WebSocket`); every operation on the
//! socket passes the same rulebook as HTTP (`rulebook.rs`). Browsers cannot set headers on
//! a websocket and the API takes no cookies, so a socket from another origin carries no
//! credential of the user's: the origin is not checked here, the token is.

use std::pin::pin;
use std::str::FromStr;
use std::time::Duration;

use actix_codec::{Decoder, Encoder, Framed, FramedParts};
use actix_http::ws::{self, CloseCode, CloseReason, Frame, Item, ProtocolError};
use actix_http::{Method, Request, h1};
use actix_web::http::header::{self, HeaderMap};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::channel::mpsc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use entmoot_schema::{ClientAddress, EntmootSchema};

use crate::http::HttpState;
use crate::http::authentication::{self, Credential};
use crate::http::browser_policy;
use crate::http::graphql::client_address_of;
use crate::http::rulebook::SocketCredential;

/// Largest frame accepted.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest message, continuation frames included: the JSON body's limit.
pub const MAX_MESSAGE_BYTES: usize = crate::http::graphql::MAX_BODY_BYTES;
/// Messages received and not yet taken by the protocol handler.
pub const MESSAGES_IN_FLIGHT: usize = 32;
/// Time a client has to send `connection_init`.
pub const CONNECTION_INIT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the server pings.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Silence (no frame of any kind, pongs included) after which a client is gone.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to take one message off the server's hands.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the kernel at a time.
const READ_CHUNK_BYTES: usize = 4096;

/// Time the open sockets get to say goodbye on shutdown before the rest of the server
/// stops (a client that does not take its close frame in that time is dropped).
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// The path the websocket is served on.
pub const PATH: &str = "/graphql";

/// The process's open sockets: each runs as its own task, so that the HTTP
/// connection's dispatcher (its future and its buffers) is freed once the handshake is
/// done, and so that a shutdown can close them all and wait for them.
#[derive(Clone)]
pub struct OpenSockets {
    tasks: TaskTracker,
    closing: CancellationToken,
    limit: usize,
}

impl OpenSockets {
    /// At most `limit` sockets at once (ENTMOOT_MAX_WEBSOCKETS): actix-server no longer
    /// counts them among its connections once they leave the dispatcher.
    pub fn new(limit: usize) -> Self {
        Self {
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
            limit,
        }
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.tasks.len()
    }

    /// Closes every open socket with 1001 (going away), refuses new ones, and waits
    /// until all have ended or `grace` has passed. Returns the sockets still open then
    /// (they end when the server's workers stop).
    pub async fn close_all(&self, grace: Duration) -> usize {
        self.closing.cancel();
        self.tasks.close();
        let _ = timeout(grace, self.tasks.wait()).await;
        self.tasks.len()
    }
}

/// Serves one upgrade request: the handshake (or a refusal), then hands the socket to
/// its own task until either side closes it. Errors are the client's (it left, it
/// broke the protocol) and end only this socket, so none is returned.
pub async fn serve_upgrade(
    state: HttpState,
    request: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_http::Error> {
    // Only the stream and what the client sent behind its handshake are kept: the
    // dispatcher's write buffer (8 KiB of capacity) would otherwise live as long as the
    // socket.
    let FramedParts {
        io: mut stream,
        read_buf: pending,
        ..
    } = framed.into_parts();
    let head = request.head();
    let sockets = &state.websockets;
    let accepted = if sockets.closing.is_cancelled() {
        Err(Refusal::new(
            503,
            "Service Unavailable",
            "the server is shutting down",
        ))
    } else if sockets.open() >= sockets.limit {
        Err(Refusal::new(
            503,
            "Service Unavailable",
            "this server holds as many websockets as it may; try again later or elsewhere",
        ))
    } else {
        handshake(&head.method, head.uri.path(), &head.headers)
    };
    let protocol = match accepted {
        Ok(accepted) => accepted,
        Err(refusal) => {
            let _ = timeout(WRITE_TIMEOUT, stream.write_all(&refusal.to_http())).await;
            return Ok(());
        }
    };
    let Some(key) = head.headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Ok(()); // `handshake` has checked it is there
    };
    let accept = ws::hash_key(key.as_bytes());
    let mut response = Vec::with_capacity(256);
    response.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ",
    );
    response.extend_from_slice(&accept);
    response.extend_from_slice(b"\r\nsec-websocket-protocol: ");
    response.extend_from_slice(protocol.sec_websocket_protocol().as_bytes());
    response.extend_from_slice(b"\r\n\r\n");
    if !matches!(
        timeout(WRITE_TIMEOUT, stream.write_all(&response)).await,
        Ok(Ok(()))
    ) {
        return Ok(());
    }
    let connection = Connection {
        credential: authentication::credential_of_headers(&head.headers),
        address: client_address_of(
            state.rate_limits.trust_forwarded_headers,
            &head.headers,
            request.peer_addr(),
        )
        .unwrap_or_default(),
    };
    drop(request);
    // Only the schema goes along: the socket's task holds nothing else of the state for
    // its whole life. Bytes the client sent right behind its handshake are its first.
    let socket = run_socket(
        state.schema.clone(),
        sockets.closing.clone(),
        stream,
        pending,
        protocol,
        connection,
    );
    // On the worker's own thread (the stream is registered with its reactor). A worker
    // that stops drops its sockets' tasks, which is why a shutdown closes them first
    // (`OpenSockets::close_all`).
    tokio::task::spawn_local(sockets.tasks.track_future(socket));
    Ok(())
}

/// What the upgrade request said about its caller, for every operation on the socket.
struct Connection {
    /// The `Authorization` header of the upgrade request, if any; a credential in the
    /// `connection_init` payload takes its place.
    credential: Credential,
    address: String,
}

/// Why an upgrade request was not accepted, as an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
        }
    }

    /// The whole HTTP/1.1 response, which closes the connection.
    pub fn to_http(&self) -> Vec<u8> {
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
             connection: close\r\nx-content-type-options: nosniff\r\ncontent-security-policy: {}\r\n\r\n{}",
            self.status,
            self.reason,
            self.message.len(),
            browser_policy::API_CONTENT_SECURITY_POLICY,
            self.message
        )
        .into_bytes()
    }
}

/// Checks an upgrade request: the websocket lives on GET /graphql, speaks version 13
/// and one of the two GraphQL subprotocols.
pub fn handshake(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<WebSocketProtocols, Refusal> {
    if path != PATH {
        return Err(Refusal::new(
            404,
            "Not Found",
            format!("the GraphQL websocket is at {PATH}; nothing else upgrades"),
        ));
    }
    if method != Method::GET {
        return Err(Refusal::new(
            405,
            "Method Not Allowed",
            "a websocket opens with GET",
        ));
    }
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return Err(Refusal::new(
            400,
            "Bad Request",
            "a websocket upgrade needs `Connection: upgrade`",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version.as_bytes() != b"13")
    {
        return Err(Refusal::new(
            400,
            "Bad Request",
            "Sec-WebSocket-Version must be 13",
        ));
    }
    if headers.get(header::SEC_WEBSOCKET_KEY).is_none() {
        return Err(Refusal::new(
            400,
            "Bad Request",
            "Sec-WebSocket-Key is missing",
        ));
    }
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|protocols| protocols.split(','))
        .find_map(|protocol| WebSocketProtocols::from_str(protocol.trim()).ok())
        .ok_or_else(|| {
            Refusal::new(
                400,
                "Bad Request",
                "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
            )
        })
}

/// How a socket ended, for the close frame the server sends (if any).
enum Ending {
    /// Send this close frame, then stop.
    Close(CloseCode, String),
    /// The client closed, left, broke the protocol or stopped reading: just stop.
    Drop,
}

async fn run_socket(
    schema: EntmootSchema,
    closing: CancellationToken,
    mut stream: TcpStream,
    mut pending: BytesMut,
    protocol: WebSocketProtocols,
    connection: Connection,
) {
    let _counted = crate::metrics_registry::websocket_opened();
    let (mut to_protocol, messages) = mpsc::channel::<Bytes>(MESSAGES_IN_FLIGHT);
    let initialised = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let init_seen = initialised.clone();
    let Connection {
        credential: header_credential,
        address,
    } = connection;
    let graphql = WebSocket::new(schema, messages, protocol).on_connection_init(move |payload| {
        init_seen.store(true, std::sync::atomic::Ordering::SeqCst);
        async move {
            let credential = match authentication::credential_of_init_payload(&payload) {
                Credential::Absent => header_credential,
                from_payload => from_payload,
            };
            let mut data = async_graphql::Data::default();
            data.insert(SocketCredential(credential));
            data.insert(ClientAddress(address));
            Ok(data)
        }
    });
    let mut graphql = pin!(graphql);
    let mut codec = ws::Codec::new().max_size(MAX_FRAME_BYTES);
    let mut continuation: Option<Vec<u8>> = None;
    let mut heartbeat = interval(HEARTBEAT_INTERVAL);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    heartbeat.reset(); // the first tick one interval from now, not at once
    let init_deadline = Instant::now() + CONNECTION_INIT_TIMEOUT;
    let mut last_heard = Instant::now();
    let shutting_down = closing.cancelled();
    let mut shutting_down = pin!(shutting_down);

    let ending = 'socket: loop {
        // Frames that are already here (the handshake's tail, or a read that brought
        // several) are handled before waiting for more.
        loop {
            match codec.decode(&mut pending) {
                Ok(Some(frame)) => {
                    last_heard = Instant::now();
                    match handle_frame(frame, &mut continuation, &mut to_protocol) {
                        Handled::Continue => {}
                        Handled::Pong(bytes) => {
                            if write(&mut stream, &mut codec, ws::Message::Pong(bytes))
                                .await
                                .is_err()
                            {
                                break 'socket Ending::Drop;
                            }
                        }
                        Handled::End(ending) => break 'socket ending,
                    }
                }
                Ok(None) => break,
                Err(ProtocolError::Overflow) => {
                    break 'socket Ending::Close(CloseCode::Size, "frame too large".into());
                }
                Err(_) => break 'socket Ending::Drop,
            }
        }
        if pending.is_empty() {
            // Hold no buffer while the socket is idle.
            pending = BytesMut::new();
        }
        let initialised_now = initialised.load(std::sync::atomic::Ordering::SeqCst);
        tokio::select! {
            readable = stream.readable() => {
                if readable.is_err() {
                    break Ending::Drop;
                }
                let mut chunk = [0u8; READ_CHUNK_BYTES];
                match stream.try_read(&mut chunk) {
                    Ok(0) => break Ending::Drop,
                    Ok(read) => pending.extend_from_slice(&chunk[..read]),
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break Ending::Drop,
                }
            }
            outgoing = graphql.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    if write(&mut stream, &mut codec, ws::Message::Text(text.into())).await.is_err() {
                        break Ending::Drop;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    break Ending::Close(CloseCode::from(code), reason);
                }
                None => break Ending::Close(CloseCode::Normal, String::new()),
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > CLIENT_TIMEOUT {
                    break Ending::Drop;
                }
                if write(&mut stream, &mut codec, ws::Message::Ping(Bytes::new())).await.is_err() {
                    break Ending::Drop;
                }
            }
            _ = sleep_until(init_deadline), if !initialised_now => {
                break Ending::Close(
                    CloseCode::Other(4408),
                    "Connection initialisation timeout".into(),
                );
            }
            _ = &mut shutting_down => {
                break Ending::Close(CloseCode::Away, "the server is shutting down".into());
            }
        }
    };
    if let Ending::Close(code, description) = ending {
        let reason = CloseReason {
            code,
            description: (!description.is_empty()).then_some(description),
        };
        let _ = write(&mut stream, &mut codec, ws::Message::Close(Some(reason))).await;
    }
    let _ = timeout(WRITE_TIMEOUT, stream.shutdown()).await;
}

/// What a frame asks of the socket.
enum Handled {
    Continue,
    /// Answer a ping.
    Pong(Bytes),
    End(Ending),
}

fn handle_frame(
    frame: Frame,
    continuation: &mut Option<Vec<u8>>,
    to_protocol: &mut mpsc::Sender<Bytes>,
) -> Handled {
    let complete = match frame {
        Frame::Ping(bytes) => return Handled::Pong(bytes),
        Frame::Pong(_) => return Handled::Continue,
        // The closing handshake: answer with a close of our own.
        Frame::Close(_) => return Handled::End(Ending::Close(CloseCode::Normal, String::new())),
        Frame::Text(bytes) | Frame::Binary(bytes) => bytes,
        Frame::Continuation(item) => {
            let (first, last, bytes) = match item {
                Item::FirstText(bytes) | Item::FirstBinary(bytes) => (true, false, bytes),
                Item::Continue(bytes) => (false, false, bytes),
                Item::Last(bytes) => (false, true, bytes),
            };
            let buffer = continuation.get_or_insert_with(Vec::new);
            if first {
                buffer.clear();
            }
            if buffer.len() + bytes.len() > MAX_MESSAGE_BYTES {
                return Handled::End(Ending::Close(CloseCode::Size, "message too large".into()));
            }
            buffer.extend_from_slice(&bytes);
            if !last {
                return Handled::Continue;
            }
            match continuation.take() {
                Some(message) => Bytes::from(message),
                None => return Handled::Continue,
            }
        }
    };
    // A client that sends faster than its messages are handled is closed rather than
    // queued without bound.
    match to_protocol.try_send(complete) {
        Ok(()) => Handled::Continue,
        Err(error) if error.is_full() => Handled::End(Ending::Close(
            CloseCode::Policy,
            "too many messages in flight".into(),
        )),
        Err(_) => Handled::End(Ending::Drop),
    }
}

/// Writes one message; a client that does not take it within `WRITE_TIMEOUT` is gone.
async fn write(
    stream: &mut TcpStream,
    codec: &mut ws::Codec,
    message: ws::Message,
) -> Result<(), ()> {
    let mut frame = BytesMut::new();
    codec.encode(message, &mut frame).map_err(|_| ())?;
    match timeout(WRITE_TIMEOUT, stream.write_all(&frame)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn upgrade_headers(protocol: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        if let Some(protocol) = protocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(protocol),
            );
        }
        headers
    }

    #[test]
    fn the_handshake_accepts_graphql_on_get_graphql_only() {
        let headers = upgrade_headers(Some("foo, graphql-transport-ws"));
        assert_eq!(
            handshake(&Method::GET, "/graphql", &headers),
            Ok(WebSocketProtocols::GraphQLWS)
        );
        let legacy = upgrade_headers(Some("graphql-ws"));
        assert_eq!(
            handshake(&Method::GET, "/graphql", &legacy),
            Ok(WebSocketProtocols::SubscriptionsTransportWS)
        );
        let status = |method: &Method, path: &str, headers: &HeaderMap| {
            handshake(method, path, headers).map_err(|refusal| refusal.status)
        };
        assert_eq!(status(&Method::GET, "/", &headers), Err(404));
        assert_eq!(status(&Method::POST, "/graphql", &headers), Err(405));
        assert_eq!(
            status(&Method::GET, "/graphql", &upgrade_headers(None)),
            Err(400)
        );
        let mut old_version = headers.clone();
        old_version.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(status(&Method::GET, "/graphql", &old_version), Err(400));
        let mut no_connection = headers.clone();
        no_connection.remove(header::CONNECTION);
        assert_eq!(status(&Method::GET, "/graphql", &no_connection), Err(400));
    }

    #[test]
    fn a_refusal_is_a_complete_http_response() {
        let refusal = Refusal::new(404, "Not Found", "nothing here");
        let text = String::from_utf8(refusal.to_http()).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("content-length: 12\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nnothing here"), "{text}");
    }
}
