//! `entmoot worker`: runs jobs from the queue without serving the API, until SIGTERM
//! or Ctrl-C, reloading strategy plugins when their files change.

use tokio::sync::watch;

use crate::config::Settings;
use crate::{runtime, worker};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let runtime = runtime::build(&settings).await?;
    // Held to the end: dropping it stops the polling thread.
    let _plugin_watcher = runtime::watch_plugins(&runtime.app);
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        let signal = crate::http::health::shutdown_signal().await;
        tracing::info!(signal, "worker stopping");
        let _ = stop.send(true);
    });
    // /metrics and /health/* on PROMETHEUS_PORT, when set (see http::start_worker_operations).
    let operations =
        crate::http::start_worker_operations(&settings, &runtime.app, stopped.clone())?;
    let result = worker::run_loop(runtime.app, settings, stopped).await;
    if let Some(operations) = operations {
        operations.stop().await;
    }
    result
}
