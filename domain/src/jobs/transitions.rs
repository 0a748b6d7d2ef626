//! The job state machine: every change of a job's status is one conditional `UPDATE`
//! here, and nowhere else.
//!
//! ```text
//! queued ──claim──▶ running ──finish──▶ succeeded | failed | cancelled
//!   ▲  │              │  ├─ transient failure / hand-back at shutdown ──▶ queued
//!   │  └─cancel──▶ cancelled     └─ lease expired: taken over (running again), or
//!   └──── retry ◀── failed | cancelled   ended cancelled / dead-lettered (failed)
//! ```
//!
//! Each statement names the status (and, where it matters, the owner or the
//! `event_sequence` that was read) it moves from, so two actors racing for the same job
//! never both win: the loser's `UPDATE` matches no row. Each statement also raises
//! `event_sequence`, which orders the job's events for subscribers, and appends the
//! attempt that ended, if any, to `history` (one entry per attempt, with its outcome).

use chrono::{DateTime, Utc};
use entmoot_entities::jobs::{self, JobStatus};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// How one attempt ended, as its history entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed for good (its error says why).
    Failed,
    /// Failed transiently and queued again after a backoff.
    Retried,
    Cancelled,
    /// Its worker stopped renewing the lease (killed, partitioned); found by a takeover.
    WorkerLost,
    /// Its worker shut down (SIGTERM) and gave the job back; the attempt is not counted.
    HandedBack,
    /// An operator ended the job (`entmoot admin jobs end`).
    EndedByOperator,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Retried => "retried",
            AttemptOutcome::Cancelled => "cancelled",
            AttemptOutcome::WorkerLost => "worker_lost",
            AttemptOutcome::HandedBack => "handed_back",
            AttemptOutcome::EndedByOperator => "ended_by_operator",
        }
    }
}

/// The history entry of the job's current attempt. `strategy_version` is the plugin
/// version the attempt ran (provenance), `None` when none was started or it is unknown.
fn attempt_entry(
    job: &jobs::Model,
    outcome: AttemptOutcome,
    error: Option<&str>,
    strategy_version: Option<&str>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    json!({
        "attempt": job.attempts,
        "worker": job.worker_id,
        "started_at": job.started_at,
        "ended_at": now,
        "outcome": outcome.as_str(),
        "error": error,
        "strategy_version": strategy_version,
    })
}

fn with_entry(job: &jobs::Model, entry: serde_json::Value) -> serde_json::Value {
    let mut history = job.history.as_array().cloned().unwrap_or_default();
    history.push(entry);
    serde_json::Value::Array(history)
}

fn next_sequence() -> SimpleExpr {
    Expr::col(jobs::Column::EventSequence).add(1)
}

fn no_time() -> Expr {
    Expr::value(Option::<DateTime<Utc>>::None)
}

fn lease_until(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

/// The row as it is now, if it still exists.
async fn reread(connection: &impl ConnectionTrait, id: Uuid) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find_by_id(id).one(connection).await
}

/// The job as `job` read it: same status and no event since. The guard of every
/// read-then-write transition below.
fn unchanged_since_read(job: &jobs::Model) -> Condition {
    Condition::all()
        .add(jobs::Column::Id.eq(job.id))
        .add(jobs::Column::Status.eq(job.status))
        .add(jobs::Column::EventSequence.eq(job.event_sequence))
}

/// A queued job may run: it is not waiting out a retry backoff. A delivery that comes
/// early (another worker's clock, a stray duplicate) is a no-op; recovery dispatches the
/// job again once it is due.
pub fn due_for_retry(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(jobs::Column::RetryAt.is_null())
        .add(jobs::Column::RetryAt.lte(now))
}

/// Running, but its worker has not renewed the lease in time.
pub fn lease_expired(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(jobs::Column::Status.eq(JobStatus::Running))
        .add(jobs::Column::LeaseExpiresAt.lt(now))
}

/// What a worker's claim of a delivered job came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The job runs on this worker now (the returned row is after the claim).
    Claimed(jobs::Model),
    /// The job had been asked to stop and its worker was gone: it ended cancelled.
    EndedCancelled(jobs::Model),
    /// Its attempts were used up (the last worker vanished): it ended failed.
    DeadLettered(jobs::Model),
    /// Someone else holds it, it has ended, or it is not due yet: nothing was done.
    NotClaimable,
}

/// What a worker's claim writes when the job may run: running, owned, leased.
fn run_here(
    update: sea_orm::UpdateMany<jobs::Entity>,
    worker_id: &str,
    now: DateTime<Utc>,
    lease: std::time::Duration,
) -> sea_orm::UpdateMany<jobs::Entity> {
    update
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(jobs::Column::WorkerId, Expr::value(worker_id.to_owned()))
        .col_expr(jobs::Column::StartedAt, Expr::value(now))
        .col_expr(jobs::Column::HeartbeatAt, Expr::value(now))
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::value(lease_until(now, lease)),
        )
        .col_expr(jobs::Column::RetryAt, no_time())
        .col_expr(jobs::Column::Stage, Expr::value("preparing"))
        .col_expr(jobs::Column::Progress, Expr::value(0.0))
        .col_expr(
            jobs::Column::BestObjective,
            Expr::value(Option::<f64>::None),
        )
        .col_expr(
            jobs::Column::Attempts,
            Expr::col(jobs::Column::Attempts).add(1),
        )
        .col_expr(jobs::Column::EventSequence, next_sequence())
}

/// What ending a job writes, whatever the ending.
fn end_as(
    update: sea_orm::UpdateMany<jobs::Entity>,
    status: JobStatus,
    error: Option<String>,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<jobs::Entity> {
    update
        .col_expr(jobs::Column::Status, Expr::value(status))
        .col_expr(jobs::Column::Error, Expr::value(error))
        .col_expr(jobs::Column::FinishedAt, Expr::value(now))
        .col_expr(
            jobs::Column::Stage,
            Expr::value(if status == JobStatus::Succeeded {
                "done"
            } else {
                status.as_str()
            }),
        )
        .col_expr(jobs::Column::LeaseExpiresAt, no_time())
        .col_expr(jobs::Column::RetryAt, no_time())
        .col_expr(jobs::Column::EventSequence, next_sequence())
}

async fn first(
    update: sea_orm::UpdateMany<jobs::Entity>,
    connection: &impl ConnectionTrait,
) -> Result<Option<jobs::Model>, DbErr> {
    Ok(update
        .exec_with_returning(connection)
        .await?
        .into_iter()
        .next())
}

/// Claims a delivered job for `worker_id`: a queued job that is due, or a running one
/// whose lease expired (a takeover: the vanished attempt is recorded as `worker_lost`).
/// A takeover of a job asked to stop ends it cancelled instead, and one whose attempts
/// are used up ends it failed, so that `attempts` never exceeds `max_attempts`.
pub async fn claim(
    connection: &impl ConnectionTrait,
    job_id: Uuid,
    worker_id: &str,
    lease: std::time::Duration,
) -> Result<Claim, DbErr> {
    let now = Utc::now();
    let Some(job) = reread(connection, job_id).await? else {
        return Ok(Claim::NotClaimable);
    };
    match job.status {
        JobStatus::Queued => {
            if job.retry_at.is_some_and(|retry_at| retry_at > now) {
                return Ok(Claim::NotClaimable);
            }
            if job.cancel_requested {
                return Ok(end_cancelled_unstarted(connection, &job, now)
                    .await?
                    .map_or(Claim::NotClaimable, Claim::EndedCancelled));
            }
            if job.attempts >= job.max_attempts {
                let error = format!(
                    "dead-lettered after {} attempts; see its history",
                    job.attempts
                );
                let update = end_as(
                    jobs::Entity::update_many(),
                    JobStatus::Failed,
                    Some(error),
                    now,
                )
                .filter(unchanged_since_read(&job));
                return Ok(first(update, connection)
                    .await?
                    .map_or(Claim::NotClaimable, Claim::DeadLettered));
            }
            let update = run_here(jobs::Entity::update_many(), worker_id, now, lease)
                .filter(unchanged_since_read(&job))
                .filter(due_for_retry(now))
                .filter(jobs::Column::CancelRequested.eq(false));
            Ok(first(update, connection)
                .await?
                .map_or(Claim::NotClaimable, Claim::Claimed))
        }
        JobStatus::Running if job.lease_expires_at.is_some_and(|until| until < now) => {
            take_over(connection, &job, Some(worker_id), lease, now).await
        }
        _ => Ok(Claim::NotClaimable),
    }
}

/// A running job whose worker vanished: its attempt is recorded as lost, then the job
/// is ended cancelled (asked to stop), ended failed (out of attempts), or, with a
/// `worker_id`, run by that worker. Without a worker a job that may run again is left
/// as it is (for a worker to claim).
async fn take_over(
    connection: &impl ConnectionTrait,
    job: &jobs::Model,
    worker_id: Option<&str>,
    lease: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Claim, DbErr> {
    let lost = attempt_entry(
        job,
        AttemptOutcome::WorkerLost,
        Some("its worker stopped renewing the lease (killed or cut off)"),
        None,
        now,
    );
    let guard = unchanged_since_read(job).add(lease_expired(now));
    if job.cancel_requested {
        let update = end_as(
            jobs::Entity::update_many(),
            JobStatus::Cancelled,
            Some("cancelled on request (its worker had stopped)".to_owned()),
            now,
        )
        .col_expr(jobs::Column::History, Expr::value(with_entry(job, lost)))
        .filter(guard);
        return Ok(first(update, connection)
            .await?
            .map_or(Claim::NotClaimable, Claim::EndedCancelled));
    }
    if job.attempts >= job.max_attempts {
        let error = format!(
            "dead-lettered: {} attempts ended without a result (their workers stopped or crashed); see its history",
            job.attempts
        );
        let update = end_as(
            jobs::Entity::update_many(),
            JobStatus::Failed,
            Some(error),
            now,
        )
        .col_expr(jobs::Column::History, Expr::value(with_entry(job, lost)))
        .filter(guard);
        return Ok(first(update, connection)
            .await?
            .map_or(Claim::NotClaimable, Claim::DeadLettered));
    }
    let Some(worker_id) = worker_id else {
        return Ok(Claim::NotClaimable);
    };
    let update = run_here(jobs::Entity::update_many(), worker_id, now, lease)
        .col_expr(jobs::Column::History, Expr::value(with_entry(job, lost)))
        .filter(guard);
    Ok(first(update, connection)
        .await?
        .map_or(Claim::NotClaimable, Claim::Claimed))
}

/// Ends a running job whose worker is gone when nobody needs to run it again: asked to
/// stop (cancelled) or out of attempts (failed). Recovery calls this for every expired
/// lease, so such a job ends within one recovery pass after its lease expires, whether
/// or not the queue still reaches a worker.
pub async fn end_if_abandoned(
    connection: &impl ConnectionTrait,
    job_id: Uuid,
) -> Result<Option<jobs::Model>, DbErr> {
    let now = Utc::now();
    let Some(job) = reread(connection, job_id).await? else {
        return Ok(None);
    };
    if job.status != JobStatus::Running || job.lease_expires_at.is_none_or(|until| until >= now) {
        return Ok(None);
    }
    Ok(
        match take_over(connection, &job, None, std::time::Duration::ZERO, now).await? {
            Claim::EndedCancelled(job) | Claim::DeadLettered(job) => Some(job),
            Claim::Claimed(_) | Claim::NotClaimable => None,
        },
    )
}

async fn end_cancelled_unstarted(
    connection: &impl ConnectionTrait,
    job: &jobs::Model,
    now: DateTime<Utc>,
) -> Result<Option<jobs::Model>, DbErr> {
    let update = end_as(
        jobs::Entity::update_many(),
        JobStatus::Cancelled,
        Some("cancelled on request".to_owned()),
        now,
    )
    .col_expr(jobs::Column::CancelRequested, Expr::value(true))
    .col_expr(jobs::Column::WorkerId, Expr::value(Option::<String>::None))
    .filter(unchanged_since_read(job));
    first(update, connection).await
}

/// Renews the lease of a job this worker runs. `None` when it is no longer ours
/// (taken over, ended by an operator); otherwise the row, whose `cancel_requested`
/// says whether to stop.
pub async fn renew_lease(
    connection: &impl ConnectionTrait,
    job_id: Uuid,
    worker_id: &str,
    lease: std::time::Duration,
) -> Result<Option<jobs::Model>, DbErr> {
    let now = Utc::now();
    let update = jobs::Entity::update_many()
        .col_expr(jobs::Column::HeartbeatAt, Expr::value(now))
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::value(lease_until(now, lease)),
        )
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .filter(jobs::Column::WorkerId.eq(worker_id));
    first(update, connection).await
}

/// Stores the progress of a job this worker runs (so that a subscriber who resyncs
/// from the database never sees it go backwards) and raises its event sequence.
/// `None` when the job is no longer ours.
pub async fn record_progress(
    connection: &impl ConnectionTrait,
    job_id: Uuid,
    worker_id: &str,
    fraction: f64,
    best_objective: Option<f64>,
) -> Result<Option<jobs::Model>, DbErr> {
    let update = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Progress,
            Expr::value(fraction.clamp(0.0, 1.0)),
        )
        .col_expr(jobs::Column::BestObjective, Expr::value(best_objective))
        .col_expr(jobs::Column::Stage, Expr::value("optimizing"))
        .col_expr(jobs::Column::EventSequence, next_sequence())
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .filter(jobs::Column::WorkerId.eq(worker_id));
    first(update, connection).await
}

/// How a worker's attempt ends, for `finish`.
#[derive(Debug, Clone)]
pub enum Ending {
    Succeeded,
    Failed {
        error: String,
    },
    Cancelled,
    /// A transient failure: queued again, not to run before `retry_at`.
    Retry {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
    /// The worker shuts down: queued again at once, the attempt given back.
    HandedBack,
}

/// Ends this worker's attempt, if the job is still its own. Run it in the transaction
/// that stores the result: the status change and the layouts commit together or not at
/// all. `job` is the row as claimed (its history is extended). `false`: the job is not
/// ours any more (our lease was lost), nothing was written.
pub async fn finish(
    connection: &impl ConnectionTrait,
    job: &jobs::Model,
    worker_id: &str,
    ending: &Ending,
    strategy_version: Option<&str>,
) -> Result<Option<jobs::Model>, DbErr> {
    let now = Utc::now();
    let (outcome, error) = match ending {
        Ending::Succeeded => (AttemptOutcome::Succeeded, None),
        Ending::Failed { error } => (AttemptOutcome::Failed, Some(error.clone())),
        Ending::Cancelled => (
            AttemptOutcome::Cancelled,
            Some("cancelled on request".to_owned()),
        ),
        Ending::Retry { error, .. } => (AttemptOutcome::Retried, Some(error.clone())),
        Ending::HandedBack => (AttemptOutcome::HandedBack, None),
    };
    let history = with_entry(
        job,
        attempt_entry(job, outcome, error.as_deref(), strategy_version, now),
    );
    let update = jobs::Entity::update_many()
        .col_expr(jobs::Column::History, Expr::value(history))
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .filter(jobs::Column::WorkerId.eq(worker_id));
    let update = match ending {
        Ending::Succeeded => end_as(update, JobStatus::Succeeded, None, now)
            .col_expr(jobs::Column::Progress, Expr::value(1.0)),
        Ending::Failed { .. } | Ending::Cancelled => {
            let status = if matches!(ending, Ending::Cancelled) {
                JobStatus::Cancelled
            } else {
                JobStatus::Failed
            };
            end_as(update, status, error, now)
        }
        Ending::Retry { retry_at, .. } => back_to_queue(update, error, *retry_at),
        // The attempt is given back in the same statement: a hand-back never uses one.
        Ending::HandedBack => back_to_queue(update, None, None).col_expr(
            jobs::Column::Attempts,
            Expr::col(jobs::Column::Attempts).sub(1),
        ),
    };
    first(update, connection).await
}

fn back_to_queue(
    update: sea_orm::UpdateMany<jobs::Entity>,
    error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
) -> sea_orm::UpdateMany<jobs::Entity> {
    update
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(jobs::Column::Error, Expr::value(error))
        .col_expr(jobs::Column::RetryAt, Expr::value(retry_at))
        .col_expr(jobs::Column::WorkerId, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::LeaseExpiresAt, no_time())
        .col_expr(jobs::Column::Stage, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::Progress, Expr::value(0.0))
        .col_expr(jobs::Column::EventSequence, next_sequence())
}

/// What a cancel request came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// Queued, or running on a worker that is gone: ended cancelled now.
    Ended(jobs::Model),
    /// Running: its worker is told (bus, lease renewal) and ends it; if that worker is
    /// gone, the takeover of its expired lease ends it.
    Requested(jobs::Model),
    /// It had already ended.
    AlreadyEnded(jobs::Model),
    NotFound,
}

/// Asks a job of `organization_id` to stop.
pub async fn request_cancel(
    connection: &impl ConnectionTrait,
    organization_id: Uuid,
    job_id: Uuid,
) -> Result<CancelOutcome, DbErr> {
    // Each try reads the row and writes only if nothing changed since; a change in
    // between (a claim, a progress step) is rare and simply read again.
    for _ in 0..20 {
        let now = Utc::now();
        let Some(job) = reread(connection, job_id).await? else {
            return Ok(CancelOutcome::NotFound);
        };
        if job.organization_id != organization_id {
            return Ok(CancelOutcome::NotFound);
        }
        let result = match job.status {
            status if status.is_terminal() => return Ok(CancelOutcome::AlreadyEnded(job)),
            JobStatus::Queued => end_cancelled_unstarted(connection, &job, now)
                .await?
                .map(CancelOutcome::Ended),
            _ if job.lease_expires_at.is_some_and(|until| until < now) => {
                let mut asked = job.clone();
                asked.cancel_requested = true;
                let update = jobs::Entity::update_many()
                    .col_expr(jobs::Column::CancelRequested, Expr::value(true))
                    .filter(unchanged_since_read(&job));
                // Mark first, so that the takeover below sees the request.
                if first(update, connection).await?.is_none() {
                    continue;
                }
                asked.event_sequence = job.event_sequence;
                match take_over(connection, &asked, None, std::time::Duration::ZERO, now).await? {
                    Claim::EndedCancelled(job) => Some(CancelOutcome::Ended(job)),
                    _ => None,
                }
            }
            _ => {
                let update = jobs::Entity::update_many()
                    .col_expr(jobs::Column::CancelRequested, Expr::value(true))
                    .col_expr(jobs::Column::EventSequence, next_sequence())
                    .filter(unchanged_since_read(&job));
                first(update, connection)
                    .await?
                    .map(CancelOutcome::Requested)
            }
        };
        if let Some(result) = result {
            return Ok(result);
        }
    }
    Err(DbErr::Custom(
        "the job kept changing while it was being cancelled".to_owned(),
    ))
}

/// Queues a failed or cancelled job of `organization_id` again, with a fresh attempt
/// budget. `None` when it is in another state (or not found).
pub async fn retry(
    connection: &impl ConnectionTrait,
    organization_id: Uuid,
    job_id: Uuid,
) -> Result<Option<jobs::Model>, DbErr> {
    let update = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(jobs::Column::Attempts, Expr::value(0))
        .col_expr(jobs::Column::CancelRequested, Expr::value(false))
        .col_expr(jobs::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::Stage, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::Progress, Expr::value(0.0))
        .col_expr(jobs::Column::WorkerId, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::LeaseExpiresAt, no_time())
        .col_expr(jobs::Column::RetryAt, no_time())
        .col_expr(jobs::Column::FinishedAt, no_time())
        .col_expr(jobs::Column::EventSequence, next_sequence())
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::OrganizationId.eq(organization_id))
        .filter(jobs::Column::Status.is_in([JobStatus::Failed, JobStatus::Cancelled]));
    first(update, connection).await
}

/// An operator ends a job that has not ended, whatever holds it (`entmoot admin jobs
/// end`): it becomes cancelled with `reason` as its error, and a running attempt is
/// recorded as ended by the operator. Its worker, if alive, loses the job at its next
/// lease renewal and stores nothing. `Ok(None)`: it had already ended or is unknown.
pub async fn end_by_operator(
    connection: &impl ConnectionTrait,
    job_id: Uuid,
    reason: &str,
) -> Result<Option<jobs::Model>, DbErr> {
    for _ in 0..20 {
        let now = Utc::now();
        let Some(job) = reread(connection, job_id).await? else {
            return Ok(None);
        };
        if job.status.is_terminal() {
            return Ok(None);
        }
        let error = format!("ended by an operator: {reason}");
        let mut update = end_as(
            jobs::Entity::update_many(),
            JobStatus::Cancelled,
            Some(error.clone()),
            now,
        )
        .col_expr(jobs::Column::CancelRequested, Expr::value(true))
        .filter(unchanged_since_read(&job));
        if job.status == JobStatus::Running {
            let entry = attempt_entry(
                &job,
                AttemptOutcome::EndedByOperator,
                Some(&error),
                None,
                now,
            );
            update = update.col_expr(jobs::Column::History, Expr::value(with_entry(&job, entry)));
        }
        if let Some(ended) = first(update, connection).await? {
            return Ok(Some(ended));
        }
    }
    Err(DbErr::Custom(
        "the job kept changing while it was being ended".to_owned(),
    ))
}

/// Deletes a job (and, by the foreign keys, its layouts) unless a live worker holds
/// it: an operator ends such a job first. `Ok(false)`: nothing deleted.
pub async fn delete_unheld(connection: &impl ConnectionTrait, job_id: Uuid) -> Result<bool, DbErr> {
    let now = Utc::now();
    let deleted = jobs::Entity::delete_many()
        .filter(jobs::Column::Id.eq(job_id))
        .filter(
            Condition::any()
                .add(jobs::Column::Status.ne(JobStatus::Running))
                .add(jobs::Column::LeaseExpiresAt.is_null())
                .add(jobs::Column::LeaseExpiresAt.lt(now)),
        )
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_have_distinct_names() {
        let all = [
            AttemptOutcome::Succeeded,
            AttemptOutcome::Failed,
            AttemptOutcome::Retried,
            AttemptOutcome::Cancelled,
            AttemptOutcome::WorkerLost,
            AttemptOutcome::HandedBack,
            AttemptOutcome::EndedByOperator,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|o| o.as_str()).collect();
        assert_eq!(names.len(), all.len());
    }
}
