//! Telemetry set up once at start: logs (human-readable text by default, JSON lines
//! with LOG_FORMAT=json, level from LOG_LEVEL) and Sentry (SENTRY_DSN,
//! SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE).
//!
//! Sentry is initialised before the async runtime starts (`init_sentry` in `main`),
//! so that its panic hook and transport thread exist before any request. With a DSN:
//! panics are captured with the request they happened in (the request id is the
//! `request_id` tag, see `http::request_id`), 5xx responses are captured by
//! `http::request_id` within `sentry_actix`'s per-request hub, `ERROR` log events
//! (other than the request log's) become Sentry events and
//! `INFO`/`WARN` events become breadcrumbs.

use std::str::FromStr;
use std::time::Duration;

use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::config::{LogFormat, Settings};

/// Log events of this target are reported to Sentry explicitly (with the request
/// they belong to), so the tracing integration keeps them as breadcrumbs only.
pub const REPORTED_TARGET: &str = "entmoot::http::request_id";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("SENTRY_DSN=[redacted] is invalid: {0}")]
    Dsn(String),
}

/// Starts the Sentry client when SENTRY_DSN is set. Keep the guard alive until the
/// process ends: dropping it flushes queued events (for up to two seconds).
pub fn init_sentry(settings: &Settings) -> Result<Option<sentry::ClientInitGuard>, TelemetryError> {
    let Some(sentry_settings) = &settings.sentry else {
        return Ok(None);
    };
    let dsn = sentry::types::Dsn::from_str(sentry_settings.dsn.expose())
        .map_err(|error| TelemetryError::Dsn(error.to_string()))?;
    // Sentry's HTTP client is built on rustls without a compiled-in crypto provider: it
    // takes the process default, ring, which `main` installs before anything else.
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = sentry::release_name!();
    options.environment = Some(sentry_settings.environment.clone().into());
    // The configuration accepts only rates in [0, 1].
    options.traces_sampling_strategy =
        sentry::TracesSamplingStrategy::FixedRate(sentry_settings.traces_sample_rate);
    options.send_default_pii = false;
    options.attach_stacktrace = true;
    options.shutdown_timeout = Duration::from_secs(2);
    let guard = sentry::init(options);
    sentry::configure_scope(|scope| {
        scope.set_tag("entmoot.environment", &settings.environment);
    });
    Ok(Some(guard))
}

fn breadcrumb_filter(metadata: &Metadata<'_>) -> bool {
    matches!(*metadata.level(), Level::WARN | Level::INFO) || is_reported_error(metadata)
}

fn is_reported_error(metadata: &Metadata<'_>) -> bool {
    *metadata.level() == Level::ERROR && metadata.target() == REPORTED_TARGET
}

fn error_filter(metadata: &Metadata<'_>) -> bool {
    metadata.is_event() && *metadata.level() == Level::ERROR && !is_reported_error(metadata)
}

pub fn init_logging(settings: &Settings) {
    // RUST_LOG, when set, refines LOG_LEVEL for debugging a single module.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},sqlx=warn,sea_orm=warn",
            settings.log_level.as_filter()
        ))
    });
    let text = (settings.log_format == LogFormat::Text).then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    });
    // One JSON object per line: the event's fields at the top level (`request_id` on
    // request lines), the innermost span's fields under `span`.
    let json = (settings.log_format == LogFormat::Json).then(|| {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
    });
    let sentry = settings.sentry.is_some().then(|| {
        BreadcrumbLayer::new()
            .with_filter(filter_fn(breadcrumb_filter))
            .and_then(ErrorLayer::new().with_filter(filter_fn(error_filter)))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(sentry)
        .init();
}
