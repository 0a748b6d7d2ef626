//! `entmoot serve`: the API, plus an in-process worker unless `--no-worker`.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use entmoot_schema::Caller;
use entmoot_schema::domain::caller::Role;
use entmoot_schema::graphql::{SchemaLimits, build_schema};

use crate::config::Settings;
use crate::http::metrics::HttpMetrics;
use crate::http::{self, HttpState};
use crate::{runtime, worker};

pub async fn run(settings: Settings, with_worker: bool) -> anyhow::Result<()> {
    settings.check_for_server()?;
    // Bind first: a taken port should fail before any connection is made.
    let address = format!("{}:{}", settings.api_host, settings.api_port);
    let listener = TcpListener::bind(&address)
        .with_context(|| format!("API_HOST/API_PORT: cannot listen on {address}"))?;
    let local_address = listener.local_addr().context("reading the bound address")?;

    let runtime = runtime::build(&settings).await?;
    let limits = SchemaLimits {
        introspection: settings.environment != "production",
        ..SchemaLimits::default()
    };
    let state = HttpState {
        schema: build_schema(runtime.app.clone(), &limits),
        app: runtime.app.clone(),
        metrics: Arc::new(HttpMetrics::new()?),
        default_caller: Caller {
            organization_id: runtime.local_organization_id,
            role: Role::Admin,
        },
        serve_metrics: settings.prometheus_enabled,
        started_at: chrono::Utc::now(),
    };
    let server = http::start(state, listener, settings.api_workers)
        .with_context(|| format!("starting the HTTP server on {local_address}"))?;
    tracing::info!("listening on http://{local_address}");

    let worker_task = with_worker.then(|| {
        let app = runtime.app.clone();
        let settings = settings.clone();
        tokio::spawn(async move { worker::run_loop(app, settings).await })
    });
    let served = server.await.context("HTTP server");
    if let Some(task) = worker_task {
        task.abort();
    }
    tracing::info!("stopped");
    served
}
