//! The services a request or a job needs, built once at start by the server.

use std::sync::{Arc, RwLock};

use entmoot_plugin_host::PluginRegistry;
use sea_orm::DatabaseConnection;

use crate::ports::{EventBus, JobQueue, Observers};

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
    /// ENABLE_OPTIMIZATION: when false the server refuses new jobs (an API that only
    /// serves stored results); `entmoot solve` does not go through here and still works.
    pub optimization_enabled: bool,
}
