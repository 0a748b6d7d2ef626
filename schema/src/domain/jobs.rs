//! Jobs: one optimization run of a strategy on a site and program. The database row
//! is the source of truth (queued → running → succeeded | failed | cancelled); the
//! queue only tells a worker to look at it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use entmoot_entities::{buildings, jobs, layouts};
use entmoot_plugin_sdk::geo::Geometry;
use entmoot_plugin_sdk::{Program, Progress};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::caller::Caller;
use crate::domain::context::AppContext;
use crate::domain::geometry_storage::{GeometryStorageError, encode_geometry};
use crate::domain::sites::{SiteError, load_site};
use crate::domain::solve::{SolveError, SolveOutcome, SolveRequest, choose_strategy, solve};
use crate::ports::{JobEvent, QueueError};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";

/// The most alternatives one job may ask for.
pub const MAX_ALTERNATIVES: u32 = 20;

/// A validated request to run a strategy.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub site_id: Uuid,
    pub program: Program,
    pub strategy: Option<String>,
    pub parameters: serde_json::Value,
    pub alternatives: u32,
    pub seed: Option<u64>,
    pub time_limit: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobInputError {
    #[error("alternatives: must be between 1 and {MAX_ALTERNATIVES}, got {0}")]
    Alternatives(i64),
    #[error("timeLimitSeconds: must be between 1 and 86400, got {0}")]
    TimeLimit(i64),
    #[error("seed: must not be negative, got {0}")]
    Seed(i64),
    #[error("program: {0}")]
    Program(String),
    #[error("parameters: must be a JSON object")]
    Parameters,
}

impl NewJob {
    pub fn parse(
        site_id: Uuid,
        program: serde_json::Value,
        strategy: Option<String>,
        parameters: Option<serde_json::Value>,
        alternatives: Option<i64>,
        seed: Option<i64>,
        time_limit_seconds: Option<i64>,
    ) -> Result<Self, JobInputError> {
        let program = Program::from_json_str(&program.to_string())
            .map_err(|error| JobInputError::Program(error.to_string()))?;
        let alternatives = alternatives.unwrap_or(1);
        if !(1..=i64::from(MAX_ALTERNATIVES)).contains(&alternatives) {
            return Err(JobInputError::Alternatives(alternatives));
        }
        let time_limit = match time_limit_seconds {
            None => None,
            Some(seconds) if (1..=86_400).contains(&seconds) => {
                Some(Duration::from_secs(seconds as u64))
            }
            Some(seconds) => return Err(JobInputError::TimeLimit(seconds)),
        };
        let seed = match seed {
            None => None,
            Some(seed) if seed >= 0 => Some(seed as u64),
            Some(seed) => return Err(JobInputError::Seed(seed)),
        };
        let parameters = parameters.unwrap_or_else(|| serde_json::json!({}));
        if !parameters.is_object() {
            return Err(JobInputError::Parameters);
        }
        Ok(Self {
            site_id,
            program,
            strategy,
            parameters,
            alternatives: alternatives as u32,
            seed,
            time_limit,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitJobError {
    #[error("this caller may not start jobs")]
    Forbidden,
    #[error("no site with this id")]
    SiteNotFound,
    #[error(transparent)]
    Strategy(SolveError),
    #[error("optimization is disabled on this server (ENABLE_OPTIMIZATION=false)")]
    Disabled,
    #[error("the job was stored but could not be dispatched: {0}")]
    Queue(#[from] QueueError),
    #[error("reading or writing jobs failed")]
    Database(#[from] DbErr),
    #[error("reading the site failed")]
    Site(#[source] SiteError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadJobError {
    #[error("no job with this id")]
    NotFound,
    #[error("reading jobs failed")]
    Database(#[from] DbErr),
}

pub async fn submit_job(
    app: &AppContext,
    caller: &Caller,
    new_job: NewJob,
) -> Result<jobs::Model, SubmitJobError> {
    if !caller.can_write() {
        return Err(SubmitJobError::Forbidden);
    }
    let (site, _) = load_site(&app.database, caller.organization_id, new_job.site_id)
        .await
        .map_err(|error| match error {
            SiteError::NotFound => SubmitJobError::SiteNotFound,
            other => SubmitJobError::Site(other),
        })?;
    let strategy = {
        let registry = app
            .plugins
            .read()
            .map_err(|_| DbErr::Custom("plugin registry lock poisoned".into()))?;
        choose_strategy(&registry, new_job.strategy.as_deref()).map_err(SubmitJobError::Strategy)?
    };
    let job = jobs::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(caller.organization_id),
        project_id: Set(site.project_id),
        site_id: Set(site.id),
        strategy: Set(strategy.name.clone()),
        strategy_version: Set(Some(strategy.version.clone())),
        program: Set(serde_json::to_value(&new_job.program)
            .map_err(|error| DbErr::Custom(error.to_string()))?),
        parameters: Set(new_job.parameters),
        objective_weights: Set(serde_json::json!({})),
        alternatives: Set(new_job.alternatives as i32),
        seed: Set(new_job.seed.map(|seed| seed as i64)),
        time_limit_s: Set(new_job.time_limit.map(|limit| limit.as_secs() as i32)),
        status: Set(QUEUED.to_owned()),
        stage: Set(None),
        progress: Set(0.0),
        best_objective: Set(None),
        attempts: Set(0),
        max_attempts: Set(3),
        worker_id: Set(None),
        lease_expires_at: Set(None),
        heartbeat_at: Set(None),
        error: Set(None),
        cancel_requested: Set(false),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(&app.database)
    .await?;
    app.job_queue.enqueue(job.id).await?;
    publish(app, &job, None).await;
    Ok(job)
}

pub async fn find_job(
    database: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<jobs::Model, ReadJobError> {
    jobs::Entity::find_by_id(id)
        .filter(jobs::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(ReadJobError::NotFound)
}

/// The queued and running jobs of a project, oldest first.
pub async fn active_jobs_of_project(
    database: &DatabaseConnection,
    caller: &Caller,
    project_id: Uuid,
) -> Result<Vec<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::OrganizationId.eq(caller.organization_id))
        .filter(jobs::Column::ProjectId.eq(project_id))
        .filter(jobs::Column::Status.is_in([QUEUED, RUNNING]))
        .order_by_asc(jobs::Column::CreatedAt)
        .all(database)
        .await
}

pub fn is_terminal(status: &str) -> bool {
    matches!(status, SUCCEEDED | FAILED | CANCELLED)
}

pub async fn layouts_of_job(
    database: &DatabaseConnection,
    caller: &Caller,
    job_id: Uuid,
) -> Result<Vec<layouts::Model>, DbErr> {
    layouts::Entity::find()
        .filter(layouts::Column::JobId.eq(job_id))
        .filter(layouts::Column::OrganizationId.eq(caller.organization_id))
        .order_by_asc(layouts::Column::Rank)
        .all(database)
        .await
}

/// Re-enqueues every queued job: the in-process queue forgets at restart, and a Redis
/// that restarted without persistence forgets too. The database does not.
pub async fn enqueue_queued_jobs(app: &AppContext) -> Result<usize, SubmitJobError> {
    let queued = jobs::Entity::find()
        .filter(jobs::Column::Status.eq(QUEUED))
        .order_by_asc(jobs::Column::CreatedAt)
        .all(&app.database)
        .await?;
    for job in &queued {
        app.job_queue.enqueue(job.id).await?;
    }
    Ok(queued.len())
}

#[derive(Debug, thiserror::Error)]
pub enum ExecuteJobError {
    #[error("reading or writing the job failed")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Storage(#[from] GeometryStorageError),
}

/// The event describing a job's current state.
pub fn event_of(job: &jobs::Model, message: Option<String>) -> JobEvent {
    JobEvent {
        job_id: job.id,
        organization_id: job.organization_id,
        project_id: job.project_id,
        status: job.status.clone(),
        stage: job.stage.clone(),
        progress: job.progress,
        best_objective: job.best_objective,
        message,
        started_at: job.started_at,
        at: Utc::now(),
    }
}

async fn publish(app: &AppContext, job: &jobs::Model, message: Option<String>) {
    let event = event_of(job, message);
    if let Err(error) = app.event_bus.publish(&event).await {
        tracing::warn!(job_id = %job.id, %error, "publishing a job event failed");
    }
}

/// Runs one job to a terminal state. Returns without doing anything when the job is
/// not queued any more (another worker took it, or it ended).
pub async fn execute_job(
    app: &AppContext,
    job_id: Uuid,
    worker_id: &str,
    timeout: Duration,
) -> Result<(), ExecuteJobError> {
    // Claim atomically: only one worker moves a job from queued to running.
    let now = Utc::now();
    let claimed = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(RUNNING))
        .col_expr(jobs::Column::WorkerId, Expr::value(worker_id))
        .col_expr(jobs::Column::StartedAt, Expr::value(now))
        .col_expr(jobs::Column::HeartbeatAt, Expr::value(now))
        .col_expr(jobs::Column::Stage, Expr::value("preparing"))
        .col_expr(
            jobs::Column::Attempts,
            sea_orm::sea_query::ExprTrait::add(Expr::col(jobs::Column::Attempts), 1),
        )
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::Status.eq(QUEUED))
        .exec(&app.database)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(());
    }
    let Some(job) = jobs::Entity::find_by_id(job_id).one(&app.database).await? else {
        return Ok(());
    };
    publish(app, &job, None).await;

    let outcome = run_claimed_job(app, &job, timeout).await;
    let (status, error) = match &outcome {
        Ok(_) => (SUCCEEDED, None),
        Err(message) => (FAILED, Some(message.clone())),
    };
    let transaction = app.database.begin().await?;
    if let Ok(outcome) = &outcome {
        store_layouts(&transaction, &job, outcome).await?;
    }
    let mut finished: jobs::ActiveModel = job.clone().into();
    finished.status = Set(status.to_owned());
    finished.stage = Set(Some(
        if error.is_none() { "done" } else { "failed" }.to_owned(),
    ));
    finished.progress = Set(if error.is_none() { 1.0 } else { job.progress });
    finished.error = Set(error.clone());
    finished.finished_at = Set(Some(Utc::now()));
    let finished = finished.update(&transaction).await?;
    transaction.commit().await?;
    publish(app, &finished, error).await;
    Ok(())
}

/// Solves on a blocking thread; the message of an `Err` is what the user sees.
async fn run_claimed_job(
    app: &AppContext,
    job: &jobs::Model,
    timeout: Duration,
) -> Result<SolveOutcome, String> {
    let (_, site) = load_site(&app.database, job.organization_id, job.site_id)
        .await
        .map_err(|error| format!("loading the site failed: {error}"))?;
    let program: Program = serde_json::from_value(job.program.clone())
        .map_err(|error| format!("the stored program is unreadable: {error}"))?;
    let limit = job
        .time_limit_s
        .map(|seconds| Duration::from_secs(seconds.max(1) as u64))
        .unwrap_or(timeout)
        .min(timeout);
    let request = SolveRequest {
        site,
        program,
        strategy: Some(job.strategy.clone()),
        parameters: job.parameters.clone(),
        seed: job.seed.unwrap_or(0) as u64,
        time_limit: Some(limit),
        alternatives: job.alternatives.max(1) as u32,
    };
    let registry = app.plugins.clone();
    let cancel = Arc::new(AtomicBool::new(false));
    let cancel_for_solver = cancel.clone();
    let (progress_sender, mut progress_receiver) =
        tokio::sync::mpsc::unbounded_channel::<Progress>();
    let solver = tokio::task::spawn_blocking(move || {
        let registry = registry
            .read()
            .map_err(|_| "the plugin registry is unavailable".to_owned())?;
        solve(
            &registry,
            &request,
            &mut |progress| {
                let _ = progress_sender.send(progress);
            },
            &cancel_for_solver,
        )
        .map_err(|error| error.to_string())
    });
    // Forward progress while the solver runs; a hard deadline a little after the
    // strategy's own limit cancels a run that ignores it.
    let deadline = tokio::time::sleep(limit + Duration::from_secs(5));
    tokio::pin!(deadline);
    tokio::pin!(solver);
    loop {
        tokio::select! {
            result = &mut solver => {
                return result.map_err(|error| format!("the solver thread failed: {error}"))?;
            }
            Some(progress) = progress_receiver.recv() => {
                let mut event_job = job.clone();
                event_job.progress = progress.fraction;
                event_job.best_objective = progress.best_objective;
                event_job.stage = Some("optimizing".to_owned());
                publish(app, &event_job, Some(progress.message.clone()).filter(|m| !m.is_empty())).await;
            }
            () = &mut deadline => {
                cancel.store(true, Ordering::SeqCst);
                return Err(format!("the run exceeded its time limit of {} s", limit.as_secs()));
            }
        }
    }
}

async fn store_layouts(
    transaction: &sea_orm::DatabaseTransaction,
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
        let layout = layouts::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(job.organization_id),
            job_id: Set(job.id),
            site_id: Set(job.site_id),
            rank: Set(rank as i32),
            requested_count: Set(solved.metrics.requested as i32),
            placed_count: Set(solved.metrics.placed as i32),
            metrics: Set(
                serde_json::to_value(&solved.metrics).map_err(|e| DbErr::Custom(e.to_string()))?
            ),
            cost: Set(serde_json::Value::Null),
            earthwork: Set(
                serde_json::json!({"status": "unknown", "reason": "no terrain (DEM) was given"}),
            ),
            layout: Set(
                serde_json::to_value(&solved.layout).map_err(|e| DbErr::Custom(e.to_string()))?
            ),
            geojson: Set(
                serde_json::to_value(&solved.geojson).map_err(|e| DbErr::Custom(e.to_string()))?
            ),
            created_at: Set(now),
        }
        .insert(transaction)
        .await?;
        for asset in solved
            .layout
            .assets
            .iter()
            .filter(|asset| asset.asset_type.to_string() == "building")
        {
            let footprint = projector
                .geometry_to_wgs84(&Geometry::Polygon(asset.footprint()))
                .map_err(|error| GeometryStorageError::Encode(error.to_string()))?;
            let stored = encode_geometry(&footprint)?;
            buildings::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(job.organization_id),
                layout_id: Set(layout.id),
                asset_id: Set(asset.asset_id.clone()),
                name: Set(asset.name.clone()),
                asset_type: Set(asset.asset_type.to_string()),
                width_m: Set(asset.width_m),
                length_m: Set(asset.length_m),
                rotation_deg: Set(asset.rotation_deg),
                wkb: Set(stored.wkb),
                min_x: Set(stored.bbox[0]),
                min_y: Set(stored.bbox[1]),
                max_x: Set(stored.bbox[2]),
                max_y: Set(stored.bbox[3]),
                created_at: Set(now),
            }
            .insert(transaction)
            .await?;
        }
    }
    Ok(())
}
