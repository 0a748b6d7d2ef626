//! The ports the domain needs from infrastructure: a durable job queue and an event
//! bus. The server provides an in-process adapter (embedded default) and a Redis
//! adapter (production) for each; the domain never knows which one it has.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue backend unavailable: {0}")]
    Unavailable(String),
    #[error("job queue message is malformed: {0}")]
    Malformed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EventBusError {
    #[error("event bus backend unavailable: {0}")]
    Unavailable(String),
    #[error("event could not be encoded: {0}")]
    Encoding(String),
}

/// One delivery of a job id to a worker. It stays pending in the queue until the
/// worker acknowledges it, which the worker does as soon as it has it: from then on
/// the database row (and its lease) is what keeps the job, and recovery dispatches a
/// queued job that no entry of the queue holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDelivery {
    pub job_id: Uuid,
    /// Backend-specific handle used to acknowledge (a Redis stream entry id).
    pub receipt: String,
}

/// Dispatch of queued jobs to workers. The database stays the source of truth about
/// a job; the queue only says "look at this job now".
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// A short name for logs and /health: `in-process` or `redis`.
    fn backend_name(&self) -> &'static str;
    async fn enqueue(&self, job_id: Uuid) -> Result<(), QueueError>;
    /// Waits up to `wait` for a job; `None` when nothing arrived in time.
    async fn receive(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> Result<Option<JobDelivery>, QueueError>;
    async fn acknowledge(&self, delivery: &JobDelivery) -> Result<(), QueueError>;
    /// Job ids waiting in the queue (delivered but unacknowledged ones included).
    async fn depth(&self) -> Result<u64, QueueError>;
    /// The jobs the queue still holds an entry for (not yet delivered, or delivered
    /// and not acknowledged): a queued job that is not among them is dispatched again
    /// by recovery. At most `limit` are listed.
    async fn waiting_jobs(
        &self,
        limit: usize,
    ) -> Result<std::collections::HashSet<Uuid>, QueueError>;
    /// Checks that the backend answers; used by /health.
    async fn ping(&self) -> Result<(), QueueError>;
}

/// What happened to a job, fanned out to every API instance for subscriptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    pub job_id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub status: entmoot_entities::jobs::JobStatus,
    /// The job's `event_sequence` when this was published: a later event of the same
    /// job has a higher one, a repeated one the same.
    #[serde(default)]
    pub sequence: i64,
    pub stage: Option<String>,
    /// Fraction done, 0 to 1.
    pub progress: f64,
    pub best_objective: Option<f64>,
    pub message: Option<String>,
    /// Set once someone asked the job to stop; its worker reacts within a second.
    #[serde(default)]
    pub cancel_requested: bool,
    /// When the current attempt started running, for the elapsed time.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// What a subscriber of the bus receives.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
    Job(JobEvent),
    /// The bus lost its connection and is back: events published since `since` may be
    /// missing, so subscribers re-read the state they follow from the database.
    Reconnected {
        since: DateTime<Utc>,
    },
}

#[async_trait]
pub trait EventBus: Send + Sync {
    fn backend_name(&self) -> &'static str;
    async fn publish(&self, event: &JobEvent) -> Result<(), EventBusError>;
    /// Every event published from any process from now on.
    fn subscribe(&self) -> broadcast::Receiver<BusMessage>;
    async fn ping(&self) -> Result<(), EventBusError>;
    /// Tells every process that some key, membership or role lost power, so that
    /// what they remember of verified keys (`verified_keys`) is forgotten.
    async fn publish_access_changed(&self) -> Result<(), EventBusError>;
    /// Receives a message whenever any process published an access change, and also
    /// when this process may have missed one (its connection to the bus was cut).
    fn access_changes(&self) -> broadcast::Receiver<()>;
}

/// Hooks the server installs to count domain events in its metrics; the domain calls
/// them without knowing about Prometheus. The default does nothing.
#[derive(Debug, Clone, Copy)]
pub struct Observers {
    /// A job was accepted (stored and dispatched).
    pub job_submitted: fn(),
}

impl Default for Observers {
    fn default() -> Self {
        Self {
            job_submitted: || {},
        }
    }
}

/// A signed-in session as the store keeps it, under the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("the session store is unavailable: {0}")]
pub struct SessionStoreError(pub String);

/// Sign-in sessions: Redis in production (REDIS_SESSION_EXPIRY, sliding), process
/// memory in the embedded default.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create(
        &self,
        token_hash: &str,
        session: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), SessionStoreError>;
    /// The session, with its lifetime renewed to `ttl`; `None` once expired or ended.
    async fn touch(
        &self,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<Option<SessionRecord>, SessionStoreError>;
    async fn end(&self, token_hash: &str) -> Result<(), SessionStoreError>;
    /// Ends every session of a user; returns how many there were.
    async fn end_all_of_user(&self, user_id: Uuid) -> Result<usize, SessionStoreError>;
}

/// Counts attempts per bucket and minute (sign-in brute-force protection); shared
/// through Redis across API instances in production.
/// Buckets name what they count (`sign-in:pair:<sha256 of the e-mail>:<address>`);
/// the adapter bounds their length whatever the caller passes.
#[async_trait]
pub trait AttemptLimiter: Send + Sync {
    /// Counts one attempt; `Err(seconds until the window ends)` when the bucket is
    /// over `per_minute`.
    async fn allow(&self, bucket: &str, per_minute: u32) -> Result<(), u64>;
    /// How many attempts the bucket holds in the current window, without counting one.
    async fn count(&self, bucket: &str) -> u32;
}

/// Sends e-mails (invitations, password resets, job endings) when SMTP is configured.
#[async_trait]
pub trait MailSender: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String>;
}

/// What the read cache holds; each has its own metric label and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachedRead {
    LayoutGeojson,
    SiteBuildableArea,
    SiteSlopeClasses,
}

/// A cache for expensive reads: Redis shared by every API instance, or process memory.
/// Never the source of truth: a failure is a miss.
#[async_trait]
pub trait ReadCache: Send + Sync {
    async fn get(&self, kind: CachedRead, key: &str) -> Option<serde_json::Value>;
    async fn put(&self, kind: CachedRead, key: &str, value: &serde_json::Value);
    async fn invalidate(&self, kind: CachedRead, key: &str);
}
