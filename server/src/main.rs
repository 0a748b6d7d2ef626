//! The `entmoot` binary: parses the command line and configuration, then runs one
//! subcommand. Errors end here as one line on stderr and a non-zero exit code.

mod adapters;
mod cli;
mod commands;
mod config;
mod http;
mod metrics_registry;
mod runtime;
mod telemetry;
mod worker;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{Settings, Sources};

/// Exit code for a configuration error (wrong variable or flag value).
const EXIT_CONFIG: u8 = 2;
/// Exit code for any other failure.
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    // One rustls crypto provider for every TLS client of the process (object storage,
    // Sentry, SMTP, PostgreSQL, Redis): ring. Clients built without a provider of their own
    // take this default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let settings = match load_settings(&cli) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("entmoot: error: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Sentry first, before the runtime and any thread, so its panic hook sees them all.
    let _sentry = match telemetry::init_sentry(&settings) {
        Ok(guard) => guard,
        Err(message) => {
            eprintln!("entmoot: error: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init_logging(&settings);
    for name in config::unrecognised_variables(std::env::vars().map(|(name, _)| name)) {
        tracing::warn!(variable = %name, "environment variable is not one Entmoot reads; is it a typo?");
    }
    let result = actix_web::rt::System::new().block_on(run(cli.command, settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("entmoot: error: {}", chain.join(": "));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn load_settings(cli: &Cli) -> Result<Settings, String> {
    match &cli.env_file {
        Some(path) => dotenvy::from_path(path)
            .map_err(|error| format!("--env-file {}: {error}", path.display()))?,
        None => match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(format!(".env: {error}")),
        },
    }
    let mut sources = Sources::new(std::env::vars());
    for (variable, value) in cli.overrides.as_overrides() {
        sources.override_with(variable, value);
    }
    Settings::from_sources(&sources).map_err(|error| error.to_string())
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { no_worker } => commands::serve::run(settings, !no_worker).await,
        Command::Worker => commands::worker::run(settings).await,
        Command::Migrate { action } => commands::migrate::run(settings, action).await,
        Command::Plugins { action } => commands::plugins::run(settings, action),
        Command::Solve(args) => commands::solve::run(settings, args).await,
        Command::Export(args) => commands::export::run(settings, args).await,
        Command::Import(args) => commands::import::run(args),
        Command::Storage { action } => match action {
            cli::StorageAction::Check { keep } => commands::storage::check(settings, keep).await,
            cli::StorageAction::Delete { key } => commands::storage::delete(settings, &key).await,
        },
        Command::Admin { action } => commands::admin::run(settings, action).await,
        Command::GraphqlSchema { check } => commands::graphql_schema::run(check),
    }
}
