//! Connecting to the database (embedded SQLite or PostgreSQL) and migrating it.

use std::time::Duration;

use entmoot_migrations::Migrator;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::config::{DatabaseSettings, Settings, redact_url};

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("DATABASE_URL {url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    #[error("ENTMOOT_DATA_DIR {path}: cannot create the data directory: {reason}")]
    DataDirectory { path: String, reason: String },
    #[error("database migration failed: {0}")]
    Migration(DbErr),
    #[error(
        "the database at {url} has {pending} pending migration(s); run `entmoot migrate up` first"
    )]
    PendingMigrations { url: String, pending: usize },
}

/// The URL actually used: DATABASE_URL, or SQLite in the data directory.
pub fn database_url(settings: &Settings) -> String {
    match &settings.database.url {
        Some(url) => url.expose().to_owned(),
        None => format!(
            "sqlite://{}?mode=rwc",
            settings.data_dir.join("entmoot.db").display()
        ),
    }
}

pub fn backend_description(settings: &Settings) -> String {
    match &settings.database.url {
        // DATABASE_URL may name a SQLite file too (`sqlite://…`).
        Some(url) if url.expose().starts_with("sqlite:") => {
            format!("sqlite ({})", redact_url(url.expose()))
        }
        Some(url) => format!("postgresql ({})", redact_url(url.expose())),
        None => format!(
            "sqlite ({})",
            settings.data_dir.join("entmoot.db").display()
        ),
    }
}

pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DatabaseError> {
    if settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.data_dir).map_err(|error| {
            DatabaseError::DataDirectory {
                path: settings.data_dir.display().to_string(),
                reason: error.to_string(),
            }
        })?;
    }
    let url = database_url(settings);
    let options = connect_options(&url, &settings.database);
    let mut connection =
        Database::connect(options)
            .await
            .map_err(|error| DatabaseError::Connect {
                url: redact_url(&url),
                reason: first_line(&error.to_string()),
            })?;
    // Statement latency and errors for /metrics (a no-op before the registry exists).
    crate::metrics_registry::instrument_database(&mut connection);
    Ok(connection)
}

fn connect_options(url: &str, database: &DatabaseSettings) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    // sqlx has no overflow: the pool may grow to size + overflow and shrinks back to
    // `pool_size` idle connections at most (idle_timeout closes the rest).
    options
        .max_connections(database.pool_size + database.max_overflow)
        .min_connections(1)
        .acquire_timeout(database.pool_timeout)
        .connect_timeout(database.pool_timeout.min(Duration::from_secs(10)))
        .max_lifetime(database.pool_recycle)
        .idle_timeout(Duration::from_secs(600))
        .sqlx_logging(false);
    options
}

pub fn is_sqlite(database: &DatabaseConnection) -> bool {
    database.get_database_backend() == DbBackend::Sqlite
}

/// Brings the schema up to date. The embedded default does this at every start.
pub async fn migrate_up(database: &DatabaseConnection) -> Result<(), DatabaseError> {
    Migrator::up(database, None)
        .await
        .map_err(DatabaseError::Migration)
}

/// Refuses to serve a database whose schema is behind this binary.
pub async fn ensure_migrated(
    database: &DatabaseConnection,
    settings: &Settings,
) -> Result<(), DatabaseError> {
    let pending = Migrator::get_pending_migrations(database)
        .await
        .map_err(DatabaseError::Migration)?
        .len();
    if pending > 0 {
        return Err(DatabaseError::PendingMigrations {
            url: redact_url(&database_url(settings)),
            pending,
        });
    }
    Ok(())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
