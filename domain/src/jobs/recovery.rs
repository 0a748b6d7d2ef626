//! Finding work that would otherwise be lost: running jobs whose worker stopped
//! renewing its lease (killed, partitioned) and queued jobs that the queue forgot (an
//! in-process queue after a restart, a Redis restarted without persistence). The
//! database says what must run; this puts it back on the queue. Enqueueing twice is
//! harmless: only one worker can claim a job.

use chrono::Utc;
use entmoot_entities::jobs;
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::context::AppContext;
use crate::jobs::execution::due_for_retry;
use crate::jobs::{QUEUED, RUNNING};
use crate::ports::QueueError;

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
    pub expired_leases: usize,
    pub requeued: usize,
}

async fn ids_with_status_condition(
    app: &AppContext,
    condition: Condition,
) -> Result<Vec<Uuid>, DbErr> {
    Ok(jobs::Entity::find()
        .filter(condition)
        .order_by_asc(jobs::Column::CreatedAt)
        .limit(10_000)
        .all(&app.database)
        .await?
        .into_iter()
        .map(|job| job.id)
        .collect())
}

/// One pass: jobs with an expired lease are enqueued for takeover; queued jobs are
/// enqueued again when the queue holds fewer entries than there are queued jobs.
pub async fn recover_jobs(app: &AppContext) -> Result<RecoveryReport, RecoveryError> {
    let now = Utc::now();
    let expired = ids_with_status_condition(
        app,
        Condition::all()
            .add(jobs::Column::Status.eq(RUNNING))
            .add(jobs::Column::LeaseExpiresAt.lt(now)),
    )
    .await?;
    for id in &expired {
        app.job_queue.enqueue(*id).await?;
    }
    // A job waiting out its retry backoff is meant to be absent from the queue.
    let queued = ids_with_status_condition(
        app,
        Condition::all()
            .add(jobs::Column::Status.eq(QUEUED))
            .add(due_for_retry(now)),
    )
    .await?;
    let depth = app.job_queue.depth().await?;
    let mut requeued = 0;
    if (queued.len() as u64) > depth {
        for id in &queued {
            app.job_queue.enqueue(*id).await?;
        }
        requeued = queued.len();
    }
    Ok(RecoveryReport {
        expired_leases: expired.len(),
        requeued,
    })
}
