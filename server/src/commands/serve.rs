//! `entmoot serve`: the API, plus an in-process worker unless `--no-worker`.
//!
//! Shutdown: on SIGTERM or SIGINT readiness starts failing (`/health` and
//! `/health/ready` answer 503 naming `shutdown`), the listener stops accepting, and
//! in-flight requests get up to `http::SHUTDOWN_TIMEOUT_SECONDS` to finish; then the
//! metrics listener and the in-process worker stop.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use entmoot_domain::access::issue_first_admin_key;
use entmoot_domain::files::cleanup_expired;
use entmoot_schema::{SchemaLimits, build_schema};

use crate::config::Settings;
use crate::http::health::{Lifecycle, shutdown_signal};
use crate::http::{self, HttpState, OpsState, RateLimits};
use crate::{metrics_registry, runtime, worker};

fn bind(host: &str, port: u16, variables: &str) -> anyhow::Result<TcpListener> {
    let address = format!("{host}:{port}");
    TcpListener::bind(&address).with_context(|| format!("{variables}: cannot listen on {address}"))
}

/// The embedded default's first start issues an admin key and prints it once, on
/// stdout and not in the log, as a notebook server prints its token. Deployments on
/// PostgreSQL get their keys from `entmoot admin keys create` instead, so that no
/// secret lands in a log collector.
async fn print_first_admin_key(runtime: &runtime::Runtime) -> anyhow::Result<()> {
    let issued = issue_first_admin_key(&runtime.app.database, runtime.local_organization_id)
        .await
        .context("issuing the first admin API key")?;
    if let Some(issued) = issued {
        println!(
            "\nThe first start created an admin API key for the local organization. It is shown\n\
             only this once; send it as `Authorization: Bearer <key>`:\n\n    {}\n",
            issued.token.expose()
        );
    }
    Ok(())
}

/// Temporary uploads expire (7 days by default). Every API instance sweeps; deleting an
/// object or a row twice is harmless, so they need not coordinate.
async fn remove_expired_files_periodically(app: entmoot_domain::AppContext) {
    let mut interval = tokio::time::interval(EXPIRED_FILES_SWEEP);
    loop {
        interval.tick().await;
        match cleanup_expired(&app.database, &app.storage, chrono::Utc::now()).await {
            Ok(report) if report.deleted > 0 || !report.failed.is_empty() => {
                tracing::info!(
                    deleted = report.deleted,
                    failed = ?report.failed,
                    "expired files swept"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sweeping expired files failed"),
        }
    }
}

const EXPIRED_FILES_SWEEP: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub async fn run(settings: Settings, with_worker: bool) -> anyhow::Result<()> {
    settings.check_for_server()?;
    // Bind first: a taken port should fail before any connection is made.
    let listener = bind(&settings.api_host, settings.api_port, "API_HOST/API_PORT")?;
    let local_address = listener.local_addr().context("reading the bound address")?;
    let metrics_listener = match (settings.prometheus_enabled, settings.prometheus_port) {
        (true, Some(port)) => Some(bind(&settings.api_host, port, "API_HOST/PROMETHEUS_PORT")?),
        _ => None,
    };

    let metrics = metrics_registry::install()?;
    let runtime = runtime::build(&settings).await?;
    // Held to the end: dropping it stops the polling thread.
    let _plugin_watcher = runtime::watch_plugins(&runtime.app);
    let limits = SchemaLimits {
        introspection: settings.environment != "production",
        ..SchemaLimits::default()
    };
    if settings.is_embedded_default() {
        print_first_admin_key(&runtime).await?;
    }
    let lifecycle = Arc::new(Lifecycle::default());
    let ops = OpsState {
        app: runtime.app.clone(),
        lifecycle: lifecycle.clone(),
        metrics,
        serve_metrics: settings.prometheus_enabled && metrics_listener.is_none(),
        public_details: settings.public_operations,
        metrics_port: settings.prometheus_port,
        data_dir: settings.data_dir.clone(),
        started_at: chrono::Utc::now(),
        role: "api",
    };
    let rate_limits = RateLimits {
        per_key: settings.rate_limit_per_key,
        per_address: settings.rate_limit_per_address,
        trust_forwarded_headers: settings.trust_forwarded_headers,
    };
    let rulebook = http::rulebook::Rulebook {
        app: Arc::new(runtime.app.clone()),
        rate_limiter: runtime.rate_limiter.clone(),
        rate_limits,
        anonymous_introspection: settings.environment == "development",
    };
    let state = HttpState {
        schema: build_schema(
            runtime.app.clone(),
            &limits,
            entmoot_domain::strategies::OperatorOrganization(runtime.local_organization_id),
            rulebook,
        ),
        app: runtime.app.clone(),
        rate_limiter: runtime.rate_limiter.clone(),
        document_limits: limits.document,
        rate_limits,
        graphiql: settings.environment != "production",
        websockets: http::websocket::OpenSockets::new(settings.max_websockets),
    };
    let websockets = state.websockets.clone();
    if settings.debug_routes {
        tracing::warn!(
            "ENTMOOT_DEBUG_ROUTES=true: /debug/panic, /debug/error and /debug/sleep are mounted"
        );
    }
    let server = http::start(state, ops.clone(), listener, &settings)
        .with_context(|| format!("starting the HTTP server on {local_address}"))?;
    tracing::info!("listening on http://{local_address}");

    let metrics_server = match metrics_listener {
        None => None,
        Some(listener) => {
            let address = listener
                .local_addr()
                .context("reading the metrics address")?;
            let server = http::start_operations(
                OpsState {
                    serve_metrics: true,
                    public_details: true,
                    ..ops.clone()
                },
                listener,
            )
            .with_context(|| format!("starting the metrics server on {address}"))?;
            tracing::info!("serving /metrics on http://{address}/metrics");
            Some(server)
        }
    };
    let metrics_handle = metrics_server.as_ref().map(|server| server.handle());
    let metrics_task = metrics_server.map(tokio::spawn);

    let cleanup_task = tokio::spawn(remove_expired_files_periodically(runtime.app.clone()));
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker_task = with_worker.then(|| {
        let app = runtime.app.clone();
        let settings = settings.clone();
        tokio::spawn(async move { worker::run_loop(app, settings, worker_stopped).await })
    });

    let handle = server.handle();
    let signal_task = tokio::spawn(async move {
        let signal = shutdown_signal().await;
        lifecycle.begin_shutdown();
        tracing::info!(
            signal,
            "shutting down: readiness fails, in-flight requests get up to {} s",
            http::SHUTDOWN_TIMEOUT_SECONDS
        );
        // Sockets first: they run outside the HTTP connections actix-server waits for.
        let still_open = websockets.close_all(http::websocket::CLOSE_GRACE).await;
        if still_open > 0 {
            tracing::warn!(
                still_open,
                "websockets did not close in time; dropping them"
            );
        }
        handle.stop(true).await;
    });
    let served = server.await.context("HTTP server");
    signal_task.abort();
    cleanup_task.abort();
    if let Some(handle) = metrics_handle {
        handle.stop(true).await;
    }
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    // The in-process worker drains the way `entmoot worker` does: running jobs get a
    // grace period, then are handed back to the queue.
    let _ = stop_worker.send(true);
    if let Some(task) = worker_task {
        match task.await {
            Ok(Err(error)) => tracing::warn!(%error, "the in-process worker stopped with an error"),
            Err(error) => tracing::warn!(%error, "the in-process worker panicked"),
            Ok(Ok(())) => {}
        }
    }
    tracing::info!("stopped");
    served
}
