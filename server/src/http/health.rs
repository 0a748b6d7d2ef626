//! Health endpoints, as load balancers and Kubernetes use them:
//!
//! - `GET /health` — the load balancers' check (ALB, Cloud Load Balancing; docs/deployment.md):
//!   `{"status":"healthy","version":…,"timestamp":…,"uptime_seconds":…,"failing":[],
//!   "checks":{…}}`; 503 with `"status":"unhealthy"` and the failing checks named in
//!   `failing` when a dependency (database, queue, events, storage) does not answer,
//!   or when the process is shutting down (`shutdown`). On the API port, without an
//!   admin token (and without ENTMOOT_PUBLIC_OPERATIONS=true), the answer stops at
//!   `status`, `version`, `timestamp` and `failing`: the checks' details are the
//!   operator's, on PROMETHEUS_PORT.
//! - `GET /health/ready` — readiness: the same checks and answer. A failing readiness
//!   takes the instance out of the load balancer; it does not restart it.
//! - `GET /health/live` — liveness: 200 while the process can answer at all. It checks
//!   no dependency, so a database outage does not make Kubernetes restart every pod.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::adapters::storage;
use crate::http::OpsState;

/// A dependency that does not answer within this time counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether the process still accepts work. Flipped once, by the shutdown signal.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// From now on readiness fails with the `shutdown` check.
    pub fn begin_shutdown(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

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

fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whether the request may see details: on the metrics port or with
/// ENTMOOT_PUBLIC_OPERATIONS anyone may, on the API port only an admin token.
pub async fn may_see_details(state: &OpsState, request: &HttpRequest) -> bool {
    if state.public_details {
        return true;
    }
    let credential = crate::http::authentication::credential_of(request);
    if credential == crate::http::authentication::Credential::Absent {
        return false;
    }
    crate::http::authentication::authenticate(&state.app, &credential)
        .await
        .is_ok_and(|caller| caller.is_admin())
}

/// GET /health and GET /health/ready. Anyone gets the status, the version, the time
/// and the names of failing checks; the checks' details, the role and the uptime only
/// go to who `may_see_details`.
pub async fn health(state: web::Data<OpsState>, request: HttpRequest) -> HttpResponse {
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
    let shutting_down = state.lifecycle.is_shutting_down();
    let shutdown = if shutting_down {
        (
            false,
            json!({"status": "failing", "error": "the process is shutting down"}),
        )
    } else {
        (true, json!({"status": "ok"}))
    };
    let checks = [
        ("database", database),
        ("queue", queue),
        ("events", events),
        ("storage", files),
        ("shutdown", shutdown),
    ];
    let failing: Vec<&str> = checks
        .iter()
        .filter(|(_, (ok, _))| !ok)
        .map(|(name, _)| *name)
        .collect();
    let healthy = failing.is_empty();
    let body = if !may_see_details(&state, &request).await {
        json!({
            "status": if healthy { "healthy" } else { "unhealthy" },
            "version": env!("CARGO_PKG_VERSION"),
            "timestamp": timestamp(),
            "failing": failing,
        })
    } else {
        json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": timestamp(),
        "uptime_seconds": (chrono::Utc::now() - state.started_at).num_seconds(),
        "role": state.role,
        "failing": failing,
        "checks": checks.iter().map(|(name, (_, detail))| (name.to_string(), detail.clone())).collect::<serde_json::Map<_, _>>(),
        })
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// GET /health/live.
pub async fn liveness(state: web::Data<OpsState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "alive",
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": timestamp(),
        "role": state.role,
        "shutting_down": state.lifecycle.is_shutting_down(),
    }))
}

/// Waits for SIGTERM (what Kubernetes, ECS, Cloud Run and `docker stop` send) or
/// SIGINT (Ctrl-C) and returns its name.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops gracefully");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
