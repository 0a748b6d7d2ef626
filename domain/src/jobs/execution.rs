//! Running one job under a lease. A worker claims the row atomically (queued, or
//! running with an expired lease), renews the lease while the strategy runs, and
//! stores the result only while it still holds the lease, in one transaction with the
//! status change: a job never runs twice at once and its result is stored once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use entmoot_entities::jobs;
use entmoot_plugin_host::{HostError, StrategyInfo};
use entmoot_plugin_sdk::{Program, Progress, StrategyError};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use tokio::sync::watch;
use uuid::Uuid;

use crate::context::AppContext;
use crate::geometry_storage::GeometryStorageError;
use crate::jobs::notify::notify_job_ended;
use crate::jobs::publish;
use crate::jobs::transitions::{self, Claim, Ending};
use crate::layout_storage::{LayoutToStore, StoreLayoutError, insert_layout};
use crate::sites::load_site;
use crate::solve::{SolveError, SolveOutcome, SolveRequest, choose_strategy, solve_with};
use crate::terrain::{SiteTerrainError, site_dem};

/// How a worker runs jobs.
#[derive(Debug, Clone)]
pub struct ExecutionSettings {
    pub worker_id: String,
    /// OPTIMIZATION_TIMEOUT: no run lasts longer, whatever the job asks.
    pub optimization_timeout: Duration,
    /// A lease not renewed for this long lets another worker take the job over.
    pub lease: Duration,
    /// How often the lease is renewed and the cancel flag re-read from the database.
    pub heartbeat: Duration,
    /// Base delay of the exponential backoff between attempts after a transient failure.
    pub retry_backoff: Duration,
}

impl ExecutionSettings {
    pub fn new(worker_id: impl Into<String>, optimization_timeout: Duration) -> Self {
        Self {
            worker_id: worker_id.into(),
            optimization_timeout,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            retry_backoff: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecuteJobError {
    #[error("reading or writing the job failed")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Storage(#[from] GeometryStorageError),
    #[error(transparent)]
    StoreLayout(#[from] StoreLayoutError),
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// Someone else holds the job, or it has ended: nothing was done.
    NotClaimed,
    Succeeded,
    /// Failed for good (invalid input, a plugin bug, a time-out, or out of attempts).
    Failed,
    /// Failed transiently; queued again after a backoff.
    Retrying {
        after: Duration,
    },
    Cancelled,
    /// The worker is shutting down; the job was handed back to the queue.
    HandedBack,
    /// Another worker took the job over (our lease expired); our result was dropped.
    LeaseLost,
}

/// Why a run ended without a result.
#[derive(Debug, Clone)]
enum RunFailure {
    Permanent(String),
    Transient(String),
    Cancelled,
    ShuttingDown,
    LeaseLost,
}

fn classify(error: &SolveError) -> RunFailure {
    let message = error.to_string();
    match error {
        SolveError::Strategy { source, .. } => match source {
            HostError::Cancelled => RunFailure::Cancelled,
            HostError::Crashed { .. }
            | HostError::Runner { .. }
            | HostError::Protocol(_)
            | HostError::Load { .. } => RunFailure::Transient(message),
            HostError::Strategy(StrategyError::Failed(_)) => RunFailure::Transient(message),
            // Oversized output, an invalid layout, a time-out: the same input gives the
            // same again, so another attempt would only cost another run.
            _ => RunFailure::Permanent(message),
        },
        _ => RunFailure::Permanent(message),
    }
}

/// Runs one delivered job to an end. Safe to call for any id, any number of times.
pub async fn execute_job(
    app: &AppContext,
    job_id: Uuid,
    settings: &ExecutionSettings,
    shutdown: watch::Receiver<bool>,
) -> Result<Execution, ExecuteJobError> {
    let job = match transitions::claim(&app.database, job_id, &settings.worker_id, settings.lease)
        .await?
    {
        Claim::Claimed(job) => job,
        Claim::NotClaimable => return Ok(Execution::NotClaimed),
        Claim::EndedCancelled(job) => {
            tracing::info!(
                "took over a job whose worker had stopped; it had been asked to stop, so it ended cancelled"
            );
            publish(app, &job, job.error.clone()).await;
            notify_job_ended(app, job.id).await;
            return Ok(Execution::Cancelled);
        }
        Claim::DeadLettered(job) => {
            publish(app, &job, job.error.clone()).await;
            notify_job_ended(app, job.id).await;
            return Ok(Execution::Failed);
        }
    };
    publish(app, &job, None).await;

    // The strategy is chosen once per attempt, and the attempt holds on to it: a reload
    // meanwhile changes what the next attempt gets, never what this one runs.
    let strategy = job_strategy(app, &job);
    let used = strategy
        .as_ref()
        .ok()
        .map(|strategy| strategy.version.clone());
    let used = used.as_deref();
    let result = match strategy {
        Ok(strategy) => run_with_lease(app, &job, strategy, settings, shutdown).await,
        Err(failure) => Err(failure),
    };
    let (ending, outcome) = match result {
        Ok(outcome) => (Ending::Succeeded, Some(outcome)),
        Err(RunFailure::LeaseLost) => return Ok(Execution::LeaseLost),
        Err(RunFailure::Cancelled) => (Ending::Cancelled, None),
        // Not the job's fault: give the attempt back.
        Err(RunFailure::ShuttingDown) => (Ending::HandedBack, None),
        Err(RunFailure::Permanent(error)) => (Ending::Failed { error }, None),
        Err(RunFailure::Transient(message)) if job.attempts >= job.max_attempts => (
            Ending::Failed {
                error: format!(
                    "dead-lettered after {} attempts; last error: {message}",
                    job.attempts
                ),
            },
            None,
        ),
        Err(RunFailure::Transient(error)) => {
            let after = retry_delay(settings, job.attempts);
            let retry_at = chrono::Duration::from_std(after)
                .ok()
                .and_then(|delay| Utc::now().checked_add_signed(delay));
            (Ending::Retry { error, retry_at }, None)
        }
    };
    let transaction = app.database.begin().await?;
    let Some(ended) =
        transitions::finish(&transaction, &job, &settings.worker_id, &ending, used).await?
    else {
        transaction.rollback().await?;
        return Ok(Execution::LeaseLost);
    };
    if let Some(outcome) = &outcome {
        store_layouts(&transaction, &job, outcome).await?;
    }
    transaction.commit().await?;
    let execution = match &ending {
        Ending::Succeeded => Execution::Succeeded,
        Ending::Failed { .. } => Execution::Failed,
        Ending::Cancelled => Execution::Cancelled,
        Ending::HandedBack => {
            if let Err(error) = app.job_queue.enqueue(job.id).await {
                tracing::warn!(%error, "re-enqueueing a handed-back job failed; recovery will dispatch it");
            }
            Execution::HandedBack
        }
        Ending::Retry { .. } => {
            let after = retry_delay(settings, job.attempts);
            let queue = app.job_queue.clone();
            let job_id = job.id;
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Err(error) = queue.enqueue(job_id).await {
                    tracing::warn!(%job_id, %error, "re-enqueueing a retried job failed; recovery will dispatch it");
                }
            });
            Execution::Retrying { after }
        }
    };
    publish(app, &ended, ended.error.clone()).await;
    // Only ended jobs are mailed; a retry or a hand-back is not an ending.
    notify_job_ended(app, job.id).await;
    Ok(execution)
}

/// The backoff before the attempt after `attempts`: the base, doubled per attempt.
fn retry_delay(settings: &ExecutionSettings, attempts: i32) -> Duration {
    settings.retry_backoff * 2u32.saturating_pow(attempts.max(1) as u32 - 1)
}

/// The strategy a job runs: the version it was pinned to (`name@version` at
/// submission), or else the newest installed now. Read under a short lock, so a reload
/// never waits for running jobs.
fn job_strategy(app: &AppContext, job: &jobs::Model) -> Result<StrategyInfo, RunFailure> {
    let requested = match &job.strategy_version {
        Some(version) => format!("{}@{version}", job.strategy),
        None => job.strategy.clone(),
    };
    let registry = app
        .plugins
        .read()
        .map_err(|_| RunFailure::Transient("the plugin registry is unavailable".to_owned()))?;
    choose_strategy(&registry, Some(&requested)).map_err(|error| classify(&error))
}

/// Solves on a blocking thread while renewing the lease, forwarding progress and
/// watching for cancellation (event bus, database flag) and shutdown.
async fn run_with_lease(
    app: &AppContext,
    job: &jobs::Model,
    strategy: StrategyInfo,
    settings: &ExecutionSettings,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SolveOutcome, RunFailure> {
    let (site_row, site) = load_site(&app.database, job.organization_id, job.site_id)
        .await
        .map_err(|error| RunFailure::Transient(format!("loading the site failed: {error}")))?;
    let terrain = site_dem(&app.database, &app.storage, &site_row)
        .await
        .map_err(|error| match error {
            SiteTerrainError::Unreadable(_) => RunFailure::Permanent(error.to_string()),
            other => RunFailure::Transient(other.to_string()),
        })?;
    let program: Program = serde_json::from_value(job.program.clone()).map_err(|error| {
        RunFailure::Permanent(format!("the stored program is unreadable: {error}"))
    })?;
    let pinned: Vec<entmoot_plugin_sdk::PlacedAsset> = match &job.pinned_assets {
        None => Vec::new(),
        Some(assets) => serde_json::from_value(assets.clone()).map_err(|error| {
            RunFailure::Permanent(format!("the stored pinned assets are unreadable: {error}"))
        })?,
    };
    let limit = job
        .time_limit_s
        .map(|seconds| Duration::from_secs(seconds.max(1) as u64))
        .unwrap_or(settings.optimization_timeout)
        .min(settings.optimization_timeout);
    let request = SolveRequest {
        site,
        program,
        strategy: Some(format!("{}@{}", strategy.name, strategy.version)),
        parameters: job.parameters.clone(),
        seed: job.seed.unwrap_or(0) as u64,
        time_limit: Some(limit),
        alternatives: job.alternatives.max(1) as u32,
        pinned,
        terrain,
    };
    let strategy_label = format!("{}@{}", strategy.name, strategy.version);
    let strategy_file = strategy.path.display().to_string();
    let cancel = Arc::new(AtomicBool::new(false));
    let cancel_for_solver = cancel.clone();
    let (progress_sender, mut progress_receiver) =
        tokio::sync::mpsc::unbounded_channel::<Progress>();
    let job_id = job.id;
    let solver = tokio::task::spawn_blocking(move || {
        solve_with(
            strategy,
            &request,
            &mut |progress| {
                let _ = progress_sender.send(progress);
            },
            &cancel_for_solver,
        )
        .map_err(|error| {
            // A plugin's crash, protocol error, time-out or refusal: the operator learns which
            // job, which strategy and which file, and why (the reason is capped by the host).
            if let SolveError::Strategy { source, .. } = &error
                && !matches!(source, HostError::Cancelled)
            {
                tracing::warn!(
                    job_id = %job_id,
                    strategy = %strategy_label,
                    file = %strategy_file,
                    reason = %source,
                    "strategy run failed"
                );
            }
            classify(&error)
        })
    });
    let mut events = app.event_bus.subscribe();
    let mut events_open = true;
    let mut heartbeat = tokio::time::interval(settings.heartbeat);
    heartbeat.tick().await;
    // The host enforces the strategy's limit; this deadline catches anything else.
    let deadline = tokio::time::sleep(limit + Duration::from_secs(30));
    tokio::pin!(deadline);
    tokio::pin!(solver);
    let mut stop_reason: Option<RunFailure> = None;
    let mut pending_progress: Option<Progress> = None;
    let mut next_progress_store = tokio::time::Instant::now();
    loop {
        tokio::select! {
            result = &mut solver => {
                let result = result.map_err(|error| RunFailure::Transient(format!("the solver thread failed: {error}")))?;
                return match (result, stop_reason) {
                    (_, Some(reason)) => Err(reason),
                    (result, None) => result,
                };
            }
            Some(progress) = progress_receiver.recv() => {
                // Only the newest step matters; it is stored at most every
                // PROGRESS_STORE_EVERY, the ones in between are replaced.
                pending_progress = Some(progress);
            }
            () = tokio::time::sleep_until(next_progress_store), if pending_progress.is_some() && stop_reason.is_none() => {
                if let Some(progress) = pending_progress.take() {
                    store_and_publish_progress(app, job.id, settings, &progress).await;
                }
                next_progress_store = tokio::time::Instant::now() + PROGRESS_STORE_EVERY;
            }
            event = events.recv(), if events_open => {
                match event {
                    Ok(crate::ports::BusMessage::Job(event))
                        if event.job_id == job.id && event.cancel_requested && stop_reason.is_none() =>
                    {
                        stop_reason = Some(RunFailure::Cancelled);
                        cancel.store(true, Ordering::SeqCst);
                    }
                    // The database flag, read with every heartbeat, still catches it.
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => events_open = false,
                    _ => {}
                }
            }
            _ = heartbeat.tick() => {
                match transitions::renew_lease(&app.database, job.id, &settings.worker_id, settings.lease).await {
                    Ok(Some(renewed)) => {
                        if renewed.cancel_requested && stop_reason.is_none() {
                            stop_reason = Some(RunFailure::Cancelled);
                            cancel.store(true, Ordering::SeqCst);
                        }
                    }
                    Ok(None) => {
                        stop_reason = Some(RunFailure::LeaseLost);
                        cancel.store(true, Ordering::SeqCst);
                    }
                    Err(error) => tracing::warn!(%error, "renewing the lease failed; retrying"),
                }
            }
            changed = shutdown.changed(), if stop_reason.is_none() => {
                if changed.is_err() || *shutdown.borrow() {
                    stop_reason = Some(RunFailure::ShuttingDown);
                    cancel.store(true, Ordering::SeqCst);
                }
            }
            () = &mut deadline, if stop_reason.is_none() => {
                tracing::warn!(job_id = %job.id, "the plugin host gave no answer 30 s past the job's time limit of {} s; stopping the run", limit.as_secs());
                stop_reason = Some(RunFailure::Permanent(format!("the run gave no answer 30 s past its time limit of {} s and was stopped", limit.as_secs())));
                cancel.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// How often at most a running job's progress is stored (and published): each step is
/// a database write, and a strategy may report hundreds a second.
const PROGRESS_STORE_EVERY: Duration = Duration::from_millis(250);

/// Stores a progress step while the job is ours, then publishes the stored row, so the
/// event's sequence and the database agree and a resync never goes back in progress.
async fn store_and_publish_progress(
    app: &AppContext,
    job_id: Uuid,
    settings: &ExecutionSettings,
    progress: &Progress,
) {
    match transitions::record_progress(
        &app.database,
        job_id,
        &settings.worker_id,
        progress.fraction,
        progress.best_objective,
    )
    .await
    {
        Ok(Some(job)) => {
            let message = Some(progress.message.clone()).filter(|message| !message.is_empty());
            publish(app, &job, message).await;
        }
        // Not ours any more: the next lease renewal stops the run.
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "storing progress failed; the next step is stored"),
    }
}

async fn store_layouts(
    transaction: &impl ConnectionTrait,
    job: &jobs::Model,
    outcome: &SolveOutcome,
) -> Result<(), ExecuteJobError> {
    let now = Utc::now();
    let projector = outcome
        .problem
        .projection
        .projector()
        .map_err(|error| GeometryStorageError::Encode(error.to_string()))?;
    for (rank, solved) in outcome.layouts.iter().enumerate() {
        insert_layout(
            transaction,
            &projector,
            LayoutToStore {
                organization_id: job.organization_id,
                job_id: job.id,
                site_id: job.site_id,
                rank: rank as i32,
                edited_from_id: None,
                layout: &solved.layout,
                metrics: &solved.metrics,
                geojson: serde_json::to_value(&solved.geojson)
                    .map_err(StoreLayoutError::Serialize)?,
                created_at: now,
            },
        )
        .await?;
    }
    Ok(())
}
