//! Adds `jobs.event_sequence`: a per-job counter raised by every change a subscriber
//! sees (each status transition, each stored progress step), so that events that
//! arrive late, twice or out of order can be told apart. `jobs.status` keeps its
//! stored text (`queued`, `running`, …): the typed status of the entity reads it as is.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE \"jobs\" ADD COLUMN \"event_sequence\" bigint NOT NULL DEFAULT 0",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE \"jobs\" DROP COLUMN \"event_sequence\"")
            .await?;
        Ok(())
    }
}
