//! GET /health (readiness: every dependency answers) and GET /health/live (the
//! process is up). The body follows the deployment guide:
//! `{"status":"healthy","version":…,"timestamp":…,"checks":{…}}`.

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::adapters::storage;
use crate::http::HttpState;

/// A dependency that does not answer within this time counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

async fn timed<F, E>(backend: &str, check: F) -> (bool, Value)
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(Ok(())) => (
            true,
            json!({"status": "ok", "backend": backend, "latency_ms": latency_ms}),
        ),
        Ok(Err(error)) => (
            false,
            json!({"status": "failing", "backend": backend, "error": error.to_string()}),
        ),
        Err(_) => (
            false,
            json!({"status": "failing", "backend": backend, "error": format!("no answer within {}s", CHECK_TIMEOUT.as_secs())}),
        ),
    }
}

pub async fn health(state: web::Data<HttpState>) -> HttpResponse {
    let app = &state.app;
    let database_backend = match app.database.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other",
    };
    let (database, queue, events, files) = tokio::join!(
        timed(database_backend, app.database.ping()),
        timed(app.job_queue.backend_name(), app.job_queue.ping()),
        timed(app.event_bus.backend_name(), app.event_bus.ping()),
        timed(app.storage.info().scheme(), storage::probe(&app.storage)),
    );
    let checks = [
        ("database", database),
        ("queue", queue),
        ("events", events),
        ("storage", files),
    ];
    let failing: Vec<&str> = checks
        .iter()
        .filter(|(_, (ok, _))| !ok)
        .map(|(name, _)| *name)
        .collect();
    let healthy = failing.is_empty();
    let body = json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "uptime_seconds": (chrono::Utc::now() - state.started_at).num_seconds(),
        "failing": failing,
        "checks": checks.iter().map(|(name, (_, detail))| (name.to_string(), detail.clone())).collect::<serde_json::Map<_, _>>(),
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn liveness() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "alive",
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}
