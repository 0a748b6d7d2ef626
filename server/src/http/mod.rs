//! The HTTP surface: /graphql (with GraphiQL), /health, /health/ready, /health/live,
//! /metrics, the `/debug/*` routes when ENTMOOT_DEBUG_ROUTES=true, and the web console
//! at every other path (`console.rs`). Handlers are a
//! few lines each and call into the domain through the shared `AppContext`.
//!
//! Middleware, outermost first: Sentry (a hub, a transaction and the request context
//! per request) → metrics (`http_requests_total`, latency, in flight) → request id (the
//! `X-Request-ID` header, the request span and log line, panics caught as 500).
//!
//! Signals are not handled by actix: `commands::serve` turns SIGTERM/SIGINT into a
//! failing readiness and a graceful stop (in-flight requests get up to 30 s).

pub mod authentication;
pub mod browser_policy;
pub mod console;
pub mod debug;
pub mod files;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod request_id;
pub mod rulebook;
pub mod websocket;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_http::HttpService;
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::{AppConfig, Server, ServerHandle};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use entmoot_domain::AppContext;
use entmoot_schema::EntmootSchema;

use anyhow::Context;
use tokio::sync::watch;

use crate::adapters::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::http::health::Lifecycle;
use crate::metrics_registry::{self, Metrics};

/// Seconds in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_TIMEOUT_SECONDS: u64 = 30;

/// What the GraphQL handlers reach.
#[derive(Clone)]
pub struct HttpState {
    pub schema: EntmootSchema,
    /// For authentication and the audit log.
    pub app: AppContext,
    pub rate_limiter: Arc<RateLimiter>,
    pub rate_limits: RateLimits,
    /// Checked by the transport before authentication (the schema checks them again
    /// for requests that come another way, such as the websocket).
    pub document_limits: entmoot_schema::limits::DocumentLimits,
    /// GraphiQL on GET /graphql for a browser; off with ENTMOOT_ENV=production.
    pub graphiql: bool,
    /// The open websockets, closed together on shutdown.
    pub websockets: websocket::OpenSockets,
}

/// Requests per minute; 0 is no limit.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_key: u32,
    pub per_address: u32,
    pub trust_forwarded_headers: bool,
}

/// What the health and metrics handlers reach; the worker has one too.
#[derive(Clone)]
pub struct OpsState {
    pub app: AppContext,
    pub lifecycle: Arc<Lifecycle>,
    pub metrics: &'static Metrics,
    /// Whether this listener answers /metrics.
    pub serve_metrics: bool,
    /// Whether /metrics and the detailed /health report are for anyone (the metrics
    /// port, or ENTMOOT_PUBLIC_OPERATIONS) or only for a caller with an admin token.
    pub public_details: bool,
    /// PROMETHEUS_PORT, for the message of a /metrics refused on the API port.
    pub metrics_port: Option<u16>,
    /// ENTMOOT_DATA_DIR, whose file system `entmoot_data_dir_*_bytes` describe.
    pub data_dir: PathBuf,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// `api` or `worker`, reported by the health endpoints.
    pub role: &'static str,
}

fn operations_routes(config: &mut web::ServiceConfig) {
    config
        .route("/health", web::get().to(health::health))
        .route("/health/live", web::get().to(health::liveness))
        .route("/health/ready", web::get().to(health::health))
        .route("/metrics", web::get().to(metrics::metrics));
}

/// The API server: actix-web's `App` for every request, except those that ask to
/// become a websocket, which actix-http hands with their TCP stream to
/// `websocket::serve_upgrade` (an open socket then holds no HTTP dispatcher). This is
/// what `HttpServer::listen` builds, plus the upgrade service.
pub fn start(
    state: HttpState,
    ops: OpsState,
    listener: TcpListener,
    settings: &Settings,
) -> std::io::Result<Server> {
    let sentry_enabled = sentry::Hub::main().client().is_some();
    let debug_routes = settings.debug_routes;
    let cors_enabled = settings.cors_enabled;
    let allowed_origins = settings.allowed_origins.clone();
    let local_address = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(settings.api_workers)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
        .disable_signals()
        .listen("entmoot-api", listener, move || {
            let app = App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(ops.clone()))
                .wrap(browser_policy::cors(cors_enabled, &allowed_origins))
                .wrap(browser_policy::security_headers())
                .wrap(from_fn(request_id::middleware))
                .wrap(from_fn(metrics::record))
                .wrap(Condition::new(
                    sentry_enabled,
                    // 5xx are captured by request_id (once, with the id); this
                    // middleware gives each request its hub and request context.
                    sentry::integrations::actix::Sentry::builder()
                        .start_transaction(true)
                        .capture_server_errors(false)
                        .finish(),
                ))
                .configure(operations_routes)
                .route("/graphql", web::post().to(graphql::graphql_post))
                .route("/graphql", web::get().to(graphql::graphql_get))
                .route("/files/{id}", web::get().to(files::download))
                .configure(|config| {
                    if debug_routes {
                        debug::routes(config);
                    }
                })
                // Last: the console's files, and its index.html for every other path.
                .default_service(web::to(console::serve));
            let upgrade_state = state.clone();
            let http_shutdown = shutdown.clone();
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = http_shutdown.clone();
                    async move { signal.notified().await }
                })
                .client_request_timeout(std::time::Duration::from_secs(5))
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(local_address)
                .upgrade(fn_service(move |(request, framed)| {
                    // Boxed so that every connection's dispatcher stays the size of an
                    // HTTP one; the socket itself leaves for its own task.
                    Box::pin(websocket::serve_upgrade(
                        upgrade_state.clone(),
                        request,
                        framed,
                    ))
                }))
                .finish(map_config(
                    app.into_factory()
                        .map_err(|error: actix_web::Error| error.error_response()),
                    |_| AppConfig::default(),
                ))
                .tcp()
        })?
        .run();
    Ok(server)
}

/// The operations listener on PROMETHEUS_PORT: /metrics and the health endpoints,
/// for the API (when the port is set) and for workers (which serve nothing else).
pub fn start_operations(ops: OpsState, listener: TcpListener) -> std::io::Result<Server> {
    let sentry_enabled = sentry::Hub::main().client().is_some();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(ops.clone()))
            .wrap(from_fn(request_id::middleware))
            // A hub per request, so the request id tag never lands on the main hub.
            .wrap(Condition::new(
                sentry_enabled,
                sentry::integrations::actix::Sentry::builder()
                    .capture_server_errors(false)
                    .finish(),
            ))
            .configure(operations_routes)
    })
    .workers(1)
    .shutdown_timeout(5)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// The operations listener of `entmoot worker`, running until `stop`.
pub struct WorkerOperations {
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl WorkerOperations {
    /// Stops the listener (after the worker loop has drained).
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}

/// For `entmoot worker`: serves /metrics, /health, /health/ready and /health/live on
/// PROMETHEUS_PORT when it is set (and PROMETHEUS_ENABLED is not false); `None`
/// otherwise. Readiness fails from the moment `stop` turns true.
pub fn start_worker_operations(
    settings: &Settings,
    app: &AppContext,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<WorkerOperations>> {
    let (true, Some(port)) = (settings.prometheus_enabled, settings.prometheus_port) else {
        return Ok(None);
    };
    let metrics = metrics_registry::install()?;
    let address = format!("{}:{port}", settings.api_host);
    let listener = TcpListener::bind(&address)
        .with_context(|| format!("API_HOST/PROMETHEUS_PORT: cannot listen on {address}"))?;
    let bound = listener
        .local_addr()
        .context("reading the metrics address")?;
    let lifecycle = Arc::new(Lifecycle::default());
    let ops = OpsState {
        app: app.clone(),
        lifecycle: lifecycle.clone(),
        metrics,
        serve_metrics: true,
        public_details: true,
        metrics_port: Some(port),
        data_dir: settings.data_dir.clone(),
        started_at: chrono::Utc::now(),
        role: "worker",
    };
    let server = start_operations(ops, listener)
        .with_context(|| format!("starting the metrics server on {bound}"))?;
    tracing::info!("serving /metrics on http://{bound}/metrics");
    tokio::spawn(async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        lifecycle.begin_shutdown();
    });
    Ok(Some(WorkerOperations {
        handle: server.handle(),
        task: tokio::spawn(server),
    }))
}
