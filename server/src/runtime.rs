//! Assembles the running services from configuration: the one place that decides
//! which adapter serves each concern, shared by `serve` and `worker`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use entmoot_plugin_host::{PluginRegistry, default_plugin_dirs};
use entmoot_schema::AppContext;
use entmoot_schema::domain::organizations::{LOCAL_ORGANIZATION_SLUG, ensure_organization};
use entmoot_schema::ports::{EventBus, JobQueue};
use uuid::Uuid;

use crate::adapters::in_process::{InProcessEventBus, InProcessQueue};
use crate::adapters::redis_bus::RedisEventBus;
use crate::adapters::redis_queue::RedisQueue;
use crate::adapters::{database, storage};
use crate::config::{Settings, redact_url};

/// How long a delivered job may stay unacknowledged before another worker claims it.
const JOB_CLAIM_IDLE: Duration = Duration::from_secs(60);

pub struct Runtime {
    pub app: AppContext,
    /// The organization requests act for until authentication is configured.
    pub local_organization_id: Uuid,
}

pub fn discover_plugins(settings: &Settings) -> PluginRegistry {
    let mut dirs = default_plugin_dirs();
    for dir in &settings.plugin_dirs {
        if !dirs.contains(dir) {
            dirs.push(dir.clone());
        }
    }
    let registry = entmoot_plugin_host::discover_plugins(&dirs);
    for refused in registry.refused() {
        tracing::warn!(path = %refused.path.display(), reason = %refused.reason, "strategy plugin refused");
    }
    registry
}

pub async fn build(settings: &Settings) -> anyhow::Result<Runtime> {
    let database = database::connect(settings).await?;
    if database::is_sqlite(&database) {
        database::migrate_up(&database).await?;
    } else {
        database::ensure_migrated(&database, settings).await?;
    }
    tracing::info!(backend = %database::backend_description(settings), "database");

    let storage = storage::build_operator(&settings.storage)?;
    tracing::info!(backend = settings.storage.provider_name(), "file storage");

    let (job_queue, event_bus): (Arc<dyn JobQueue>, Arc<dyn EventBus>) = match &settings.redis {
        None => (
            Arc::new(InProcessQueue::new()),
            Arc::new(InProcessEventBus::new()),
        ),
        Some(redis) => {
            let shown = redact_url(redis.url.expose());
            let client = redis::Client::open(redis.url.expose())
                .with_context(|| format!("REDIS_URL {shown}: not a valid Redis URL"))?;
            let queue = RedisQueue::connect(client.clone(), &redis.key_prefix, JOB_CLAIM_IDLE)
                .await
                .with_context(|| format!("REDIS_URL {shown}: cannot connect"))?;
            let bus = RedisEventBus::connect(client, &redis.key_prefix)
                .await
                .with_context(|| format!("REDIS_URL {shown}: cannot connect"))?;
            (Arc::new(queue), Arc::new(bus))
        }
    };
    tracing::info!(backend = job_queue.backend_name(), "job queue");
    tracing::info!(backend = event_bus.backend_name(), "job events");

    let plugins = discover_plugins(settings);
    let names: Vec<String> = plugins
        .strategies()
        .iter()
        .map(|strategy| format!("{} {}", strategy.name, strategy.version))
        .collect();
    tracing::info!(strategies = ?names, "strategy plugins");

    let local_organization_id = ensure_organization(&database, LOCAL_ORGANIZATION_SLUG, "Local")
        .await
        .context("creating the local organization")?;
    Ok(Runtime {
        app: AppContext {
            database,
            storage,
            job_queue,
            event_bus,
            plugins: Arc::new(RwLock::new(plugins)),
            observers: entmoot_schema::ports::Observers {
                job_submitted: crate::metrics_registry::job_submitted,
            },
            optimization_enabled: settings.enable_optimization,
        },
        local_organization_id,
    })
}
