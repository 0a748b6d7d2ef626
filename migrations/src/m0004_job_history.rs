//! Adds `jobs.history`: one entry per attempt (worker, start, end, outcome, error), so a
//! dead-lettered job keeps the story of how it failed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "ALTER TABLE \"jobs\" ADD COLUMN \"history\" jsonb NOT NULL DEFAULT '[]'::jsonb"
            }
            _ => "ALTER TABLE \"jobs\" ADD COLUMN \"history\" json_text NOT NULL DEFAULT '[]'",
        };
        manager.get_connection().execute_unprepared(sql).await?;
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX \"jobs_status_lease_expires_at_idx\" ON \"jobs\" (\"status\", \"lease_expires_at\")")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection
            .execute_unprepared("DROP INDEX \"jobs_status_lease_expires_at_idx\"")
            .await?;
        connection
            .execute_unprepared("ALTER TABLE \"jobs\" DROP COLUMN \"history\"")
            .await?;
        Ok(())
    }
}
