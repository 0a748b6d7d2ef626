//! `jobs`: one optimization run (queued → running → succeeded | failed | cancelled).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a job is in its life. Stored as the lowercase text it always was (`queued`,
/// `running`, …), so rows written before the enum existed read unchanged. Only
/// `entmoot_domain::jobs::transitions` moves a job from one status to another.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl JobStatus {
    /// Every status, in the order of a job's life.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];
    /// The statuses a job never leaves (unless retried, which starts a new life).
    pub const TERMINAL: [JobStatus; 3] = [
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The stored text, also the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub site_id: Uuid,
    pub strategy: String,
    pub strategy_version: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub program: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub parameters: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub objective_weights: Json,
    pub alternatives: i32,
    pub seed: Option<i64>,
    pub time_limit_s: Option<i32>,
    pub status: JobStatus,
    pub stage: Option<String>,
    /// 0..=1
    pub progress: f64,
    pub best_objective: Option<f64>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub worker_id: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub heartbeat_at: Option<DateTimeUtc>,
    /// A queued job waiting out its retry backoff is not claimed, nor dispatched again by
    /// recovery, before this time; `None` for any other job.
    pub retry_at: Option<DateTimeUtc>,
    /// Who is e-mailed when the job ends (SMTP_* configured).
    pub notify_email: Option<String>,
    /// The layout a re-optimization was seeded from (`createJob(seedLayoutId)`).
    pub seed_layout_id: Option<Uuid>,
    /// The assets a seeded job leaves where they are (the sdk's `PlacedAsset`s, in
    /// metres), copied from the seed layout when the job was created.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub pinned_assets: Option<Json>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// Raised by every change a subscriber can see (each transition, each stored
    /// progress step), in the same statement: the order of a job's events, which a
    /// subscriber uses to drop stale and repeated ones.
    pub event_sequence: i64,
    /// One object per attempt: `{attempt, worker, started_at, ended_at, outcome, error}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub history: Json,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organizations::Entity",
        from = "Column::OrganizationId",
        to = "super::organizations::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::projects::Entity",
        from = "Column::ProjectId",
        to = "super::projects::Column::Id",
        on_delete = "Cascade"
    )]
    Project,
    #[sea_orm(
        belongs_to = "super::sites::Entity",
        from = "Column::SiteId",
        to = "super::sites::Column::Id",
        on_delete = "Cascade"
    )]
    Site,
    #[sea_orm(has_many = "super::layouts::Entity")]
    Layouts,
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::projects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Project.def()
    }
}

impl Related<super::sites::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Site.def()
    }
}

impl Related<super::layouts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Layouts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
