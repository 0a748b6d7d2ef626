//! Deliberately failing routes, mounted only with ENTMOOT_DEBUG_ROUTES=true (which the
//! configuration refuses when ENTMOOT_ENV=production). They let an operator or a test
//! check the error path end to end: that a panic or a 5xx reaches Sentry with its
//! request id, and that shutdown lets a slow request finish.
//!
//! - `GET /debug/panic` panics inside the handler;
//! - `GET /debug/error` returns an actix error with status 500;
//! - `GET /debug/sleep?ms=N` answers after N milliseconds (at most 30 000).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/debug/panic", web::get().to(panic))
        .route("/debug/error", web::get().to(error))
        .route("/debug/sleep", web::get().to(sleep));
}

#[allow(clippy::panic)]
async fn panic() -> HttpResponse {
    tracing::info!("about to panic on purpose (ENTMOOT_DEBUG_ROUTES)");
    panic!("deliberate panic from GET /debug/panic (ENTMOOT_DEBUG_ROUTES=true)");
}

async fn error() -> Result<HttpResponse, actix_web::Error> {
    Err(actix_web::error::ErrorInternalServerError(
        "deliberate error from GET /debug/error (ENTMOOT_DEBUG_ROUTES=true)",
    ))
}

#[derive(Debug, Deserialize)]
struct SleepQuery {
    ms: Option<u64>,
}

async fn sleep(query: web::Query<SleepQuery>) -> HttpResponse {
    let milliseconds = query.ms.unwrap_or(1000).min(30_000);
    tokio::time::sleep(Duration::from_millis(milliseconds)).await;
    HttpResponse::Ok().json(serde_json::json!({"slept_ms": milliseconds}))
}
