//! The worker loop: takes job ids from the queue and runs them, at most
//! MAX_CONCURRENT_JOBS at a time; every few seconds it also recovers jobs left by dead
//! workers or a forgetful queue. On shutdown it stops taking work, lets running jobs
//! finish for a grace period, then hands the rest back to the queue.

use std::sync::Arc;
use std::time::Duration;

use entmoot_domain::AppContext;
use entmoot_domain::jobs::JobStatus;
use entmoot_domain::jobs::execution::{Execution, ExecutionSettings, execute_job};
use entmoot_domain::jobs::recovery::recover_jobs;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::config::Settings;
use crate::metrics_registry;

const RECEIVE_WAIT: Duration = Duration::from_secs(2);
const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Running jobs get this long to finish after a stop signal before they are handed back.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Runs until `stop` turns true, then drains as described above.
pub async fn run_loop(
    app: AppContext,
    settings: Settings,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut execution = ExecutionSettings::new(worker_id(), settings.optimization_timeout);
    execution.lease = settings.job_lease;
    execution.retry_backoff = settings.job_retry_backoff;
    execution.heartbeat = (settings.job_lease / 3).max(Duration::from_millis(200));
    let consumer = execution.worker_id.clone();
    let slots = Arc::new(Semaphore::new(settings.max_concurrent_jobs));
    let (hand_back, hand_back_signal) = watch::channel(false);
    let mut running = JoinSet::new();
    tracing::info!(worker = %consumer, max_concurrent_jobs = settings.max_concurrent_jobs, "worker started");
    // Look for abandoned jobs at least twice per lease, so a takeover waits at most
    // about one and a half leases. Recovery runs beside the receive loop, never raced
    // against it: a receive dropped mid-flight can leave a delivered entry that no one
    // sees until the queue's claim timeout.
    let recovery = tokio::spawn(recovery_loop(
        app.clone(),
        RECOVERY_INTERVAL
            .min(settings.job_lease / 2)
            .max(Duration::from_millis(200)),
        stop.clone(),
    ));
    loop {
        if *stop.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            _ = stop.changed() => break,
        };
        // Not cancelled on stop either: it returns within RECEIVE_WAIT, and what it
        // received is run (and drained) like any other job.
        let delivery = app.job_queue.receive(&consumer, RECEIVE_WAIT).await;
        let delivery = match delivery {
            Ok(Some(delivery)) => delivery,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, "receiving a job failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Acknowledged at once: from here on the database row keeps the job (a worker
        // killed before its claim leaves it queued, and recovery dispatches it again;
        // one killed after leaves a lease that expires and is taken over).
        if let Err(error) = app.job_queue.acknowledge(&delivery).await {
            tracing::warn!(job_id = %delivery.job_id, %error, "acknowledging a job failed");
        }
        let app = app.clone();
        let execution = execution.clone();
        let hand_back = hand_back_signal.clone();
        // Every line logged while the job runs carries its id.
        let span = tracing::info_span!("job", job_id = %delivery.job_id, worker = %consumer);
        running.spawn(
            async move {
                let _permit = permit;
                let started = std::time::Instant::now();
                let active = metrics_registry::job_started();
                let outcome = execute_job(&app, delivery.job_id, &execution, hand_back).await;
                drop(active);
                let finished_as = match &outcome {
                    Ok(Execution::Succeeded) => Some(JobStatus::Succeeded),
                    Ok(Execution::Failed) => Some(JobStatus::Failed),
                    Ok(Execution::Cancelled) => Some(JobStatus::Cancelled),
                    _ => None,
                };
                if let Some(status) = finished_as {
                    metrics_registry::job_finished(status, started.elapsed());
                }
                match outcome {
                    Ok(Execution::NotClaimed) => {}
                    Ok(outcome) => tracing::info!(?outcome, "job ended"),
                    Err(error) => tracing::error!(%error, "running a job failed"),
                }
            }
            .instrument(span),
        );
    }
    recovery.abort();
    tracing::info!(
        running = running.len(),
        grace_seconds = SHUTDOWN_GRACE.as_secs(),
        "worker stopping"
    );
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        let _ = hand_back.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while running.join_next().await.is_some() {}
        })
        .await;
    }
    tracing::info!("worker stopped");
    Ok(())
}

async fn recovery_loop(app: AppContext, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        match recover_jobs(&app).await {
            Ok(report) if report.expired_leases > 0 || report.requeued > 0 => {
                tracing::info!(
                    expired_leases = report.expired_leases,
                    ended = report.ended,
                    requeued = report.requeued,
                    "recovered jobs"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "job recovery failed"),
        }
    }
}
