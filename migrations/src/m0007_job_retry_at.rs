//! Adds `jobs.retry_at`: the earliest time a job queued again after a transient failure
//! may run. Without it, recovery saw such a job queued but absent from the queue and
//! dispatched it at once, which cut the retry backoff short.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    RetryAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(timestamp_with_time_zone_null(Jobs::RetryAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .drop_column(Jobs::RetryAt)
                    .to_owned(),
            )
            .await
    }
}
