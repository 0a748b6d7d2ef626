//! Logging: human-readable text by default, JSON lines with LOG_FORMAT=json.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

pub fn init_logging(settings: &Settings) {
    // RUST_LOG, when set, refines LOG_LEVEL for debugging a single module.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},sqlx=warn,sea_orm=warn",
            settings.log_level.as_filter()
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match settings.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
