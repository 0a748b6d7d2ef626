//! The worker loop: takes job ids from the queue and runs them, at most
//! MAX_CONCURRENT_JOBS at a time.

use std::sync::Arc;
use std::time::Duration;

use entmoot_schema::AppContext;
use tokio::sync::Semaphore;

use crate::config::Settings;

const RECEIVE_WAIT: Duration = Duration::from_secs(5);

pub async fn run_loop(app: AppContext, settings: Settings) -> anyhow::Result<()> {
    let consumer = format!("{}-{}", hostname(), std::process::id());
    let slots = Arc::new(Semaphore::new(settings.max_concurrent_jobs));
    tracing::info!(%consumer, max_concurrent_jobs = settings.max_concurrent_jobs, "worker started");
    match entmoot_schema::domain::jobs::enqueue_queued_jobs(&app).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "re-dispatched queued jobs from the database"),
        Err(error) => tracing::warn!(%error, "re-dispatching queued jobs failed"),
    }
    loop {
        let permit = slots.clone().acquire_owned().await?;
        let delivery = match app.job_queue.receive(&consumer, RECEIVE_WAIT).await {
            Ok(Some(delivery)) => delivery,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, "receiving a job failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let app = app.clone();
        let worker_id = consumer.clone();
        let timeout = settings.optimization_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let outcome = entmoot_schema::domain::jobs::execute_job(
                &app,
                delivery.job_id,
                &worker_id,
                timeout,
            )
            .await;
            if let Err(error) = outcome {
                tracing::error!(job_id = %delivery.job_id, %error, "job failed");
            }
            if let Err(error) = app.job_queue.acknowledge(&delivery).await {
                tracing::warn!(job_id = %delivery.job_id, %error, "acknowledging a job failed");
            }
        });
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned())
}
