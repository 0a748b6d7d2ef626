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
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TransactionTrait,
};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::domain::context::AppContext;
use crate::domain::geometry_storage::GeometryStorageError;
use crate::domain::jobs::notify::notify_job_ended;
use crate::domain::jobs::{CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, publish};
use crate::domain::layout_storage::{LayoutToStore, StoreLayoutError, insert_layout};
use crate::domain::sites::load_site;
use crate::domain::solve::{SolveError, SolveOutcome, SolveRequest, choose_strategy, solve_with};
use crate::domain::terrain::{SiteTerrainError, site_dem};

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
            _ => RunFailure::Permanent(message),
        },
        _ => RunFailure::Permanent(message),
    }
}

/// `strategy_version` is the version the attempt ran (provenance: which plugin file
/// produced the layouts), `None` when no strategy was started.
fn history_entry(
    job: &jobs::Model,
    worker_id: &str,
    outcome: &str,
    error: Option<&str>,
    strategy_version: Option<&str>,
) -> serde_json::Value {
    json!({
        "attempt": job.attempts,
        "worker": worker_id,
        "started_at": job.started_at,
        "ended_at": Utc::now(),
        "outcome": outcome,
        "error": error,
        "strategy_version": strategy_version,
    })
}

fn with_history(job: &jobs::Model, entry: serde_json::Value) -> serde_json::Value {
    let mut history = job.history.as_array().cloned().unwrap_or_default();
    history.push(entry);
    serde_json::Value::Array(history)
}

/// A queued job may run: it is not waiting out a retry backoff. A delivery that comes
/// early (another worker's clock, a stray duplicate) is a no-op; recovery dispatches the
/// job again once it is due.
pub(crate) fn due_for_retry(now: chrono::DateTime<Utc>) -> Condition {
    Condition::any()
        .add(jobs::Column::RetryAt.is_null())
        .add(jobs::Column::RetryAt.lte(now))
}

/// Atomically moves a job to running for this worker; `None` when it is not ours to run.
async fn claim(
    app: &AppContext,
    job_id: Uuid,
    settings: &ExecutionSettings,
) -> Result<Option<jobs::Model>, DbErr> {
    let now = Utc::now();
    let lease_until =
        now + chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::seconds(30));
    let claimed = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(RUNNING))
        .col_expr(
            jobs::Column::WorkerId,
            Expr::value(settings.worker_id.clone()),
        )
        .col_expr(jobs::Column::StartedAt, Expr::value(now))
        .col_expr(jobs::Column::HeartbeatAt, Expr::value(now))
        .col_expr(jobs::Column::LeaseExpiresAt, Expr::value(lease_until))
        .col_expr(
            jobs::Column::RetryAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(jobs::Column::Stage, Expr::value("preparing"))
        .col_expr(jobs::Column::Progress, Expr::value(0.0))
        .col_expr(
            jobs::Column::Attempts,
            sea_orm::sea_query::ExprTrait::add(Expr::col(jobs::Column::Attempts), 1),
        )
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::CancelRequested.eq(false))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(jobs::Column::Status.eq(QUEUED))
                        .add(due_for_retry(now)),
                )
                .add(
                    Condition::all()
                        .add(jobs::Column::Status.eq(RUNNING))
                        .add(jobs::Column::LeaseExpiresAt.lt(now)),
                ),
        )
        .exec(&app.database)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(None);
    }
    jobs::Entity::find_by_id(job_id).one(&app.database).await
}

/// Ends the job if it is still ours: the status change and the stored result commit
/// together or not at all.
/// How an attempt ends, for `finish`.
struct Ending<'a> {
    status: &'a str,
    error: Option<String>,
    outcome: Option<&'a SolveOutcome>,
    /// The plugin version the attempt ran, for its history entry.
    strategy_version: Option<&'a str>,
    /// When a job queued again after a transient failure may run.
    retry_at: Option<chrono::DateTime<Utc>>,
}

async fn finish(
    app: &AppContext,
    job: &jobs::Model,
    settings: &ExecutionSettings,
    ending: Ending<'_>,
) -> Result<bool, ExecuteJobError> {
    let Ending {
        status,
        error,
        outcome,
        strategy_version,
        retry_at,
    } = ending;
    let transaction = app.database.begin().await?;
    let mut update = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(status))
        .col_expr(jobs::Column::RetryAt, Expr::value(retry_at))
        .col_expr(jobs::Column::Error, Expr::value(error.clone()))
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(
            jobs::Column::History,
            Expr::value(with_history(
                job,
                history_entry(
                    job,
                    &settings.worker_id,
                    status,
                    error.as_deref(),
                    strategy_version,
                ),
            )),
        )
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::Status.eq(RUNNING))
        .filter(jobs::Column::WorkerId.eq(settings.worker_id.clone()));
    if status == QUEUED {
        update = update.col_expr(jobs::Column::WorkerId, Expr::value(Option::<String>::None));
    } else {
        update = update
            .col_expr(jobs::Column::FinishedAt, Expr::value(Utc::now()))
            .col_expr(
                jobs::Column::Stage,
                Expr::value(if status == SUCCEEDED { "done" } else { status }),
            );
        if status == SUCCEEDED {
            update = update.col_expr(jobs::Column::Progress, Expr::value(1.0));
        }
    }
    let updated = update.exec(&transaction).await?;
    if updated.rows_affected == 0 {
        transaction.rollback().await?;
        return Ok(false);
    }
    if let Some(outcome) = outcome {
        store_layouts(&transaction, job, outcome).await?;
    }
    transaction.commit().await?;
    Ok(true)
}

/// Runs one delivered job to an end. Safe to call for any id, any number of times.
pub async fn execute_job(
    app: &AppContext,
    job_id: Uuid,
    settings: &ExecutionSettings,
    shutdown: watch::Receiver<bool>,
) -> Result<Execution, ExecuteJobError> {
    let Some(job) = claim(app, job_id, settings).await? else {
        return Ok(Execution::NotClaimed);
    };
    if job.attempts > job.max_attempts {
        let error = format!(
            "dead-lettered: the job was taken over {} times without finishing (its workers stopped or crashed); see its history",
            job.attempts - 1
        );
        finish(
            app,
            &job,
            settings,
            Ending {
                status: FAILED,
                error: Some(error.clone()),
                outcome: None,
                strategy_version: None,
                retry_at: None,
            },
        )
        .await?;
        publish_current(app, job.id, Some(error)).await;
        notify_job_ended(app, job.id).await;
        return Ok(Execution::Failed);
    }
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
    let execution = match result {
        Ok(outcome) => {
            if finish(
                app,
                &job,
                settings,
                Ending {
                    status: SUCCEEDED,
                    error: None,
                    outcome: Some(&outcome),
                    strategy_version: used,
                    retry_at: None,
                },
            )
            .await?
            {
                Execution::Succeeded
            } else {
                Execution::LeaseLost
            }
        }
        Err(RunFailure::LeaseLost) => Execution::LeaseLost,
        Err(RunFailure::Cancelled) => {
            finish(
                app,
                &job,
                settings,
                Ending {
                    status: CANCELLED,
                    error: Some("cancelled on request".into()),
                    outcome: None,
                    strategy_version: used,
                    retry_at: None,
                },
            )
            .await?;
            Execution::Cancelled
        }
        Err(RunFailure::ShuttingDown) => {
            // Not the job's fault: give the attempt back.
            let handed_back = finish(
                app,
                &job,
                settings,
                Ending {
                    status: QUEUED,
                    error: None,
                    outcome: None,
                    strategy_version: used,
                    retry_at: None,
                },
            )
            .await?;
            if handed_back {
                jobs::Entity::update_many()
                    .col_expr(
                        jobs::Column::Attempts,
                        sea_orm::sea_query::ExprTrait::sub(Expr::col(jobs::Column::Attempts), 1),
                    )
                    .filter(jobs::Column::Id.eq(job.id))
                    .exec(&app.database)
                    .await?;
                if let Err(error) = app.job_queue.enqueue(job.id).await {
                    tracing::warn!(job_id = %job.id, %error, "re-enqueueing a handed-back job failed; recovery will find it");
                }
            }
            Execution::HandedBack
        }
        Err(RunFailure::Permanent(message)) => {
            finish(
                app,
                &job,
                settings,
                Ending {
                    status: FAILED,
                    error: Some(message),
                    outcome: None,
                    strategy_version: used,
                    retry_at: None,
                },
            )
            .await?;
            Execution::Failed
        }
        Err(RunFailure::Transient(message)) => {
            if job.attempts >= job.max_attempts {
                let error = format!(
                    "dead-lettered after {} attempts; last error: {message}",
                    job.attempts
                );
                finish(
                    app,
                    &job,
                    settings,
                    Ending {
                        status: FAILED,
                        error: Some(error),
                        outcome: None,
                        strategy_version: used,
                        retry_at: None,
                    },
                )
                .await?;
                Execution::Failed
            } else {
                let after =
                    settings.retry_backoff * 2u32.saturating_pow(job.attempts.max(1) as u32 - 1);
                let retry_at = chrono::Duration::from_std(after)
                    .ok()
                    .and_then(|delay| Utc::now().checked_add_signed(delay));
                finish(
                    app,
                    &job,
                    settings,
                    Ending {
                        status: QUEUED,
                        error: Some(message),
                        outcome: None,
                        strategy_version: used,
                        retry_at,
                    },
                )
                .await?;
                let queue = app.job_queue.clone();
                let job_id = job.id;
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    if let Err(error) = queue.enqueue(job_id).await {
                        tracing::warn!(%job_id, %error, "re-enqueueing a retried job failed; recovery will find it");
                    }
                });
                Execution::Retrying { after }
            }
        }
    };
    publish_current(app, job.id, None).await;
    // Only ended jobs are mailed; a retry or a hand-back is not an ending.
    notify_job_ended(app, job.id).await;
    Ok(execution)
}

async fn publish_current(app: &AppContext, job_id: Uuid, message: Option<String>) {
    match jobs::Entity::find_by_id(job_id).one(&app.database).await {
        Ok(Some(job)) => {
            let message = message.or_else(|| job.error.clone());
            publish(app, &job, message).await;
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%job_id, %error, "reading a job for its event failed"),
    }
}

/// Renews the lease; `false` when another worker owns the job now.
async fn renew_lease(
    app: &AppContext,
    job_id: Uuid,
    settings: &ExecutionSettings,
) -> Result<(bool, bool), DbErr> {
    let now = Utc::now();
    let lease_until =
        now + chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::seconds(30));
    let renewed = jobs::Entity::update_many()
        .col_expr(jobs::Column::HeartbeatAt, Expr::value(now))
        .col_expr(jobs::Column::LeaseExpiresAt, Expr::value(lease_until))
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::Status.eq(RUNNING))
        .filter(jobs::Column::WorkerId.eq(settings.worker_id.clone()))
        .exec(&app.database)
        .await?;
    let cancel_requested = jobs::Entity::find_by_id(job_id)
        .one(&app.database)
        .await?
        .is_some_and(|job| job.cancel_requested);
    Ok((renewed.rows_affected == 1, cancel_requested))
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
                let mut event_job = job.clone();
                event_job.progress = progress.fraction;
                event_job.best_objective = progress.best_objective;
                event_job.stage = Some("optimizing".to_owned());
                publish(app, &event_job, Some(progress.message.clone()).filter(|m| !m.is_empty())).await;
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
                match renew_lease(app, job.id, settings).await {
                    Ok((true, cancel_requested)) => {
                        if cancel_requested && stop_reason.is_none() {
                            stop_reason = Some(RunFailure::Cancelled);
                            cancel.store(true, Ordering::SeqCst);
                        }
                    }
                    Ok((false, _)) => {
                        stop_reason = Some(RunFailure::LeaseLost);
                        cancel.store(true, Ordering::SeqCst);
                    }
                    Err(error) => tracing::warn!(job_id = %job.id, %error, "renewing the lease failed; retrying"),
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
