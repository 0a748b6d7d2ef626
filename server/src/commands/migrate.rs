//! `entmoot migrate up|down|status`.

use entmoot_migrations::Migrator;
use sea_orm_migration::MigratorTrait;

use crate::adapters::database;
use crate::cli::MigrateAction;
use crate::config::Settings;

pub async fn run(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let connection = database::connect(&settings).await?;
    tracing::info!(database = %database::backend_description(&settings), "migrating");
    match action {
        MigrateAction::Up => {
            Migrator::up(&connection, None).await?;
            println!("all migrations applied");
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&connection, Some(steps)).await?;
            println!("reverted {steps} migration(s)");
        }
        MigrateAction::Status => {
            let applied: Vec<String> = Migrator::get_applied_migrations(&connection)
                .await?
                .iter()
                .map(|migration| migration.name().to_owned())
                .collect();
            for migration in Migrator::migrations() {
                let name = migration.name().to_owned();
                let state = if applied.contains(&name) {
                    "applied"
                } else {
                    "pending"
                };
                println!("{state:8} {name}");
            }
        }
    }
    Ok(())
}
