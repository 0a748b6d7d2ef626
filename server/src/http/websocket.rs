//! The GraphQL websocket (`graphql-transport-ws` and the legacy `graphql-ws`), owned
//! here rather than taken from async-graphql-actix-web, so that an unauthenticated
//! client cannot make it hold memory: frames are at most `MAX_FRAME_BYTES`, a message
//! assembled from continuation frames at most `MAX_MESSAGE_BYTES`, at most
//! `MESSAGES_IN_FLIGHT` messages wait for the protocol handler, and a socket that has
//! not sent `connection_init` within `CONNECTION_INIT_TIMEOUT` is closed (4408, as the
//! protocol says). The protocol itself is async-graphql's (`http::WebSocket`).

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix::{
    Actor, ActorContext, ActorStreamExt, AsyncContext, ContextFutureSpawner, StreamHandler,
    WrapStream,
};
use actix_web::{HttpRequest, HttpResponse};
use actix_web_actors::ws::{
    self, CloseCode, CloseReason, Message, ProtocolError, WebsocketContext,
};
use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket, WebSocketProtocols, WsMessage};

use entmoot_schema::EntmootSchema;

/// Largest frame accepted.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest message, continuation frames included: the JSON body's limit.
pub const MAX_MESSAGE_BYTES: usize = crate::http::graphql::MAX_BODY_BYTES;
/// Messages received and not yet taken by the protocol handler.
pub const MESSAGES_IN_FLIGHT: usize = 32;
/// Time a client has to send `connection_init`.
pub const CONNECTION_INIT_TIMEOUT: Duration = Duration::from_secs(5);
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a socket; `on_connection_init` turns the init payload into the connection's
/// data.
pub fn start<OnInit, OnInitFuture>(
    schema: EntmootSchema,
    request: &HttpRequest,
    payload: actix_web::web::Payload,
    on_connection_init: OnInit,
) -> HttpResponse
where
    OnInit: FnOnce(serde_json::Value) -> OnInitFuture + Unpin + Send + 'static,
    OnInitFuture: Future<Output = async_graphql::Result<Data>> + Send + 'static,
{
    let protocol = request
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|protocol| WebSocketProtocols::from_str(protocol.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws");
    };
    let socket = Socket {
        schema,
        protocol,
        last_heartbeat: Instant::now(),
        messages: None,
        on_connection_init: Some(on_connection_init),
        continuation: None,
        initialised: Arc::new(AtomicBool::new(false)),
    };
    ws::WsResponseBuilder::new(socket, request, payload)
        .protocols(&ALL_WEBSOCKET_PROTOCOLS)
        .frame_size(MAX_FRAME_BYTES)
        .start()
        .unwrap_or_else(HttpResponse::from_error)
}

struct Socket<OnInit> {
    schema: EntmootSchema,
    protocol: WebSocketProtocols,
    last_heartbeat: Instant,
    messages: Option<futures::channel::mpsc::Sender<Vec<u8>>>,
    on_connection_init: Option<OnInit>,
    /// A message being assembled from continuation frames.
    continuation: Option<Vec<u8>>,
    initialised: Arc<AtomicBool>,
}

fn close<A>(ctx: &mut WebsocketContext<A>, code: CloseCode, why: &str)
where
    A: Actor<Context = WebsocketContext<A>>,
{
    ctx.close(Some(CloseReason {
        code,
        description: Some(why.to_owned()),
    }));
    ctx.stop();
}

impl<OnInit, OnInitFuture> Actor for Socket<OnInit>
where
    OnInit: FnOnce(serde_json::Value) -> OnInitFuture + Unpin + Send + 'static,
    OnInitFuture: Future<Output = async_graphql::Result<Data>> + Send + 'static,
{
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(HEARTBEAT_INTERVAL, |socket, ctx| {
            if Instant::now().duration_since(socket.last_heartbeat) > CLIENT_TIMEOUT {
                ctx.stop();
            }
            ctx.ping(b"");
        });
        ctx.run_later(CONNECTION_INIT_TIMEOUT, |socket, ctx| {
            if !socket.initialised.load(Ordering::SeqCst) {
                close(
                    ctx,
                    CloseCode::Other(4408),
                    "Connection initialisation timeout",
                );
            }
        });
        let (sender, receiver) = futures::channel::mpsc::channel(MESSAGES_IN_FLIGHT);
        let initialised = self.initialised.clone();
        let on_connection_init = self.on_connection_init.take();
        WebSocket::new(self.schema.clone(), receiver, self.protocol)
            .on_connection_init(move |payload| {
                initialised.store(true, Ordering::SeqCst);
                let on_connection_init = on_connection_init;
                async move {
                    match on_connection_init {
                        Some(on_connection_init) => on_connection_init(payload).await,
                        None => Err("connection_init was already handled".into()),
                    }
                }
            })
            .into_actor(self)
            .map(|message, _socket, ctx| match message {
                WsMessage::Text(text) => ctx.text(text),
                WsMessage::Close(code, reason) => ctx.close(Some(CloseReason {
                    code: code.into(),
                    description: Some(reason),
                })),
            })
            .finish()
            .spawn(ctx);
        self.messages = Some(sender);
    }
}

impl<OnInit, OnInitFuture> StreamHandler<Result<Message, ProtocolError>> for Socket<OnInit>
where
    OnInit: FnOnce(serde_json::Value) -> OnInitFuture + Unpin + Send + 'static,
    OnInitFuture: Future<Output = async_graphql::Result<Data>> + Send + 'static,
{
    fn handle(&mut self, message: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        let message = match message {
            Ok(message) => message,
            Err(ProtocolError::Overflow) => {
                close(ctx, CloseCode::Size, "frame too large");
                return;
            }
            Err(_) => {
                ctx.stop();
                return;
            }
        };
        let complete = match message {
            Message::Ping(bytes) => {
                self.last_heartbeat = Instant::now();
                ctx.pong(&bytes);
                None
            }
            Message::Pong(_) => {
                self.last_heartbeat = Instant::now();
                None
            }
            Message::Continuation(item) => {
                let (first, last, bytes) = match item {
                    actix_http::ws::Item::FirstText(bytes)
                    | actix_http::ws::Item::FirstBinary(bytes) => (true, false, bytes),
                    actix_http::ws::Item::Continue(bytes) => (false, false, bytes),
                    actix_http::ws::Item::Last(bytes) => (false, true, bytes),
                };
                let buffer = self.continuation.get_or_insert_with(Vec::new);
                if first {
                    buffer.clear();
                }
                if buffer.len() + bytes.len() > MAX_MESSAGE_BYTES {
                    close(ctx, CloseCode::Size, "message too large");
                    return;
                }
                buffer.extend_from_slice(&bytes);
                if last { self.continuation.take() } else { None }
            }
            Message::Text(text) => Some(text.into_bytes().to_vec()),
            Message::Binary(bytes) => Some(bytes.to_vec()),
            Message::Close(_) => {
                ctx.stop();
                None
            }
            Message::Nop => None,
        };
        if let Some(message) = complete {
            self.forward(message, ctx);
        }
    }
}

impl<OnInit> Socket<OnInit>
where
    Self: Actor<Context = WebsocketContext<Self>>,
{
    /// Hands a complete message to the protocol handler. A client that sends faster
    /// than its messages are handled is closed rather than queued without bound.
    fn forward(&mut self, message: Vec<u8>, ctx: &mut WebsocketContext<Self>) {
        let Some(sender) = self.messages.as_mut() else {
            ctx.stop();
            return;
        };
        match sender.try_send(message) {
            Ok(()) => {}
            Err(error) if error.is_full() => {
                close(ctx, CloseCode::Policy, "too many messages in flight");
            }
            Err(_) => ctx.stop(),
        }
    }
}
