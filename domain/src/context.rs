//! The services a request or a job needs, built once at start by the server.

use std::sync::{Arc, RwLock};

use entmoot_plugin_host::PluginRegistry;
use sea_orm::DatabaseConnection;

use crate::ports::{
    AttemptLimiter, EventBus, JobQueue, MailSender, Observers, ReadCache, SessionStore,
};

/// Everything the domain operations reach: cheap to clone, shared by the HTTP
/// handlers, the GraphQL resolvers and the worker.
#[derive(Clone)]
pub struct AppContext {
    pub database: DatabaseConnection,
    pub storage: opendal::Operator,
    pub job_queue: Arc<dyn JobQueue>,
    pub event_bus: Arc<dyn EventBus>,
    /// Replaced wholesale on reload; a running job keeps the `StrategyInfo` it cloned.
    pub plugins: Arc<RwLock<PluginRegistry>>,
    pub observers: Observers,
    /// Upload limits, storage prefixes and the upload lifetime.
    pub files: crate::files::FileSettings,
    /// Signs download links served through the API (SECRET_KEY, or a per-process
    /// random key in the embedded default, which runs one process).
    pub download_signing_key: Arc<Vec<u8>>,
    /// Sign-in sessions and how long one lives without use (REDIS_SESSION_EXPIRY).
    pub sessions: Arc<dyn SessionStore>,
    pub session_ttl: std::time::Duration,
    /// Brute-force protection of sign-in (and the API's rate limits).
    pub attempts: Arc<dyn AttemptLimiter>,
    /// Invitation and password-reset e-mails; `None` without SMTP.
    pub mailer: Option<Arc<dyn MailSender>>,
    /// Expensive reads (a site's buildable area), shared through Redis in production.
    pub cache: Arc<dyn ReadCache>,
    /// ENABLE_OPTIMIZATION: when false the server refuses new jobs (an API that only
    /// serves stored results); `entmoot solve` does not go through here and still works.
    pub optimization_enabled: bool,
    /// ENABLE_GEOSPATIAL_ANALYSIS: when false the spatial searches across an
    /// organization's data (`sitesIntersecting`, `buildingsWithin`) are refused, for an
    /// operator who does not want their cost on the database.
    pub geospatial_analysis_enabled: bool,
    /// ENTMOOT_JOB_MAX_ATTEMPTS: how many attempts a new job gets (a transient failure
    /// or a vanished worker uses one; a hand-back at shutdown does not).
    pub job_max_attempts: i32,
    /// API keys verified in the last few seconds (`verified_keys`), forgotten whenever
    /// access changes anywhere.
    pub verified_keys: Arc<crate::verified_keys::VerifiedKeys>,
}
