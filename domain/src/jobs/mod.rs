//! Jobs: one optimization run of a strategy on a site and program. The database row
//! is the source of truth (queued → running → succeeded | failed | cancelled); the
//! queue only tells a worker to look at it. `execution` runs a job under a lease,
//! `recovery` finds jobs that a dead worker or a lost queue left behind.

pub mod execution;
pub mod notify;
pub mod recovery;
pub mod transitions;

use std::time::Duration;

use chrono::Utc;
pub use entmoot_entities::jobs::JobStatus;
use entmoot_entities::{jobs, layouts};
use entmoot_plugin_sdk::Program;
use entmoot_plugin_sdk::objectives::{ObjectiveWeights, WeightOverrides};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

use crate::caller::Caller;
use crate::context::AppContext;
use crate::ports::{JobEvent, QueueError};
use crate::sites::{SiteError, load_site};
use crate::solve::{SolveError, choose_strategy};

/// The most alternatives one job may ask for.
pub const MAX_ALTERNATIVES: u32 = 20;

/// A job as asked for, before validation: the GraphQL input converts into it, and
/// `NewJob::try_from` checks it.
#[derive(Debug, Clone, Default)]
pub struct JobRequest {
    pub site_id: Uuid,
    /// Required unless `seed_layout_id` is given (the seed's job's program is then used).
    pub program: Option<serde_json::Value>,
    pub strategy: Option<String>,
    pub parameters: Option<serde_json::Value>,
    /// Replace the program's objective weights (any subset).
    pub objective_weights: Option<WeightOverrides>,
    pub alternatives: Option<i64>,
    pub seed: Option<i64>,
    pub time_limit_seconds: Option<i64>,
    pub notify_email: Option<String>,
    /// Re-optimize around a stored (typically edited) layout of the same site.
    pub seed_layout_id: Option<Uuid>,
    /// The seed layout's assets to leave where they are; all of them when omitted.
    pub keep_assets: Option<Vec<String>>,
}

/// Re-optimization from a stored layout: which one and which of its assets stay put.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedLayout {
    pub layout_id: Uuid,
    /// `None`: every asset the layout placed.
    pub keep_assets: Option<Vec<String>>,
}

/// A validated request to run a strategy.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub site_id: Uuid,
    /// `None` only for a seeded job, which then runs its seed's program.
    pub program: Option<Program>,
    pub strategy: Option<String>,
    pub parameters: serde_json::Value,
    pub objective_weights: WeightOverrides,
    pub alternatives: u32,
    pub seed: Option<u64>,
    pub time_limit: Option<Duration>,
    /// Who is e-mailed when the job ends.
    pub notify_email: Option<String>,
    pub seed_layout: Option<SeedLayout>,
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
    #[error("program: required unless seedLayoutId is given")]
    ProgramMissing,
    #[error("parameters: must be a JSON object")]
    Parameters,
    #[error("objectiveWeights.{name}: must be a finite number of at least 0, got {value}")]
    ObjectiveWeight { name: &'static str, value: f64 },
    #[error("notifyEmail: `{0}` is not an email address")]
    NotifyEmail(String),
    #[error("keepAssets: needs seedLayoutId")]
    KeepWithoutSeed,
    #[error("keepAssets[{index}]: `{asset_id}` is not placed in the seed layout")]
    KeepNotPlaced { index: usize, asset_id: String },
    #[error("seedLayoutId: no layout with this id")]
    SeedLayoutNotFound,
    #[error("seedLayoutId: the layout is of another site than siteId")]
    SeedLayoutOfAnotherSite,
}

impl TryFrom<JobRequest> for NewJob {
    type Error = JobInputError;

    fn try_from(request: JobRequest) -> Result<Self, JobInputError> {
        let program = match request.program {
            Some(program) => Some(
                Program::from_json_str(&program.to_string())
                    .map_err(|error| JobInputError::Program(error.to_string()))?,
            ),
            None if request.seed_layout_id.is_some() => None,
            None => return Err(JobInputError::ProgramMissing),
        };
        let alternatives = request.alternatives.unwrap_or(1);
        if !(1..=i64::from(MAX_ALTERNATIVES)).contains(&alternatives) {
            return Err(JobInputError::Alternatives(alternatives));
        }
        let time_limit = match request.time_limit_seconds {
            None => None,
            Some(seconds) if (1..=86_400).contains(&seconds) => {
                Some(Duration::from_secs(seconds as u64))
            }
            Some(seconds) => return Err(JobInputError::TimeLimit(seconds)),
        };
        let seed = match request.seed {
            None => None,
            Some(seed) if seed >= 0 => Some(seed as u64),
            Some(seed) => return Err(JobInputError::Seed(seed)),
        };
        let parameters = request.parameters.unwrap_or_else(|| serde_json::json!({}));
        if !parameters.is_object() {
            return Err(JobInputError::Parameters);
        }
        let objective_weights = request.objective_weights.unwrap_or_default();
        for (name, value) in objective_weights.values() {
            if let Some(value) = value
                && !(value.is_finite() && value >= 0.0)
            {
                return Err(JobInputError::ObjectiveWeight { name, value });
            }
        }
        let seed_layout = match (request.seed_layout_id, request.keep_assets) {
            (Some(layout_id), keep_assets) => Some(SeedLayout {
                layout_id,
                keep_assets,
            }),
            (None, Some(_)) => return Err(JobInputError::KeepWithoutSeed),
            (None, None) => None,
        };
        let notify_email = match request.notify_email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(email) => Some(
                crate::email_address::EmailAddress::parse(email)
                    .map_err(|invalid| JobInputError::NotifyEmail(invalid.0))?
                    .into_string(),
            ),
        };
        Ok(Self {
            site_id: request.site_id,
            program,
            strategy: request.strategy,
            parameters,
            objective_weights,
            alternatives: alternatives as u32,
            seed,
            time_limit,
            notify_email,
            seed_layout,
        })
    }
}

/// The program a job runs (the request's, or its seed's job's) with the request's
/// objective weights merged in, and the assets it must leave where they are.
struct ResolvedProgram {
    program: Program,
    pinned: Option<(Uuid, Vec<entmoot_plugin_sdk::PlacedAsset>)>,
}

async fn resolve_program(
    app: &AppContext,
    caller: &Caller,
    new_job: &NewJob,
) -> Result<ResolvedProgram, SubmitJobError> {
    let (program, pinned) = match &new_job.seed_layout {
        None => (new_job.program.clone(), None),
        Some(seed) => {
            let stored = crate::layout_edits::load_stored_layout(
                &app.database,
                &app.storage,
                caller,
                seed.layout_id,
            )
            .await
            .map_err(|error| match error {
                crate::layout_edits::StoredLayoutError::NotFound => {
                    SubmitJobError::Input(JobInputError::SeedLayoutNotFound)
                }
                other => SubmitJobError::SeedLayout(other),
            })?;
            if stored.row.site_id != new_job.site_id {
                return Err(SubmitJobError::Input(
                    JobInputError::SeedLayoutOfAnotherSite,
                ));
            }
            let pinned = match &seed.keep_assets {
                None => stored.layout.assets.clone(),
                Some(keep) => keep
                    .iter()
                    .enumerate()
                    .map(|(index, asset_id)| {
                        stored
                            .layout
                            .assets
                            .iter()
                            .find(|asset| &asset.asset_id == asset_id)
                            .cloned()
                            .ok_or_else(|| {
                                SubmitJobError::Input(JobInputError::KeepNotPlaced {
                                    index,
                                    asset_id: asset_id.clone(),
                                })
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let program = match &new_job.program {
                Some(program) => Some(program.clone()),
                None => Some(serde_json::from_value(stored.job.program.clone()).map_err(
                    |error| {
                        SubmitJobError::SeedLayout(
                            crate::layout_edits::StoredLayoutError::Unreadable(format!(
                                "the seed job's program: {error}"
                            )),
                        )
                    },
                )?),
            };
            (program, Some((seed.layout_id, pinned)))
        }
    };
    // Invariant: `NewJob::try_from` refuses a job with neither program nor seed layout.
    let Some(mut program) = program else {
        return Err(SubmitJobError::Input(JobInputError::ProgramMissing));
    };
    let weights = program
        .objectives
        .clone()
        .unwrap_or_default()
        .overridden_by(&new_job.objective_weights);
    if weights != WeightOverrides::default() {
        program.objectives = Some(weights);
    }
    Ok(ResolvedProgram { program, pinned })
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitJobError {
    #[error("this caller may not start jobs")]
    Forbidden,
    #[error(transparent)]
    Input(JobInputError),
    #[error("reading the seed layout failed")]
    SeedLayout(#[source] crate::layout_edits::StoredLayoutError),
    #[error("no site with this id")]
    SiteNotFound,
    /// A job mails only the organization's own people: otherwise any editor could
    /// make the server send mail to any address on the internet.
    #[error("input.notifyEmail: `{0}` is not a member of this organization")]
    NotifyEmailNotMember(String),
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

/// Validates and queues a job. The role and the server's setting come before the
/// request is read: a viewer learns nothing from input errors.
pub async fn submit_job(
    app: &AppContext,
    caller: &Caller,
    request: JobRequest,
) -> Result<jobs::Model, SubmitJobError> {
    if !caller.can_write() {
        return Err(SubmitJobError::Forbidden);
    }
    if !app.optimization_enabled {
        return Err(SubmitJobError::Disabled);
    }
    let new_job = NewJob::try_from(request).map_err(SubmitJobError::Input)?;
    if let Some(email) = &new_job.notify_email
        && !crate::accounts::is_member_email(&app.database, caller.organization_id, email).await?
    {
        return Err(SubmitJobError::NotifyEmailNotMember(email.clone()));
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
    let resolved = resolve_program(app, caller, &new_job).await?;
    let effective_weights = ObjectiveWeights::default()
        .with_overrides(&resolved.program.objectives.clone().unwrap_or_default());
    let job = jobs::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(caller.organization_id),
        project_id: Set(site.project_id),
        site_id: Set(site.id),
        strategy: Set(strategy.name.clone()),
        // Pinned only when the caller asked for a version: otherwise the job runs the
        // newest version installed when it starts (plugins reload while it waits), and
        // its history records the version each attempt ran.
        strategy_version: Set(new_job
            .strategy
            .as_deref()
            .is_some_and(|spec| spec.contains('@'))
            .then(|| strategy.version.clone())),
        program: Set(serde_json::to_value(&resolved.program)
            .map_err(|error| DbErr::Custom(error.to_string()))?),
        parameters: Set(new_job.parameters),
        objective_weights: Set(serde_json::to_value(effective_weights)
            .map_err(|error| DbErr::Custom(error.to_string()))?),
        alternatives: Set(new_job.alternatives as i32),
        seed: Set(new_job.seed.map(|seed| seed as i64)),
        time_limit_s: Set(new_job.time_limit.map(|limit| limit.as_secs() as i32)),
        status: Set(JobStatus::Queued),
        stage: Set(None),
        progress: Set(0.0),
        best_objective: Set(None),
        attempts: Set(0),
        max_attempts: Set(app.job_max_attempts),
        worker_id: Set(None),
        lease_expires_at: Set(None),
        heartbeat_at: Set(None),
        retry_at: Set(None),
        notify_email: Set(new_job.notify_email),
        seed_layout_id: Set(resolved.pinned.as_ref().map(|(layout_id, _)| *layout_id)),
        pinned_assets: Set(resolved
            .pinned
            .as_ref()
            .map(|(_, assets)| serde_json::to_value(assets))
            .transpose()
            .map_err(|error| DbErr::Custom(error.to_string()))?),
        error: Set(None),
        cancel_requested: Set(false),
        event_sequence: Set(1),
        history: Set(serde_json::json!([])),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(&app.database)
    .await?;
    // `queued` goes out before the dispatch, so that no worker's `running` can overtake
    // it. The job is accepted once stored: if the queue is down, the workers' recovery
    // dispatches it from the database when the queue is back.
    publish(app, &job, None).await;
    if let Err(error) = app.job_queue.enqueue(job.id).await {
        tracing::warn!(job_id = %job.id, %error, "dispatching a new job failed; recovery will dispatch it");
    }
    (app.observers.job_submitted)();
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
        .filter(jobs::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .order_by_asc(jobs::Column::CreatedAt)
        .all(database)
        .await
}

/// Jobs of a project that are active or ended after `since`: what a subscriber may
/// have missed while the event bus was disconnected.
pub async fn jobs_of_project_changed_since(
    database: &DatabaseConnection,
    caller: &Caller,
    project_id: Uuid,
    since: chrono::DateTime<Utc>,
) -> Result<Vec<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::OrganizationId.eq(caller.organization_id))
        .filter(jobs::Column::ProjectId.eq(project_id))
        .filter(
            sea_orm::Condition::any()
                .add(jobs::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
                .add(jobs::Column::FinishedAt.gte(since)),
        )
        .order_by_asc(jobs::Column::CreatedAt)
        .all(database)
        .await
}

/// Jobs of every organization that have not ended, oldest first: what an operator
/// looks at (`entmoot admin jobs list`).
pub async fn unfinished_jobs(
    database: &DatabaseConnection,
    limit: u64,
) -> Result<Vec<jobs::Model>, DbErr> {
    use sea_orm::QuerySelect;
    jobs::Entity::find()
        .filter(jobs::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .order_by_asc(jobs::Column::CreatedAt)
        .limit(limit)
        .all(database)
        .await
}

/// Those of `job_ids` that have ended: a subscriber's check that it did not miss a
/// final event, for instance one a worker never published because it was killed
/// between storing the result and publishing.
pub async fn ended_jobs_among(
    database: &DatabaseConnection,
    caller: &Caller,
    job_ids: Vec<Uuid>,
) -> Result<Vec<jobs::Model>, DbErr> {
    if job_ids.is_empty() {
        return Ok(Vec::new());
    }
    jobs::Entity::find()
        .filter(jobs::Column::OrganizationId.eq(caller.organization_id))
        .filter(jobs::Column::Id.is_in(job_ids))
        .filter(jobs::Column::Status.is_in(JobStatus::TERMINAL))
        .all(database)
        .await
}

pub fn is_terminal(status: JobStatus) -> bool {
    status.is_terminal()
}

/// Which jobs `list_jobs` lists.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub site_id: Option<Uuid>,
    /// Any of these statuses; all statuses when empty.
    pub statuses: Vec<JobStatus>,
}

/// The caller's jobs that pass `filter`, newest or oldest first, a page at a time.
pub async fn list_jobs(
    database: &DatabaseConnection,
    caller: &Caller,
    page: &crate::paging::PageRequest,
    filter: &JobFilter,
    newest_first: bool,
) -> Result<crate::paging::Page<jobs::Model>, DbErr> {
    let mut query =
        jobs::Entity::find().filter(jobs::Column::OrganizationId.eq(caller.organization_id));
    if let Some(site_id) = filter.site_id {
        query = query.filter(jobs::Column::SiteId.eq(site_id));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(jobs::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    let rows = crate::paging::select_page(
        query,
        jobs::Column::CreatedAt,
        jobs::Column::Id,
        page,
        newest_first,
    )
    .all(database)
    .await?;
    Ok(crate::paging::finish_page(rows, page))
}

/// A layout of the caller's organization; another organization's is not found.
pub async fn find_layout(
    database: &DatabaseConnection,
    caller: &Caller,
    layout_id: Uuid,
) -> Result<Option<layouts::Model>, DbErr> {
    layouts::Entity::find_by_id(layout_id)
        .filter(layouts::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await
}

pub fn event_of(job: &jobs::Model, message: Option<String>) -> JobEvent {
    JobEvent {
        job_id: job.id,
        organization_id: job.organization_id,
        project_id: job.project_id,
        status: job.status,
        sequence: job.event_sequence,
        stage: job.stage.clone(),
        progress: job.progress,
        best_objective: job.best_objective,
        message,
        cancel_requested: job.cancel_requested,
        started_at: job.started_at,
        at: Utc::now(),
    }
}

pub(crate) async fn publish(app: &AppContext, job: &jobs::Model, message: Option<String>) {
    let event = event_of(job, message);
    if let Err(error) = app.event_bus.publish(&event).await {
        tracing::warn!(job_id = %job.id, %error, "publishing a job event failed");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeJobError {
    #[error("this caller may not change jobs")]
    Forbidden,
    #[error("no job with this id")]
    NotFound,
    #[error("the job is {status}; {action} needs {allowed}")]
    Conflict {
        status: String,
        action: &'static str,
        allowed: &'static str,
    },
    #[error("the job could not be dispatched: {0}")]
    Queue(#[from] QueueError),
    #[error("optimization is disabled on this server (ENABLE_OPTIMIZATION=false)")]
    Disabled,
    #[error("reading or writing jobs failed")]
    Database(#[from] DbErr),
}

impl From<ReadJobError> for ChangeJobError {
    fn from(error: ReadJobError) -> Self {
        match error {
            ReadJobError::NotFound => Self::NotFound,
            ReadJobError::Database(error) => Self::Database(error),
        }
    }
}

/// Asks for a job to stop. A queued job is cancelled at once, and so is a running one
/// whose worker is gone (its lease expired); a running one is told through the event
/// bus (its worker stops the plugin) and ends as cancelled; if its worker dies first,
/// the takeover of its lease ends it.
pub async fn cancel_job(
    app: &AppContext,
    caller: &Caller,
    id: Uuid,
) -> Result<jobs::Model, ChangeJobError> {
    if !caller.can_write() {
        return Err(ChangeJobError::Forbidden);
    }
    let (job, message) =
        match transitions::request_cancel(&app.database, caller.organization_id, id).await? {
            transitions::CancelOutcome::NotFound => return Err(ChangeJobError::NotFound),
            transitions::CancelOutcome::AlreadyEnded(job) => {
                return Err(ChangeJobError::Conflict {
                    status: job.status.to_string(),
                    action: "cancelling",
                    allowed: "a queued or running job",
                });
            }
            transitions::CancelOutcome::Ended(job) => (job, "cancelled"),
            transitions::CancelOutcome::Requested(job) => (job, "cancellation requested"),
        };
    publish(app, &job, Some(message.into())).await;
    if job.status.is_terminal() {
        notify::notify_job_ended(app, job.id).await;
    }
    Ok(job)
}

/// Queues a failed or cancelled job again, with a fresh attempt budget.
pub async fn retry_job(
    app: &AppContext,
    caller: &Caller,
    id: Uuid,
) -> Result<jobs::Model, ChangeJobError> {
    if !caller.can_write() {
        return Err(ChangeJobError::Forbidden);
    }
    // A retry queues the job again, like creating one: not on a server that runs none.
    if !app.optimization_enabled {
        return Err(ChangeJobError::Disabled);
    }
    let Some(job) = transitions::retry(&app.database, caller.organization_id, id).await? else {
        let job = find_job(&app.database, caller, id).await?;
        return Err(ChangeJobError::Conflict {
            status: job.status.to_string(),
            action: "retrying",
            allowed: "a failed or cancelled job",
        });
    };
    publish(app, &job, Some("retry requested".into())).await;
    // Dispatched after `queued` was published; a failed dispatch is made good by recovery.
    if let Err(error) = app.job_queue.enqueue(job.id).await {
        tracing::warn!(job_id = %job.id, %error, "dispatching a retried job failed; recovery will dispatch it");
    }
    Ok(job)
}
