//! Configuration: environment variables, a `.env` file and command-line flags (which
//! win), parsed once into typed `Settings`. `docs/configuration.md` describes every
//! variable; `server/tests/configuration_doc.rs` fails when it misses one read here.
//!
//! Every problem is reported as one line naming the variable, the value and what it
//! accepts, so an operator can fix a deployment from the first log line.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A configuration problem: which variable, what was wrong, what is accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}={value:?} is invalid: {accepted}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub accepted: String,
}

/// A string that must never be printed: Debug and Display show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

/// Default open websockets per API worker: actix-server's own bound on a worker's
/// connections, which counted sockets too until they left the HTTP dispatcher.
const MAX_WEBSOCKETS_PER_WORKER: usize = 25_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub redis: Option<RedisSettings>,
    pub storage: StorageSettings,
    pub api_host: String,
    pub api_port: u16,
    pub api_workers: usize,
    /// ENTMOOT_MAX_WEBSOCKETS: open websockets one API process holds at most (further
    /// upgrades get 503).
    pub max_websockets: usize,
    pub secret_key: Option<Secret>,
    pub cors_enabled: bool,
    pub allowed_origins: Vec<String>,
    /// Requests per minute and API key; 0 is no limit.
    pub rate_limit_per_key: u32,
    /// ENTMOOT_VERIFIED_KEY_SECONDS: how long a verified API key is taken on trust.
    pub verified_key_lifetime: Duration,
    /// Requests per minute and client address; 0 is no limit.
    pub rate_limit_per_address: u32,
    pub trust_forwarded_headers: bool,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub prometheus_enabled: bool,
    pub prometheus_port: Option<u16>,
    pub sentry: Option<SentrySettings>,
    pub enable_optimization: bool,
    pub enable_geospatial_analysis: bool,
    pub optimization_timeout: Duration,
    pub max_file_size_mb: u64,
    pub max_concurrent_jobs: usize,
    /// A running job whose worker stops renewing its lease for this long is taken over.
    pub job_lease: Duration,
    /// Attempts a new job gets before it is dead-lettered.
    pub job_max_attempts: i32,
    /// The delay before the second attempt after a transient failure, doubled for each
    /// attempt after that.
    pub job_retry_backoff: Duration,
    pub plugin_dirs: Vec<PathBuf>,
    /// How strategy plugins are isolated and limited (the plugin host reads no environment).
    pub plugins: PluginSettings,
    pub smtp: Option<SmtpSettings>,
    /// Production turns off GraphQL introspection and suggestions.
    pub environment: String,
    /// Mounts the deliberately failing `/debug/*` routes (never in production).
    pub debug_routes: bool,
    /// /metrics and the detailed /health report on the API port without a token.
    pub public_operations: bool,
}

/// Where plugin code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginIsolation {
    /// Every handshake and run in the sandboxed `entmoot-plugin-runner` (the default).
    Sandbox,
    /// In the entmoot process itself: no sandbox, a crash takes the process down. For
    /// development only; refused when ENTMOOT_ENV=production.
    InProcess,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginSettings {
    pub isolation: PluginIsolation,
    /// ENTMOOT_PLUGIN_RUNNER; `None` looks beside the executable.
    pub runner: Option<PathBuf>,
    /// ENTMOOT_PLUGIN_CACHE_DIR; `None` is the system temporary directory.
    pub cache_dir: Option<PathBuf>,
    /// Address-space limit of a run, MiB.
    pub max_memory_mb: u64,
    /// Processes and threads of the sandbox user.
    pub max_processes: u64,
    /// How long reading a plugin's manifest may take.
    pub handshake_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSettings {
    /// `None` is the embedded default: SQLite in the data directory.
    pub url: Option<Secret>,
    pub pool_size: u32,
    pub max_overflow: u32,
    pub pool_timeout: Duration,
    pub pool_recycle: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisSettings {
    pub url: Secret,
    /// REDIS_SSL_CERTFILE: the CA that signed a rediss:// server's certificate, instead of
    /// the system's roots (a private CA, as ElastiCache and Memorystore with TLS use).
    pub ca_certificate: Option<PathBuf>,
    /// Prefix of every key and channel, so deployments can share one Redis.
    pub key_prefix: String,
    pub session_expiry: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SentrySettings {
    pub dsn: Secret,
    pub environment: String,
    pub traces_sample_rate: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StorageSettings {
    /// Local disk (the embedded default), under `root`.
    Filesystem { root: PathBuf },
    /// Process memory; for tests and throwaway servers.
    Memory,
    S3 {
        bucket: String,
        region: String,
        endpoint: Option<String>,
        access_key_id: Option<Secret>,
        secret_access_key: Option<Secret>,
        upload_prefix: String,
        export_prefix: String,
    },
    Gcs {
        bucket: String,
        credentials_path: Option<PathBuf>,
        project_id: Option<String>,
        endpoint: Option<String>,
    },
    AzureBlob {
        account_name: String,
        account_key: Option<Secret>,
        container: String,
        endpoint: Option<String>,
    },
}

impl StorageSettings {
    pub fn provider_name(&self) -> &'static str {
        match self {
            Self::Filesystem { .. } => "fs",
            Self::Memory => "memory",
            Self::S3 { .. } => "s3",
            Self::Gcs { .. } => "gcs",
            Self::AzureBlob { .. } => "azblob",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Every variable this program reads, with the comment the example files carry.
/// `.env.*.example` are checked against this list by a test.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "ENTMOOT_DATA_DIR",
        "Directory for the embedded SQLite database and local files (default ./data)",
    ),
    (
        "ENTMOOT_ENV",
        "development | staging | production; production turns GraphQL introspection off",
    ),
    (
        "ENTMOOT_RATE_LIMIT_PER_KEY",
        "requests per minute one API key may make to /graphql, counted across all API instances through Redis (default 600; 0 turns the limit off)",
    ),
    (
        "ENTMOOT_VERIFIED_KEY_SECONDS",
        "seconds an API instance takes a verified API key on trust before reading it again; revocations and role changes reach every instance at once through Redis, this bounds what a missed message could allow (default 5; 0 reads every time)",
    ),
    (
        "ENTMOOT_RATE_LIMIT_PER_ADDRESS",
        "requests per minute one client address may make to /graphql, signed in or not (default 1200; 0 turns the limit off)",
    ),
    (
        "ENTMOOT_TRUST_FORWARDED_HEADERS",
        "true | false: take the client address from the last X-Forwarded-For entry, the one a trusted load balancer appends (default false: the peer address)",
    ),
    (
        "ENTMOOT_PUBLIC_OPERATIONS",
        "true | false: answer /metrics and the detailed /health report on the API port without an admin token (default false; PROMETHEUS_PORT always answers them)",
    ),
    (
        "ENTMOOT_DEBUG_ROUTES",
        "true | false: mount /debug/panic, /debug/error and /debug/sleep to check error reporting (default false; refused in production)",
    ),
    (
        "DATABASE_URL",
        "postgres://user:password@host:5432/entmoot; unset means embedded SQLite",
    ),
    (
        "DATABASE_POOL_SIZE",
        "Connections kept open per process (default 20)",
    ),
    (
        "DATABASE_MAX_OVERFLOW",
        "Extra connections allowed above the pool size under load (default 10)",
    ),
    (
        "DATABASE_POOL_TIMEOUT",
        "Seconds to wait for a free connection (default 30)",
    ),
    (
        "DATABASE_POOL_RECYCLE",
        "Seconds after which a connection is replaced (default 3600)",
    ),
    (
        "REDIS_URL",
        "redis://:password@host:6379/0; unset means in-process queue, events and cache",
    ),
    (
        "ENTMOOT_REDIS_PREFIX",
        "Prefix of Redis keys and channels (default entmoot)",
    ),
    (
        "REDIS_SSL_CERTFILE",
        "PEM file of the CA that signed the Redis server's certificate (rediss:// only; default: the system's roots)",
    ),
    (
        "REDIS_SESSION_EXPIRY",
        "Seconds a sign-in session lives without use (default 86400)",
    ),
    (
        "STORAGE_PROVIDER",
        "local | memory | aws | gcp | azure (default local)",
    ),
    (
        "AWS_ACCESS_KEY_ID",
        "S3 access key (or use the instance role)",
    ),
    ("AWS_SECRET_ACCESS_KEY", "S3 secret key"),
    ("AWS_REGION", "S3 region (default us-east-1)"),
    ("AWS_S3_BUCKET", "S3 bucket for uploads and exports"),
    (
        "AWS_S3_UPLOAD_PREFIX",
        "Key prefix of uploads (default uploads/)",
    ),
    (
        "AWS_S3_EXPORT_PREFIX",
        "Key prefix of exports (default exports/)",
    ),
    (
        "AWS_ENDPOINT_URL",
        "S3-compatible endpoint, for emulators and non-AWS stores",
    ),
    ("GCP_PROJECT_ID", "Google Cloud project of the bucket"),
    ("GCP_CREDENTIALS_PATH", "Service-account JSON key file"),
    (
        "GCP_BUCKET_NAME",
        "Cloud Storage bucket for uploads and exports",
    ),
    (
        "STORAGE_EMULATOR_HOST",
        "Cloud Storage emulator address, for tests",
    ),
    ("AZURE_STORAGE_ACCOUNT_NAME", "Azure storage account"),
    ("AZURE_STORAGE_ACCOUNT_KEY", "Azure storage account key"),
    (
        "AZURE_CONTAINER_NAME",
        "Azure Blob container (default files)",
    ),
    (
        "AZURE_STORAGE_ENDPOINT",
        "Blob endpoint, for Azurite and sovereign clouds",
    ),
    (
        "API_HOST",
        "Address to listen on (default 127.0.0.1; 0.0.0.0 in containers)",
    ),
    (
        "API_PORT",
        "Port to listen on (default 8000; 0 picks a free one)",
    ),
    (
        "API_WORKERS",
        "HTTP worker threads (default: number of CPUs)",
    ),
    (
        "SECRET_KEY",
        "At least 32 characters; required unless running the embedded default",
    ),
    (
        "ALLOWED_ORIGINS",
        "Comma-separated browser origins allowed by CORS",
    ),
    ("CORS_ENABLED", "true | false (default true)"),
    (
        "LOG_LEVEL",
        "TRACE | DEBUG | INFO | WARNING | ERROR (default INFO)",
    ),
    ("LOG_FORMAT", "text | json (default text)"),
    (
        "PROMETHEUS_ENABLED",
        "true | false: serve /metrics (default true)",
    ),
    (
        "PROMETHEUS_PORT",
        "Serve /metrics (and /health/*) on this separate port instead of the API port; workers serve them only here",
    ),
    ("SENTRY_DSN", "Sentry project DSN; unset disables Sentry"),
    (
        "SENTRY_ENVIRONMENT",
        "Environment tag of Sentry events (default production)",
    ),
    (
        "SENTRY_TRACES_SAMPLE_RATE",
        "Fraction of requests traced, 0 to 1 (default 0.1)",
    ),
    (
        "ENABLE_OPTIMIZATION",
        "true | false: accept optimization jobs (default true); false refuses createJob, `entmoot solve` still works",
    ),
    (
        "ENABLE_GEOSPATIAL_ANALYSIS",
        "true | false: spatial searches across an organization's data (default true); false refuses sitesIntersecting and buildingsWithin",
    ),
    (
        "OPTIMIZATION_TIMEOUT",
        "Seconds after which any optimization run is stopped (default 3600)",
    ),
    (
        "MAX_FILE_SIZE_MB",
        "Largest upload accepted, in MiB (default 500)",
    ),
    (
        "MAX_CONCURRENT_JOBS",
        "Jobs one worker process runs at once (default 10)",
    ),
    (
        "ENTMOOT_JOB_LEASE_SECONDS",
        "Seconds a worker's job lease lasts without renewal before another worker takes the job over (default 30)",
    ),
    (
        "ENTMOOT_JOB_MAX_ATTEMPTS",
        "Attempts a job gets (transient failures, vanished workers) before it fails for good (default 3)",
    ),
    (
        "ENTMOOT_JOB_RETRY_BACKOFF_SECONDS",
        "Seconds before a job that failed transiently runs again, doubled for each further attempt (default 2)",
    ),
    (
        "ENTMOOT_PLUGIN_DIR",
        "Extra strategy plugin directories, separated by ':'",
    ),
    (
        "ENTMOOT_PLUGIN_CACHE_DIR",
        "Private directory where plugin files are copied and plugin runs get their working directories (default: the temporary directory)",
    ),
    (
        "ENTMOOT_PLUGIN_RUNNER",
        "The entmoot-plugin-runner executable (default: beside the entmoot executable)",
    ),
    (
        "ENTMOOT_PLUGIN_ISOLATION",
        "sandbox | in-process: where plugin code runs (default sandbox; in-process is for development and refused in production)",
    ),
    (
        "ENTMOOT_PLUGIN_MAX_MEMORY_MB",
        "Address-space limit of one plugin run, in MiB (default 4096)",
    ),
    (
        "ENTMOOT_PLUGIN_MAX_PROCESSES",
        "Processes and threads plugin runs may have at once, as the sandbox user (default 256)",
    ),
    (
        "ENTMOOT_PLUGIN_HANDSHAKE_TIMEOUT",
        "Seconds reading a plugin's manifest may take before the file is refused (default 10)",
    ),
    (
        "SMTP_HOST",
        "SMTP server for job e-mails; unset disables e-mail",
    ),
    ("SMTP_PORT", "SMTP port (default 587)"),
    ("SMTP_USERNAME", "SMTP user"),
    ("SMTP_PASSWORD", "SMTP password"),
    ("EMAIL_FROM", "Sender address of e-mails"),
];

/// Reads values by variable name from the process environment (after `.env`), with
/// command-line overrides taking precedence.
pub struct Sources {
    values: HashMap<String, String>,
}

impl Sources {
    pub fn new(environment: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            values: environment.into_iter().collect(),
        }
    }

    /// A command-line flag: replaces whatever the environment said.
    pub fn override_with(&mut self, variable: &str, value: Option<String>) {
        if let Some(value) = value {
            self.values.insert(variable.to_owned(), value);
        }
    }

    fn get(&self, variable: &str) -> Option<&str> {
        self.values
            .get(variable)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }
}

fn invalid(variable: &'static str, value: &str, accepted: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        value: value.to_owned(),
        accepted: accepted.into(),
    }
}

fn parse_bool(
    sources: &Sources,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match sources.get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(variable, raw, "accepts true or false")),
        },
    }
}

fn parse_integer<T: std::str::FromStr + PartialOrd + fmt::Display + Copy>(
    sources: &Sources,
    variable: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    match sources.get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<T>() {
            Ok(value) if value >= min && value <= max => Ok(value),
            _ => Err(invalid(
                variable,
                raw,
                format!("accepts an integer from {min} to {max}"),
            )),
        },
    }
}

fn parse_seconds(
    sources: &Sources,
    variable: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    parse_integer(sources, variable, default, 1, 31_536_000).map(Duration::from_secs)
}

fn text(sources: &Sources, variable: &str) -> Option<String> {
    sources.get(variable).map(|value| value.trim().to_owned())
}

fn secret(sources: &Sources, variable: &str) -> Option<Secret> {
    sources
        .get(variable)
        .map(|value| Secret(value.trim().to_owned()))
}

fn required(sources: &Sources, variable: &'static str, why: &str) -> Result<String, ConfigError> {
    text(sources, variable).ok_or_else(|| invalid(variable, "", format!("is required {why}")))
}

impl Settings {
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let data_dir =
            PathBuf::from(text(sources, "ENTMOOT_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let environment = match text(sources, "ENTMOOT_ENV").map(|v| v.to_ascii_lowercase()) {
            None => "development".to_owned(),
            Some(value)
                if ["development", "staging", "production", "test"].contains(&value.as_str()) =>
            {
                value
            }
            Some(value) => {
                return Err(invalid(
                    "ENTMOOT_ENV",
                    &value,
                    "accepts development, staging, production or test",
                ));
            }
        };
        let database = DatabaseSettings {
            url: match sources.get("DATABASE_URL") {
                None => None,
                Some(raw) => {
                    let raw = raw.trim();
                    if !(raw.starts_with("postgres://")
                        || raw.starts_with("postgresql://")
                        || raw.starts_with("sqlite:"))
                    {
                        return Err(invalid(
                            "DATABASE_URL",
                            &redact_url(raw),
                            "accepts a postgres://, postgresql:// or sqlite: URL",
                        ));
                    }
                    Some(Secret(raw.to_owned()))
                }
            },
            pool_size: parse_integer(sources, "DATABASE_POOL_SIZE", 20, 1, 1000)?,
            max_overflow: parse_integer(sources, "DATABASE_MAX_OVERFLOW", 10, 0, 1000)?,
            pool_timeout: parse_seconds(sources, "DATABASE_POOL_TIMEOUT", 30)?,
            pool_recycle: parse_seconds(sources, "DATABASE_POOL_RECYCLE", 3600)?,
        };
        let redis = match sources.get("REDIS_URL") {
            None => None,
            Some(raw) => {
                let raw = raw.trim();
                if !(raw.starts_with("redis://") || raw.starts_with("rediss://")) {
                    return Err(invalid(
                        "REDIS_URL",
                        &redact_url(raw),
                        "accepts a redis:// or rediss:// URL",
                    ));
                }
                let ca_certificate = text(sources, "REDIS_SSL_CERTFILE").map(PathBuf::from);
                if ca_certificate.is_some() && !raw.starts_with("rediss://") {
                    return Err(invalid(
                        "REDIS_SSL_CERTFILE",
                        &text(sources, "REDIS_SSL_CERTFILE").unwrap_or_default(),
                        "is only used with a rediss:// REDIS_URL (a redis:// connection is not encrypted)",
                    ));
                }
                Some(RedisSettings {
                    url: Secret(raw.to_owned()),
                    ca_certificate,
                    key_prefix: text(sources, "ENTMOOT_REDIS_PREFIX")
                        .unwrap_or_else(|| "entmoot".into()),
                    session_expiry: parse_seconds(sources, "REDIS_SESSION_EXPIRY", 86_400)?,
                })
            }
        };
        let storage = parse_storage(sources, &data_dir)?;
        let api_host = text(sources, "API_HOST").unwrap_or_else(|| "127.0.0.1".into());
        if api_host.parse::<std::net::IpAddr>().is_err() && api_host != "localhost" {
            return Err(invalid(
                "API_HOST",
                &api_host,
                "accepts an IP address such as 127.0.0.1 or 0.0.0.0, or localhost",
            ));
        }
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let api_workers = parse_integer(sources, "API_WORKERS", cpus, 1, 1024)?;
        let secret_key = secret(sources, "SECRET_KEY");
        if let Some(key) = &secret_key
            && key.expose().len() < 32
        {
            return Err(invalid(
                "SECRET_KEY",
                "[redacted]",
                "must be at least 32 characters (openssl rand -base64 32)",
            ));
        }
        let log_level = match text(sources, "LOG_LEVEL").map(|v| v.to_ascii_uppercase()) {
            None => LogLevel::Info,
            Some(level) => match level.as_str() {
                "TRACE" => LogLevel::Trace,
                "DEBUG" => LogLevel::Debug,
                "INFO" => LogLevel::Info,
                "WARN" | "WARNING" => LogLevel::Warn,
                "ERROR" | "CRITICAL" => LogLevel::Error,
                _ => {
                    return Err(invalid(
                        "LOG_LEVEL",
                        &level,
                        "accepts TRACE, DEBUG, INFO, WARNING or ERROR",
                    ));
                }
            },
        };
        let log_format = match text(sources, "LOG_FORMAT").map(|v| v.to_ascii_lowercase()) {
            None => LogFormat::Text,
            Some(format) if format == "text" => LogFormat::Text,
            Some(format) if format == "json" => LogFormat::Json,
            Some(format) => return Err(invalid("LOG_FORMAT", &format, "accepts text or json")),
        };
        let sentry = match secret(sources, "SENTRY_DSN") {
            None => None,
            Some(dsn) => {
                if !(dsn.expose().starts_with("http://") || dsn.expose().starts_with("https://")) {
                    return Err(invalid(
                        "SENTRY_DSN",
                        "[redacted]",
                        "accepts a DSN such as https://key@o0.ingest.sentry.io/0",
                    ));
                }
                let rate_raw = text(sources, "SENTRY_TRACES_SAMPLE_RATE");
                let traces_sample_rate = match rate_raw.as_deref() {
                    None => 0.1,
                    Some(raw) => match raw.parse::<f32>() {
                        Ok(rate) if (0.0..=1.0).contains(&rate) => rate,
                        _ => {
                            return Err(invalid(
                                "SENTRY_TRACES_SAMPLE_RATE",
                                raw,
                                "accepts a number from 0 to 1",
                            ));
                        }
                    },
                };
                Some(SentrySettings {
                    dsn,
                    environment: text(sources, "SENTRY_ENVIRONMENT")
                        .unwrap_or_else(|| "production".into()),
                    traces_sample_rate,
                })
            }
        };
        let smtp = match text(sources, "SMTP_HOST") {
            None => None,
            Some(host) => Some(SmtpSettings {
                host,
                port: parse_integer(sources, "SMTP_PORT", 587, 1, 65_535)?,
                username: text(sources, "SMTP_USERNAME"),
                password: secret(sources, "SMTP_PASSWORD"),
                from: required(sources, "EMAIL_FROM", "when SMTP_HOST is set")?,
            }),
        };
        let debug_routes = parse_bool(sources, "ENTMOOT_DEBUG_ROUTES", false)?;
        if debug_routes && environment == "production" {
            return Err(invalid(
                "ENTMOOT_DEBUG_ROUTES",
                "true",
                "must be false when ENTMOOT_ENV=production",
            ));
        }
        let plugin_dirs = text(sources, "ENTMOOT_PLUGIN_DIR")
            .map(|dirs| {
                dirs.split(':')
                    .filter(|dir| !dir.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let isolation = match text(sources, "ENTMOOT_PLUGIN_ISOLATION").as_deref() {
            None | Some("sandbox") => PluginIsolation::Sandbox,
            Some("in-process") if environment == "production" => {
                return Err(invalid(
                    "ENTMOOT_PLUGIN_ISOLATION",
                    "in-process",
                    "must be sandbox when ENTMOOT_ENV=production",
                ));
            }
            Some("in-process") => PluginIsolation::InProcess,
            Some(other) => {
                return Err(invalid(
                    "ENTMOOT_PLUGIN_ISOLATION",
                    other,
                    "accepts sandbox or in-process",
                ));
            }
        };
        let plugins = PluginSettings {
            isolation,
            runner: text(sources, "ENTMOOT_PLUGIN_RUNNER")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            cache_dir: text(sources, "ENTMOOT_PLUGIN_CACHE_DIR")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            max_memory_mb: parse_integer(
                sources,
                "ENTMOOT_PLUGIN_MAX_MEMORY_MB",
                4096,
                64,
                1_048_576,
            )?,
            max_processes: parse_integer(sources, "ENTMOOT_PLUGIN_MAX_PROCESSES", 256, 8, 100_000)?,
            handshake_timeout: Duration::from_secs(parse_integer(
                sources,
                "ENTMOOT_PLUGIN_HANDSHAKE_TIMEOUT",
                10,
                1,
                600,
            )?),
        };
        Ok(Self {
            data_dir,
            database,
            redis,
            storage,
            api_port: parse_integer(sources, "API_PORT", 8000, 0, 65_535).map_err(|e| {
                ConfigError {
                    accepted: "accepts a port number from 0 to 65535".into(),
                    ..e
                }
            })?,
            api_host,
            api_workers,
            max_websockets: parse_integer(
                sources,
                "ENTMOOT_MAX_WEBSOCKETS",
                MAX_WEBSOCKETS_PER_WORKER * api_workers,
                1,
                10_000_000,
            )?,
            secret_key,
            cors_enabled: parse_bool(sources, "CORS_ENABLED", true)?,
            rate_limit_per_key: parse_integer(
                sources,
                "ENTMOOT_RATE_LIMIT_PER_KEY",
                600,
                0,
                1_000_000,
            )?,
            verified_key_lifetime: Duration::from_secs(parse_integer(
                sources,
                "ENTMOOT_VERIFIED_KEY_SECONDS",
                5,
                0,
                300,
            )?),
            rate_limit_per_address: parse_integer(
                sources,
                "ENTMOOT_RATE_LIMIT_PER_ADDRESS",
                1200,
                0,
                1_000_000,
            )?,
            trust_forwarded_headers: parse_bool(sources, "ENTMOOT_TRUST_FORWARDED_HEADERS", false)?,
            allowed_origins: text(sources, "ALLOWED_ORIGINS")
                .map(|origins| {
                    origins
                        .split(',')
                        .map(|origin| origin.trim().to_owned())
                        .filter(|origin| !origin.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            log_level,
            log_format,
            prometheus_enabled: parse_bool(sources, "PROMETHEUS_ENABLED", true)?,
            prometheus_port: match sources.get("PROMETHEUS_PORT") {
                None => None,
                // 0 picks a free port (tests); the address is logged.
                Some(_) => Some(parse_integer(sources, "PROMETHEUS_PORT", 9090, 0, 65_535)?),
            },
            sentry,
            enable_optimization: parse_bool(sources, "ENABLE_OPTIMIZATION", true)?,
            enable_geospatial_analysis: parse_bool(sources, "ENABLE_GEOSPATIAL_ANALYSIS", true)?,
            optimization_timeout: parse_seconds(sources, "OPTIMIZATION_TIMEOUT", 3600)?,
            max_file_size_mb: parse_integer(sources, "MAX_FILE_SIZE_MB", 500, 1, 1_048_576)?,
            max_concurrent_jobs: parse_integer(sources, "MAX_CONCURRENT_JOBS", 10, 1, 10_000)?,
            job_lease: parse_seconds(sources, "ENTMOOT_JOB_LEASE_SECONDS", 30)?,
            job_max_attempts: parse_integer(sources, "ENTMOOT_JOB_MAX_ATTEMPTS", 3, 1, 100)?,
            job_retry_backoff: parse_seconds(sources, "ENTMOOT_JOB_RETRY_BACKOFF_SECONDS", 2)?,
            plugin_dirs,
            plugins,
            smtp,
            environment,
            debug_routes,
            public_operations: parse_bool(sources, "ENTMOOT_PUBLIC_OPERATIONS", false)?,
        })
    }

    /// True when nothing external is configured: SQLite, in-process queue, local files.
    pub fn is_embedded_default(&self) -> bool {
        self.database.url.is_none()
            && self.redis.is_none()
            && matches!(
                self.storage,
                StorageSettings::Filesystem { .. } | StorageSettings::Memory
            )
    }

    /// Checks that hold only for a server (not for `solve` or `migrate`).
    pub fn check_for_server(&self) -> Result<(), ConfigError> {
        if self.secret_key.is_none() && !self.is_embedded_default() {
            return Err(invalid(
                "SECRET_KEY",
                "",
                "is required when DATABASE_URL, REDIS_URL or cloud storage is configured",
            ));
        }
        Ok(())
    }
}

fn parse_storage(
    sources: &Sources,
    data_dir: &std::path::Path,
) -> Result<StorageSettings, ConfigError> {
    let provider = text(sources, "STORAGE_PROVIDER")
        .unwrap_or_else(|| "local".into())
        .to_ascii_lowercase();
    let upload_prefix = text(sources, "AWS_S3_UPLOAD_PREFIX").unwrap_or_else(|| "uploads/".into());
    let export_prefix = text(sources, "AWS_S3_EXPORT_PREFIX").unwrap_or_else(|| "exports/".into());
    match provider.as_str() {
        "local" | "fs" => Ok(StorageSettings::Filesystem {
            root: data_dir.join("files"),
        }),
        "memory" => Ok(StorageSettings::Memory),
        "aws" | "s3" => Ok(StorageSettings::S3 {
            bucket: required(sources, "AWS_S3_BUCKET", "when STORAGE_PROVIDER=aws")?,
            region: text(sources, "AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            endpoint: text(sources, "AWS_ENDPOINT_URL"),
            access_key_id: secret(sources, "AWS_ACCESS_KEY_ID"),
            secret_access_key: secret(sources, "AWS_SECRET_ACCESS_KEY"),
            upload_prefix,
            export_prefix,
        }),
        "gcp" | "gcs" => Ok(StorageSettings::Gcs {
            bucket: required(sources, "GCP_BUCKET_NAME", "when STORAGE_PROVIDER=gcp")?,
            credentials_path: text(sources, "GCP_CREDENTIALS_PATH").map(PathBuf::from),
            project_id: text(sources, "GCP_PROJECT_ID"),
            endpoint: text(sources, "STORAGE_EMULATOR_HOST"),
        }),
        "azure" | "azblob" => Ok(StorageSettings::AzureBlob {
            account_name: required(
                sources,
                "AZURE_STORAGE_ACCOUNT_NAME",
                "when STORAGE_PROVIDER=azure",
            )?,
            account_key: secret(sources, "AZURE_STORAGE_ACCOUNT_KEY"),
            container: text(sources, "AZURE_CONTAINER_NAME").unwrap_or_else(|| "files".into()),
            endpoint: text(sources, "AZURE_STORAGE_ENDPOINT"),
        }),
        _ => Err(invalid(
            "STORAGE_PROVIDER",
            &provider,
            "accepts local, memory, aws, gcp or azure",
        )),
    }
}

/// Hides the password of a URL so that it can be logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_sources(&Sources::new(
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        ))
    }

    #[test]
    fn no_configuration_is_the_embedded_default() {
        let settings = settings(&[]).expect("defaults are valid");
        assert!(settings.is_embedded_default());
        assert_eq!(settings.api_port, 8000);
        assert_eq!(settings.api_host, "127.0.0.1");
        assert_eq!(settings.storage.provider_name(), "fs");
        assert_eq!(settings.log_level, LogLevel::Info);
    }

    #[test]
    fn a_wrong_value_names_the_variable_and_what_it_accepts() {
        let error = settings(&[("API_PORT", "notaport")]).expect_err("must fail");
        assert_eq!(error.variable, "API_PORT");
        assert_eq!(
            error.to_string(),
            "API_PORT=\"notaport\" is invalid: accepts a port number from 0 to 65535"
        );
        let error = settings(&[("STORAGE_PROVIDER", "dropbox")]).expect_err("must fail");
        assert_eq!(error.variable, "STORAGE_PROVIDER");
        let error = settings(&[("DATABASE_URL", "mysql://u:pw@h/db")]).expect_err("must fail");
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(!error.to_string().contains("pw"), "{error}");
        let error = settings(&[
            ("SENTRY_DSN", "https://k@s/1"),
            ("SENTRY_TRACES_SAMPLE_RATE", "2"),
        ])
        .expect_err("must fail");
        assert_eq!(error.variable, "SENTRY_TRACES_SAMPLE_RATE");
        let error = settings(&[("STORAGE_PROVIDER", "aws")]).expect_err("bucket is required");
        assert_eq!(error.variable, "AWS_S3_BUCKET");
    }

    #[test]
    fn flags_override_the_environment() {
        let mut sources = Sources::new([("API_PORT".to_string(), "9000".to_string())]);
        sources.override_with("API_PORT", Some("9100".into()));
        assert_eq!(
            Settings::from_sources(&sources).map(|s| s.api_port),
            Ok(9100)
        );
    }

    #[test]
    fn secrets_are_not_printed() {
        let settings = settings(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/entmoot"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef-secret"),
        ])
        .expect("valid");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("abcdef-secret"), "{debug}");
        assert_eq!(
            redact_url("postgres://u:hunter2@db/x"),
            "postgres://u:***@db/x"
        );
    }

    #[test]
    fn secret_key_is_required_outside_the_embedded_default() {
        let settings = settings(&[("REDIS_URL", "redis://127.0.0.1:6379")]).expect("valid");
        assert_eq!(
            settings.check_for_server().map_err(|e| e.variable),
            Err("SECRET_KEY")
        );
    }
}

#[cfg(test)]
mod example_files {
    use super::VARIABLES;

    #[test]
    fn example_env_files_list_every_variable_with_a_comment() {
        for (name, text) in [
            (
                ".env.production.example",
                include_str!("../../.env.production.example"),
            ),
            (
                ".env.staging.example",
                include_str!("../../.env.staging.example"),
            ),
        ] {
            let lines: Vec<&str> = text.lines().collect();
            for (variable, _) in VARIABLES {
                let position = lines
                    .iter()
                    .position(|line| line.starts_with(&format!("{variable}=")))
                    .unwrap_or_else(|| panic!("{name} does not list {variable}"));
                assert!(
                    position > 0 && lines[position - 1].starts_with('#'),
                    "{name}: {variable} has no comment above it"
                );
            }
        }
    }
}

/// Prefixes of the variables this program reads; a variable with one of them that is
/// not in `VARIABLES` is most likely a typo.
const KNOWN_PREFIXES: &[&str] = &[
    "DATABASE_",
    "REDIS_",
    "STORAGE_",
    "API_",
    "SENTRY_",
    "SMTP_",
    "PROMETHEUS_",
    "AWS_S3_",
    "AZURE_STORAGE_",
    "GCP_",
    "ENABLE_",
];

/// Names of environment variables that look like ours but are not read, for a warning.
pub fn unrecognised_variables(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut unknown: Vec<String> = names
        .into_iter()
        .filter(|name| KNOWN_PREFIXES.iter().any(|prefix| name.starts_with(prefix)))
        .filter(|name| !VARIABLES.iter().any(|(known, _)| known == name))
        .collect();
    unknown.sort();
    unknown
}

#[cfg(test)]
mod unrecognised {
    #[test]
    fn typos_of_our_variables_are_reported() {
        let names = [
            "DATABASE_URL",
            "DATABSE_URL",
            "DATABASE_POOLSIZE",
            "HOME",
            "REDIS_URL",
        ]
        .map(String::from);
        assert_eq!(
            super::unrecognised_variables(names),
            vec!["DATABASE_POOLSIZE"]
        );
    }
}
