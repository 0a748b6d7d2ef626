//! Assembles the running services from configuration: the one place that decides
//! which adapter serves each concern, shared by `serve` and `worker`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use entmoot_domain::AppContext;
use entmoot_domain::organizations::{LOCAL_ORGANIZATION_SLUG, ensure_organization};
use entmoot_domain::ports::{EventBus, JobQueue};
use entmoot_plugin_host::{
    HostSettings, PluginRegistry, PluginWatcher, RunOptions, find_runner, probe_sandbox,
};
use uuid::Uuid;

use crate::adapters::cache::{Cache, IN_PROCESS_CAPACITY_BYTES};
use crate::adapters::email::Mailer;
use crate::adapters::in_process::{InProcessEventBus, InProcessQueue};
use crate::adapters::rate_limit::RateLimiter;
use crate::adapters::redis_bus::RedisEventBus;
use crate::adapters::redis_queue::RedisQueue;
use crate::adapters::sessions::{InProcessSessions, RedisSessions};
use crate::adapters::{database, storage};
use crate::config::{PluginIsolation, RedisSettings, Settings, StorageSettings, redact_url};
use entmoot_domain::files::FileSettings;
use entmoot_domain::ports::{MailSender, SessionStore};
use entmoot_domain::verified_keys::VerifiedKeys;
use redis::aio::ConnectionManager;

/// Sessions of the embedded default (no Redis, so no REDIS_SESSION_EXPIRY) last a day
/// without use, REDIS_SESSION_EXPIRY's default.
const EMBEDDED_SESSION_TTL: Duration = Duration::from_secs(86_400);

/// How long a delivered job may stay unacknowledged before another worker claims it.
/// Workers acknowledge an entry as soon as they receive it (the database row and its
/// lease keep the job from then on), so an entry this old belongs to a dead worker.
const JOB_CLAIM_IDLE: Duration = Duration::from_secs(5);

/// How often `serve` and `worker` look for changed plugin files. A poll that finds
/// nothing only `stat`s the libraries; a change is loaded once it has held still for one
/// more poll, so a new file is in service within two to three seconds.
const PLUGIN_POLL_INTERVAL: Duration = Duration::from_secs(1);

pub struct Runtime {
    pub app: AppContext,
    /// Rate limit counters, shared by the API's limits and sign-in protection.
    pub rate_limiter: Arc<RateLimiter>,
    /// The organization requests act for until authentication is configured.
    pub local_organization_id: Uuid,
}

/// The plugin host's configuration: the directory of this executable (where the built-in
/// strategies are installed, the only place their names are accepted from) and
/// ENTMOOT_PLUGIN_DIR; the runner, the cache directory, the isolation and the limits. With the
/// sandbox (the default) a missing runner is an error, never a silent fallback to in-process.
pub fn plugin_host_settings(settings: &Settings) -> anyhow::Result<HostSettings> {
    let executable =
        std::env::current_exe().context("cannot find this executable's path (plugins)")?;
    let executable_dir = executable
        .parent()
        .map(std::path::Path::to_path_buf)
        .context("this executable has no directory (plugins)")?;
    let mut dirs = vec![executable_dir.clone()];
    for dir in &settings.plugin_dirs {
        if !dirs.contains(dir) {
            dirs.push(dir.clone());
        }
    }
    let plugins = &settings.plugins;
    let cache_dir = plugins.cache_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut run = match plugins.isolation {
        PluginIsolation::Sandbox => {
            let runner = match &plugins.runner {
                Some(runner) if runner.is_file() => runner.clone(),
                Some(runner) => anyhow::bail!(
                    "ENTMOOT_PLUGIN_RUNNER={}: no such file",
                    runner.display()
                ),
                None => find_runner(&executable).with_context(|| {
                    format!(
                        "entmoot-plugin-runner is not installed beside {}: install it, set ENTMOOT_PLUGIN_RUNNER, or (development only) ENTMOOT_PLUGIN_ISOLATION=in-process",
                        executable.display()
                    )
                })?,
            };
            RunOptions::child_process(runner, cache_dir.clone())
        }
        PluginIsolation::InProcess => RunOptions::in_process(cache_dir.clone()),
    };
    run.max_memory_mb = Some(plugins.max_memory_mb);
    run.max_processes = plugins.max_processes;
    run.handshake_timeout_ms = plugins.handshake_timeout.as_millis() as u64;
    Ok(HostSettings::new(
        dirs,
        vec![executable_dir],
        cache_dir,
        run,
    ))
}

/// Logs where plugin code runs and which protections its sandbox has on this machine: INFO for
/// what is active, a WARN for each protection the machine or the privileges at hand refuse.
pub fn log_plugin_isolation(host: &HostSettings) {
    match &host.run.isolation {
        entmoot_plugin_host::Isolation::InProcess => tracing::warn!(
            "strategy plugins run IN PROCESS (ENTMOOT_PLUGIN_ISOLATION=in-process): no sandbox, a crashing or hostile plugin takes this process down; use only for development"
        ),
        entmoot_plugin_host::Isolation::ChildProcess { runner } => {
            match probe_sandbox(runner, &host.run) {
                Ok(report) => {
                    tracing::info!(runner = %runner.display(), active = %report.active.join(", "), "plugin sandbox");
                    for missing in &report.missing {
                        tracing::warn!(protection = %missing.protection, reason = %missing.reason, "plugin sandbox: protection unavailable on this machine");
                    }
                }
                Err(error) => tracing::warn!(%error, "plugin sandbox: cannot probe the runner"),
            }
        }
    }
}

/// Discovers the strategy plugins (handshakes in the sandboxed runner).
pub fn discover_plugins(settings: &Settings) -> anyhow::Result<PluginRegistry> {
    let host = plugin_host_settings(settings)?;
    Ok(entmoot_plugin_host::discover_plugins(host))
}

/// Upload and export settings from the configuration.
pub fn file_settings(settings: &Settings) -> FileSettings {
    let defaults = FileSettings::default();
    let (upload_prefix, export_prefix) = match &settings.storage {
        StorageSettings::S3 {
            upload_prefix,
            export_prefix,
            ..
        } => (upload_prefix.clone(), export_prefix.clone()),
        _ => (
            defaults.upload_prefix.clone(),
            defaults.export_prefix.clone(),
        ),
    };
    FileSettings {
        upload_prefix,
        export_prefix,
        max_upload_bytes: settings.max_file_size_mb.saturating_mul(1024 * 1024),
        upload_ttl: defaults.upload_ttl,
    }
}

/// Reloads the plugins in the background whenever a file in their directories is added,
/// replaced or removed, until the returned watcher is dropped. The registry logs each
/// strategy loaded, replaced or removed and each file refused.
pub fn watch_plugins(app: &AppContext) -> PluginWatcher {
    entmoot_plugin_host::watch_plugins(app.plugins.clone(), PLUGIN_POLL_INTERVAL, |report| {
        tracing::info!(%report, "strategy plugins reloaded");
    })
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

    type RedisBacked = (
        Arc<dyn JobQueue>,
        Arc<dyn EventBus>,
        Arc<dyn SessionStore>,
        Arc<RateLimiter>,
        Cache,
    );
    let (job_queue, event_bus, sessions, rate_limiter, cache): RedisBacked = match &settings.redis {
        None => (
            Arc::new(InProcessQueue::new()),
            Arc::new(InProcessEventBus::new()),
            Arc::new(InProcessSessions::default()),
            Arc::new(RateLimiter::in_process()),
            Cache::in_process(IN_PROCESS_CAPACITY_BYTES),
        ),
        Some(redis) => {
            let shown = redact_url(redis.url.expose());
            let client = redis_client(redis, &shown)?;
            let cannot_connect = || format!("REDIS_URL {shown}: cannot connect");
            let queue = RedisQueue::connect(client.clone(), &redis.key_prefix, JOB_CLAIM_IDLE)
                .await
                .with_context(cannot_connect)?;
            let bus = RedisEventBus::connect(client.clone(), &redis.key_prefix)
                .await
                .with_context(cannot_connect)?;
            // Sessions and rate limits send plain commands: one multiplexed connection
            // serves both. The cache keeps its own, with short timeouts, because a slow
            // cache must never slow a read.
            let commands = ConnectionManager::new(client.clone())
                .await
                .with_context(cannot_connect)?;
            let cache = Cache::redis(client, &redis.key_prefix)
                .await
                .with_context(cannot_connect)?;
            (
                Arc::new(queue),
                Arc::new(bus),
                Arc::new(RedisSessions::new(commands.clone(), &redis.key_prefix)),
                Arc::new(RateLimiter::redis(commands, &redis.key_prefix)),
                cache,
            )
        }
    };
    let session_ttl = settings
        .redis
        .as_ref()
        .map_or(EMBEDDED_SESSION_TTL, |redis| redis.session_expiry);
    let mailer = Mailer::from_settings(settings.smtp.as_ref())
        .context("SMTP_HOST / EMAIL_FROM: cannot set up e-mail")?
        .map(|mailer| Arc::new(mailer) as Arc<dyn MailSender>);
    tracing::info!(backend = job_queue.backend_name(), "job queue");
    tracing::info!(backend = event_bus.backend_name(), "job events");

    let host = plugin_host_settings(settings)?;
    log_plugin_isolation(&host);
    let plugins = entmoot_plugin_host::discover_plugins(host);
    let names: Vec<String> = plugins
        .strategies()
        .iter()
        .map(|strategy| format!("{} {}", strategy.name, strategy.version))
        .collect();
    tracing::info!(strategies = ?names, "strategy plugins");

    let local_organization_id = ensure_organization(&database, LOCAL_ORGANIZATION_SLUG, "Local")
        .await
        .context("creating the local organization")?;
    let verified_keys = Arc::new(VerifiedKeys::with_lifetime(settings.verified_key_lifetime));
    tokio::spawn(forget_keys_on_access_changes(
        event_bus.access_changes(),
        verified_keys.clone(),
    ));
    Ok(Runtime {
        app: AppContext {
            database,
            storage,
            job_queue,
            event_bus,
            plugins: Arc::new(RwLock::new(plugins)),
            observers: entmoot_domain::ports::Observers {
                job_submitted: crate::metrics_registry::job_submitted,
            },
            files: file_settings(settings),
            download_signing_key: Arc::new(match &settings.secret_key {
                Some(key) => key.expose().as_bytes().to_vec(),
                None => rand::random::<[u8; 32]>().to_vec(),
            }),
            sessions,
            session_ttl,
            attempts: rate_limiter.clone(),
            mailer,
            optimization_enabled: settings.enable_optimization,
            geospatial_analysis_enabled: settings.enable_geospatial_analysis,
            job_max_attempts: settings.job_max_attempts,
            cache: Arc::new(cache),
            verified_keys,
        },
        rate_limiter,
        local_organization_id,
    })
}

/// Forgets every remembered key whenever any process reports an access change, or when
/// this one may have missed reports (it fell behind, or the bus reconnected).
async fn forget_keys_on_access_changes(
    mut changes: tokio::sync::broadcast::Receiver<()>,
    verified_keys: Arc<VerifiedKeys>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match changes.recv().await {
            Ok(()) | Err(RecvError::Lagged(_)) => verified_keys.forget_all(),
            Err(RecvError::Closed) => return,
        }
    }
}

/// The Redis client of REDIS_URL: `redis://` in the clear, `rediss://` over TLS verified
/// against the system's roots or, with REDIS_SSL_CERTFILE, against that CA only.
pub(crate) fn redis_client(redis: &RedisSettings, shown: &str) -> anyhow::Result<redis::Client> {
    let Some(path) = &redis.ca_certificate else {
        return redis::Client::open(redis.url.expose())
            .with_context(|| format!("REDIS_URL {shown}: not a valid Redis URL"));
    };
    let pem = std::fs::read(path)
        .with_context(|| format!("REDIS_SSL_CERTFILE {}: cannot read it", path.display()))?;
    redis::Client::build_with_tls(
        redis.url.expose(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        },
    )
    .with_context(|| {
        format!(
            "REDIS_URL {shown} with REDIS_SSL_CERTFILE {}: not a valid Redis URL or CA certificate",
            path.display()
        )
    })
}
