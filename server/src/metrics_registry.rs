//! The process-wide Prometheus registry and every metric Entmoot exports.
//!
//! `install()` builds the registry once at start (serve, worker); the small hook
//! functions below (`job_started`, `job_finished`, `graphql_operation`, `cache_hit`, …)
//! can then be called from anywhere in the server crate. Before `install()` — in the
//! `solve` or `migrate` commands — the hooks do nothing, so callers never check.
//!
//! Names are a contract with `deploy/prometheus/alerts.yml` and the Grafana
//! dashboards (a test scrapes a running server for every metric the alerts use):
//! - HTTP: `http_requests_total{method,route,status}`, `http_request_duration_seconds`,
//!   `http_requests_in_flight`, `entmoot_websockets_open` (websockets never pass the HTTP
//!   middleware, so they have their own gauge);
//! - GraphQL: `entmoot_graphql_operations_total{operation,outcome}`,
//!   `entmoot_graphql_operation_duration_seconds{operation}`;
//! - jobs (worker hooks): `entmoot_jobs_submitted_total`,
//!   `entmoot_jobs_finished_total{status}`, `entmoot_job_duration_seconds{status}`,
//!   `entmoot_worker_active_jobs`;
//! - jobs (sampled from the database, the source of truth, when /metrics is scraped):
//!   `entmoot_jobs{state}`, `entmoot_job_queue_depth`, `entmoot_jobs_active`,
//!   `entmoot_jobs_running_past_lease`, `entmoot_job_oldest_queued_seconds`,
//!   `entmoot_projects`;
//! - database: `entmoot_db_pool_in_use_connections`, `entmoot_db_pool_idle_connections`,
//!   `entmoot_db_pool_max_connections`, `entmoot_db_queries_total{outcome}`,
//!   `entmoot_db_query_duration_seconds`;
//! - cache: `entmoot_cache_hits_total{cache}`, `entmoot_cache_misses_total{cache}`,
//!   `entmoot_cache_errors_total{cache}`;
//! - e-mail: `entmoot_emails_total{outcome}`;
//! - host: `entmoot_data_dir_available_bytes`, `entmoot_data_dir_size_bytes`, the
//!   `process_*` collector, and `entmoot_build_info{version}`.

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use entmoot_entities::jobs::JobStatus;
use entmoot_entities::{jobs, projects};
use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

/// GraphQL operation types.
pub const GRAPHQL_OPERATIONS: [&str; 3] = ["query", "mutation", "subscription"];
/// How often at most the database is asked for job counts, whoever scrapes.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// A sample that takes longer is abandoned (the gauges keep their last value).
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("defining or registering metric {name}: {source}")]
    Register {
        name: String,
        source: prometheus::Error,
    },
    #[error("encoding metrics: {0}")]
    Encode(prometheus::Error),
}

/// Every metric of this process.
pub struct Metrics {
    registry: Registry,
    pub http_requests_total: IntCounterVec,
    pub http_request_duration_seconds: HistogramVec,
    pub http_requests_in_flight: IntGauge,
    websockets_open: IntGauge,
    graphql_operations_total: IntCounterVec,
    graphql_operation_duration_seconds: HistogramVec,
    #[allow(
        dead_code,
        reason = "read by job_submitted, which the job submission path calls"
    )]
    jobs_submitted_total: IntCounter,
    jobs_finished_total: IntCounterVec,
    job_duration_seconds: HistogramVec,
    #[allow(dead_code, reason = "read by job_started, which the worker calls")]
    worker_active_jobs: IntGauge,
    jobs_by_state: IntGaugeVec,
    job_queue_depth: IntGauge,
    jobs_active: IntGauge,
    jobs_running_past_lease: IntGauge,
    job_oldest_queued_seconds: Gauge,
    projects: IntGauge,
    db_pool_in_use: IntGauge,
    db_pool_idle: IntGauge,
    db_pool_max: IntGauge,
    db_queries_total: IntCounterVec,
    db_query_duration_seconds: Histogram,
    cache_hits_total: IntCounterVec,
    cache_misses_total: IntCounterVec,
    cache_errors_total: IntCounterVec,
    emails_total: IntCounterVec,
    data_dir_available_bytes: Gauge,
    data_dir_size_bytes: Gauge,
    last_sample: Mutex<Option<Instant>>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

fn register<C: Collector + Clone + 'static>(
    registry: &Registry,
    name: &str,
    metric: Result<C, prometheus::Error>,
) -> Result<C, MetricsError> {
    let wrap = |source| MetricsError::Register {
        name: name.to_owned(),
        source,
    };
    let metric = metric.map_err(wrap)?;
    registry.register(Box::new(metric.clone())).map_err(wrap)?;
    Ok(metric)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    register(
        registry,
        name,
        IntCounterVec::new(Opts::new(name, help), labels),
    )
}

fn int_gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
    register(registry, name, IntGauge::new(name, help))
}

fn histogram_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> Result<HistogramVec, MetricsError> {
    register(
        registry,
        name,
        HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels),
    )
}

/// Latency buckets for requests and queries (seconds).
fn latency_buckets() -> Vec<f64> {
    vec![
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
}

/// Buckets for optimization runs, from a second to the default one-hour timeout.
fn job_buckets() -> Vec<f64> {
    vec![
        0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0,
    ]
}

impl Metrics {
    fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let r = &registry;
        let metrics = Self {
            http_requests_total: counter_vec(
                r,
                "http_requests_total",
                "HTTP requests by method, route pattern and status",
                &["method", "route", "status"],
            )?,
            http_request_duration_seconds: histogram_vec(
                r,
                "http_request_duration_seconds",
                "HTTP request latency by method and route pattern",
                &["method", "route"],
                latency_buckets(),
            )?,
            http_requests_in_flight: int_gauge(
                r,
                "http_requests_in_flight",
                "HTTP requests being served now",
            )?,
            websockets_open: int_gauge(
                r,
                "entmoot_websockets_open",
                "GraphQL websockets open now (past the handshake)",
            )?,
            graphql_operations_total: counter_vec(
                r,
                "entmoot_graphql_operations_total",
                "GraphQL operations executed, by operation type and outcome (ok or error)",
                &["operation", "outcome"],
            )?,
            graphql_operation_duration_seconds: histogram_vec(
                r,
                "entmoot_graphql_operation_duration_seconds",
                "GraphQL execution time by operation type",
                &["operation"],
                latency_buckets(),
            )?,
            jobs_submitted_total: register(
                r,
                "entmoot_jobs_submitted_total",
                IntCounter::new(
                    "entmoot_jobs_submitted_total",
                    "Optimization jobs accepted by this process",
                ),
            )?,
            jobs_finished_total: counter_vec(
                r,
                "entmoot_jobs_finished_total",
                "Optimization runs this process finished, by final status",
                &["status"],
            )?,
            job_duration_seconds: histogram_vec(
                r,
                "entmoot_job_duration_seconds",
                "Wall time of optimization runs on this process, by final status",
                &["status"],
                job_buckets(),
            )?,
            worker_active_jobs: int_gauge(
                r,
                "entmoot_worker_active_jobs",
                "Optimization runs executing in this process now",
            )?,
            jobs_by_state: register(
                r,
                "entmoot_jobs",
                IntGaugeVec::new(
                    Opts::new("entmoot_jobs", "Jobs in the database by state"),
                    &["state"],
                ),
            )?,
            job_queue_depth: int_gauge(
                r,
                "entmoot_job_queue_depth",
                "Jobs waiting for a worker (state queued in the database)",
            )?,
            jobs_active: int_gauge(
                r,
                "entmoot_jobs_active",
                "Jobs running on any worker (state running in the database)",
            )?,
            jobs_running_past_lease: int_gauge(
                r,
                "entmoot_jobs_running_past_lease",
                "Jobs still running after their lease expired (their worker stopped renewing it and no takeover has happened yet)",
            )?,
            job_oldest_queued_seconds: register(
                r,
                "entmoot_job_oldest_queued_seconds",
                Gauge::new(
                    "entmoot_job_oldest_queued_seconds",
                    "Seconds since the oldest queued job that is due (not waiting out a retry backoff) was created; 0 without one",
                ),
            )?,
            projects: int_gauge(r, "entmoot_projects", "Projects in the database")?,
            db_pool_in_use: int_gauge(
                r,
                "entmoot_db_pool_in_use_connections",
                "Database connections of this process's pool lent out now",
            )?,
            db_pool_idle: int_gauge(
                r,
                "entmoot_db_pool_idle_connections",
                "Open database connections of this process's pool waiting for work",
            )?,
            db_pool_max: int_gauge(
                r,
                "entmoot_db_pool_max_connections",
                "Largest size of this process's pool (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW)",
            )?,
            db_queries_total: counter_vec(
                r,
                "entmoot_db_queries_total",
                "Database statements executed, by outcome (ok or error)",
                &["outcome"],
            )?,
            db_query_duration_seconds: register(
                r,
                "entmoot_db_query_duration_seconds",
                Histogram::with_opts(
                    HistogramOpts::new(
                        "entmoot_db_query_duration_seconds",
                        "Database statement latency",
                    )
                    .buckets(latency_buckets()),
                ),
            )?,
            cache_hits_total: counter_vec(
                r,
                "entmoot_cache_hits_total",
                "Cache reads that found a value, by cache",
                &["cache"],
            )?,
            cache_misses_total: counter_vec(
                r,
                "entmoot_cache_misses_total",
                "Cache reads that found nothing, by cache",
                &["cache"],
            )?,
            cache_errors_total: counter_vec(
                r,
                "entmoot_cache_errors_total",
                "Cache operations that failed (served as misses), by cache",
                &["cache"],
            )?,
            emails_total: counter_vec(
                r,
                "entmoot_emails_total",
                "Job e-mails handed to SMTP, by outcome (sent or failed)",
                &["outcome"],
            )?,
            data_dir_available_bytes: register(
                r,
                "entmoot_data_dir_available_bytes",
                Gauge::new(
                    "entmoot_data_dir_available_bytes",
                    "Bytes available to unprivileged users on the file system of ENTMOOT_DATA_DIR",
                ),
            )?,
            data_dir_size_bytes: register(
                r,
                "entmoot_data_dir_size_bytes",
                Gauge::new(
                    "entmoot_data_dir_size_bytes",
                    "Size in bytes of the file system of ENTMOOT_DATA_DIR",
                ),
            )?,
            last_sample: Mutex::new(None),
            registry,
        };
        let build_info = register(
            &metrics.registry,
            "entmoot_build_info",
            IntGaugeVec::new(
                Opts::new(
                    "entmoot_build_info",
                    "Version of the running binary (always 1)",
                ),
                &["version"],
            ),
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        #[cfg(target_os = "linux")]
        metrics
            .registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .map_err(|source| MetricsError::Register {
                name: "process_*".to_owned(),
                source,
            })?;
        metrics.initialise_series();
        Ok(metrics)
    }

    /// Creates every known label combination at zero, so that rates and ratios exist
    /// (and alerts can be evaluated) before the first event of each kind.
    fn initialise_series(&self) {
        for operation in GRAPHQL_OPERATIONS {
            for outcome in ["ok", "error"] {
                self.graphql_operations_total
                    .with_label_values(&[operation, outcome]);
            }
            self.graphql_operation_duration_seconds
                .with_label_values(&[operation]);
        }
        for status in JobStatus::TERMINAL {
            self.jobs_finished_total
                .with_label_values(&[status.as_str()]);
            self.job_duration_seconds
                .with_label_values(&[status.as_str()]);
        }
        for state in JobStatus::ALL {
            self.jobs_by_state.with_label_values(&[state.as_str()]);
        }
        for outcome in ["ok", "error"] {
            self.db_queries_total.with_label_values(&[outcome]);
        }
        for cache in crate::adapters::cache::CacheKind::ALL {
            let label = [cache.label()];
            self.cache_hits_total.with_label_values(&label);
            self.cache_misses_total.with_label_values(&label);
            self.cache_errors_total.with_label_values(&label);
        }
        for outcome in ["sent", "failed"] {
            self.emails_total.with_label_values(&[outcome]);
        }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> Result<Vec<u8>, MetricsError> {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .map_err(MetricsError::Encode)?;
        Ok(buffer)
    }

    /// Refreshes the gauges read from the database, the pool and the file system,
    /// at most every `SAMPLE_INTERVAL`. Failures are logged and leave the last values.
    pub async fn sample(&self, database: &DatabaseConnection, data_dir: &Path) {
        {
            let Ok(mut last) = self.last_sample.lock() else {
                return;
            };
            if last.is_some_and(|at| at.elapsed() < SAMPLE_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        self.sample_pool(database);
        self.sample_disk(data_dir);
        match tokio::time::timeout(SAMPLE_TIMEOUT, self.sample_jobs(database)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "sampling job counts for /metrics failed"),
            Err(_) => tracing::warn!("sampling job counts for /metrics timed out"),
        }
    }

    fn sample_pool(&self, database: &DatabaseConnection) {
        let (size, idle, max) = match database.get_database_backend() {
            DbBackend::Postgres => {
                let pool = database.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DbBackend::Sqlite => {
                let pool = database.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => return,
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.db_pool_idle.set(idle);
        self.db_pool_in_use.set((i64::from(size) - idle).max(0));
        self.db_pool_max.set(i64::from(max));
    }

    fn sample_disk(&self, data_dir: &Path) {
        match rustix::fs::statvfs(data_dir) {
            Ok(stats) => {
                let fragment = stats.f_frsize as f64;
                self.data_dir_available_bytes
                    .set(stats.f_bavail as f64 * fragment);
                self.data_dir_size_bytes
                    .set(stats.f_blocks as f64 * fragment);
            }
            Err(error) => {
                tracing::debug!(path = %data_dir.display(), %error, "statvfs of the data directory failed");
            }
        }
    }

    async fn sample_jobs(&self, database: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
        let counts: Vec<(JobStatus, i64)> = jobs::Entity::find()
            .select_only()
            .column(jobs::Column::Status)
            .column_as(jobs::Column::Id.count(), "n")
            .group_by(jobs::Column::Status)
            .into_tuple()
            .all(database)
            .await?;
        for state in JobStatus::ALL {
            let count = counts
                .iter()
                .find(|(status, _)| *status == state)
                .map_or(0, |(_, n)| *n);
            self.jobs_by_state
                .with_label_values(&[state.as_str()])
                .set(count);
            match state {
                JobStatus::Queued => self.job_queue_depth.set(count),
                JobStatus::Running => self.jobs_active.set(count),
                _ => {}
            }
        }
        let now = chrono::Utc::now();
        let past_lease = jobs::Entity::find()
            .filter(jobs::Column::Status.eq(JobStatus::Running))
            .filter(jobs::Column::LeaseExpiresAt.lt(now))
            .count(database)
            .await?;
        self.jobs_running_past_lease
            .set(i64::try_from(past_lease).unwrap_or(i64::MAX));
        let oldest_queued: Option<chrono::DateTime<chrono::Utc>> = jobs::Entity::find()
            .select_only()
            .column_as(jobs::Column::CreatedAt.min(), "oldest")
            .filter(jobs::Column::Status.eq(JobStatus::Queued))
            .filter(
                sea_orm::Condition::any()
                    .add(jobs::Column::RetryAt.is_null())
                    .add(jobs::Column::RetryAt.lte(now)),
            )
            .into_tuple::<Option<chrono::DateTime<chrono::Utc>>>()
            .one(database)
            .await?
            .flatten();
        self.job_oldest_queued_seconds.set(
            oldest_queued
                .map(|created| (now - created).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0),
        );
        let projects = projects::Entity::find().count(database).await?;
        self.projects
            .set(i64::try_from(projects).unwrap_or(i64::MAX));
        Ok(())
    }
}

/// Builds the registry (once per process; later calls return the same one).
pub fn install() -> Result<&'static Metrics, MetricsError> {
    if let Some(metrics) = METRICS.get() {
        return Ok(metrics);
    }
    let metrics = Metrics::new()?;
    // Another thread may have won the race; either value is complete and equivalent.
    Ok(METRICS.get_or_init(|| metrics))
}

/// The registry, once installed.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

// ---------------------------------------------------------------------------------
// Hooks. Each one is cheap and does nothing before `install()`.
// ---------------------------------------------------------------------------------

/// A job was accepted (call after `submit_job` succeeds).
pub fn job_submitted() {
    if let Some(metrics) = get() {
        metrics.jobs_submitted_total.inc();
    }
}

/// Marks one optimization run as executing in this process until the guard drops.
/// Call when a worker starts `execute_job`; keep the guard alive for the whole run.
#[must_use = "the run counts as active only while the guard lives"]
pub fn job_started() -> ActiveJobGuard {
    if let Some(metrics) = get() {
        metrics.worker_active_jobs.inc();
    }
    ActiveJobGuard { _private: () }
}

/// Decrements `entmoot_worker_active_jobs` when dropped (also on panic or abort).
pub struct ActiveJobGuard {
    _private: (),
}

impl Drop for ActiveJobGuard {
    fn drop(&mut self) {
        if let Some(metrics) = get() {
            metrics.worker_active_jobs.dec();
        }
    }
}

/// Counts one websocket as open until the guard drops.
#[must_use = "the socket counts as open only while the guard lives"]
pub fn websocket_opened() -> OpenWebsocketGuard {
    if let Some(metrics) = get() {
        metrics.websockets_open.inc();
    }
    OpenWebsocketGuard { _private: () }
}

/// Decrements `entmoot_websockets_open` when dropped (also when the socket's task is
/// dropped mid-way).
pub struct OpenWebsocketGuard {
    _private: (),
}

impl Drop for OpenWebsocketGuard {
    fn drop(&mut self) {
        if let Some(metrics) = get() {
            metrics.websockets_open.dec();
        }
    }
}

/// A run ended in `status` (`succeeded`, `failed` or `cancelled`; anything else counts
/// as `failed`) after `elapsed` wall time.
pub fn job_finished(status: JobStatus, elapsed: Duration) {
    let Some(metrics) = get() else { return };
    let status = if status.is_terminal() {
        status.as_str()
    } else {
        JobStatus::Failed.as_str()
    };
    metrics
        .jobs_finished_total
        .with_label_values(&[status])
        .inc();
    metrics
        .job_duration_seconds
        .with_label_values(&[status])
        .observe(elapsed.as_secs_f64());
}

/// One GraphQL operation was executed. `operation` is `query`, `mutation` or
/// `subscription` (anything else is recorded as `query`); `ok` is false when the
/// response carried errors.
pub fn graphql_operation(operation: &str, ok: bool, elapsed: Duration) {
    let Some(metrics) = get() else { return };
    let operation = GRAPHQL_OPERATIONS
        .into_iter()
        .find(|known| *known == operation)
        .unwrap_or("query");
    let outcome = if ok { "ok" } else { "error" };
    metrics
        .graphql_operations_total
        .with_label_values(&[operation, outcome])
        .inc();
    metrics
        .graphql_operation_duration_seconds
        .with_label_values(&[operation])
        .observe(elapsed.as_secs_f64());
}

/// Called by the cache adapter on every read.
pub(crate) fn cache_read(cache: &str, hit: bool) {
    if let Some(metrics) = get() {
        let counter = if hit {
            &metrics.cache_hits_total
        } else {
            &metrics.cache_misses_total
        };
        counter.with_label_values(&[cache]).inc();
    }
}

/// Called by the cache adapter when its backend fails.
pub(crate) fn cache_error(cache: &str) {
    if let Some(metrics) = get() {
        metrics.cache_errors_total.with_label_values(&[cache]).inc();
    }
}

/// Called by the e-mail adapter after each attempt.
pub(crate) fn email_attempt(sent: bool) {
    if let Some(metrics) = get() {
        metrics
            .emails_total
            .with_label_values(&[if sent { "sent" } else { "failed" }])
            .inc();
    }
}

/// Times every statement of `database` into `entmoot_db_query_duration_seconds` and
/// counts it in `entmoot_db_queries_total`. Call once on the connection right after
/// connecting, before it is cloned into the application context.
pub fn instrument_database(database: &mut DatabaseConnection) {
    database.set_metric_callback(|info| {
        if let Some(metrics) = get() {
            metrics
                .db_query_duration_seconds
                .observe(info.elapsed.as_secs_f64());
            metrics
                .db_queries_total
                .with_label_values(&[if info.failed { "error" } else { "ok" }])
                .inc();
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;

    fn exposition() -> String {
        String::from_utf8(install().expect("install").encode().expect("encode")).expect("utf-8")
    }

    #[test]
    fn every_documented_family_is_exported_before_any_event() {
        let text = exposition();
        for name in [
            "http_requests_in_flight",
            "entmoot_websockets_open",
            "entmoot_graphql_operations_total",
            "entmoot_jobs_finished_total",
            "entmoot_job_duration_seconds_bucket",
            "entmoot_worker_active_jobs",
            "entmoot_jobs{state=\"queued\"}",
            "entmoot_job_queue_depth",
            "entmoot_jobs_active",
            "entmoot_jobs_running_past_lease",
            "entmoot_job_oldest_queued_seconds",
            "entmoot_db_pool_max_connections",
            "entmoot_db_queries_total",
            "entmoot_cache_hits_total{cache=\"layout_geojson\"}",
            "entmoot_cache_misses_total",
            "entmoot_emails_total",
            "entmoot_build_info",
            "process_resident_memory_bytes",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }

    #[test]
    fn hooks_move_their_metrics() {
        install().expect("install");
        let before = get()
            .expect("installed")
            .jobs_finished_total
            .with_label_values(&["succeeded"])
            .get();
        {
            let _guard = job_started();
            assert!(get().expect("installed").worker_active_jobs.get() >= 1);
            job_finished(JobStatus::Succeeded, Duration::from_millis(1500));
        }
        job_finished(JobStatus::Running, Duration::from_secs(1));
        graphql_operation("mutation", false, Duration::from_millis(3));
        let metrics = get().expect("installed");
        assert_eq!(
            metrics
                .jobs_finished_total
                .with_label_values(&["succeeded"])
                .get(),
            before + 1
        );
        assert!(
            metrics
                .jobs_finished_total
                .with_label_values(&["failed"])
                .get()
                >= 1
        );
        assert!(
            metrics
                .graphql_operations_total
                .with_label_values(&["mutation", "error"])
                .get()
                >= 1
        );
    }
}
