//! The HTTP surface: /graphql (with GraphiQL), /health, /metrics. Handlers are a
//! few lines each and call into the domain through the shared `AppContext`.

pub mod graphql;
pub mod health;
pub mod metrics;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use entmoot_schema::graphql::EntmootSchema;
use entmoot_schema::{AppContext, Caller};

use crate::http::metrics::HttpMetrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppContext,
    pub schema: EntmootSchema,
    pub metrics: Arc<HttpMetrics>,
    /// The identity of requests until authentication is configured (the embedded
    /// default's local organization).
    pub default_caller: Caller,
    pub serve_metrics: bool,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

pub fn start(state: HttpState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(actix_web::middleware::from_fn(metrics::record))
            .route("/health", web::get().to(health::health))
            .route("/health/live", web::get().to(health::liveness))
            .route("/health/ready", web::get().to(health::health))
            .route("/metrics", web::get().to(metrics::metrics))
            .route("/graphql", web::post().to(graphql::graphql_post))
            .route("/graphql", web::get().to(graphql::graphql_get))
    })
    .workers(workers)
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
