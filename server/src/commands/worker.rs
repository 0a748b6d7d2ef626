//! `entmoot worker`: runs jobs from the queue without serving the API.

use crate::config::Settings;
use crate::{runtime, worker};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let runtime = runtime::build(&settings).await?;
    tokio::select! {
        result = worker::run_loop(runtime.app, settings) => result,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("worker stopping");
            Ok(())
        }
    }
}
