//! `audit_log`: one row per GraphQL mutation (who, what, when, and whether it
//! succeeded), written by the API after the mutation ran.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{drop_table, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrganizationId,
    ApiKeyId,
    UserId,
    Action,
    Succeeded,
    RequestId,
    ClientAddress,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    // No foreign keys: the trail outlives the keys and users it names.
                    .col(uuid(AuditLog::OrganizationId))
                    .col(uuid_null(AuditLog::ApiKeyId))
                    .col(uuid_null(AuditLog::UserId))
                    .col(text(AuditLog::Action))
                    .col(boolean(AuditLog::Succeeded))
                    .col(text_null(AuditLog::RequestId))
                    .col(text_null(AuditLog::ClientAddress))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "audit_log_organization_id_at_idx",
                    AuditLog::Table,
                    [AuditLog::OrganizationId, AuditLog::At],
                )
                .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, AuditLog::Table).await
    }
}
