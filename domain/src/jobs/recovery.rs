//! Finding work that would otherwise be lost, from the database (the source of truth),
//! never from the queue's length:
//!
//! - running jobs whose worker stopped renewing its lease (killed, partitioned): one
//!   asked to stop, or out of attempts, is ended here at once; the others are enqueued
//!   for a takeover;
//! - queued, due jobs that no entry of the queue holds (a dispatch that failed, a
//!   Redis restarted without persistence, a worker killed between receiving an entry
//!   and claiming the job): enqueued again.
//!
//! Enqueueing twice is harmless: only one worker can claim a job.

use chrono::Utc;
use entmoot_entities::jobs::{self, JobStatus};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::context::AppContext;
use crate::jobs::notify::notify_job_ended;
use crate::jobs::publish;
use crate::jobs::transitions::{due_for_retry, end_if_abandoned, lease_expired};
use crate::ports::QueueError;

/// The most jobs one pass looks at in each category.
const PASS_LIMIT: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("reading jobs failed")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What one recovery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Running jobs whose lease had expired.
    pub expired_leases: usize,
    /// Of those, the ones ended here (asked to stop, or out of attempts).
    pub ended: usize,
    /// Queued jobs dispatched again because the queue held no entry for them.
    pub requeued: usize,
}

async fn ids_where(app: &AppContext, condition: Condition) -> Result<Vec<Uuid>, DbErr> {
    jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Id)
        .filter(condition)
        .order_by_asc(jobs::Column::CreatedAt)
        .limit(PASS_LIMIT)
        .into_tuple::<Uuid>()
        .all(&app.database)
        .await
}

/// One pass, as described above.
pub async fn recover_jobs(app: &AppContext) -> Result<RecoveryReport, RecoveryError> {
    let now = Utc::now();
    let mut report = RecoveryReport::default();
    for id in ids_where(app, lease_expired(now)).await? {
        report.expired_leases += 1;
        match end_if_abandoned(&app.database, id).await? {
            Some(ended) => {
                tracing::info!(job_id = %id, status = %ended.status, "ended a job whose worker had stopped");
                report.ended += 1;
                publish(app, &ended, ended.error.clone()).await;
                notify_job_ended(app, id).await;
            }
            None => app.job_queue.enqueue(id).await?,
        }
    }
    // A job waiting out its retry backoff is meant to be absent from the queue.
    let queued = ids_where(
        app,
        Condition::all()
            .add(jobs::Column::Status.eq(JobStatus::Queued))
            .add(due_for_retry(now)),
    )
    .await?;
    if !queued.is_empty() {
        let waiting = app.job_queue.waiting_jobs(PASS_LIMIT as usize).await?;
        for id in queued.into_iter().filter(|id| !waiting.contains(id)) {
            app.job_queue.enqueue(id).await?;
            report.requeued += 1;
        }
    }
    Ok(report)
}
