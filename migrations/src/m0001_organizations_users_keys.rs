//! Organizations, users and API keys; enables PostGIS on PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{drop_table, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    OrganizationId,
    Email,
    DisplayName,
    Role,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    UserId,
    Name,
    Prefix,
    KeyHash,
    Scopes,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("CREATE EXTENSION IF NOT EXISTS postgis")
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(text(Organizations::Name))
                    .col(text(Organizations::Slug))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "organizations_slug_key",
                    Organizations::Table,
                    [Organizations::Slug],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(uuid(Users::OrganizationId))
                    .col(text(Users::Email))
                    .col(text(Users::DisplayName))
                    .col(text(Users::Role).default("viewer"))
                    .col(text_null(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("users_organization_id_fkey")
                            .from(Users::Table, Users::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("users_email_key", Users::Table, [Users::Email])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "users_organization_id_idx",
                Users::Table,
                [Users::OrganizationId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::OrganizationId))
                    .col(uuid_null(ApiKeys::UserId))
                    .col(text(ApiKeys::Name))
                    .col(text(ApiKeys::Prefix))
                    .col(text(ApiKeys::KeyHash))
                    .col(json_binary(ApiKeys::Scopes))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("api_keys_organization_id_fkey")
                            .from(ApiKeys::Table, ApiKeys::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("api_keys_user_id_fkey")
                            .from(ApiKeys::Table, ApiKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("api_keys_prefix_key", ApiKeys::Table, [ApiKeys::Prefix])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "api_keys_organization_id_idx",
                ApiKeys::Table,
                [ApiKeys::OrganizationId],
            ))
            .await?;
        manager
            .create_index(index(
                "api_keys_user_id_idx",
                ApiKeys::Table,
                [ApiKeys::UserId],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The postgis extension is left installed: it is database-wide, may be used by
        // other schemas, and `CREATE EXTENSION IF NOT EXISTS` makes `up` idempotent.
        drop_table(manager, ApiKeys::Table).await?;
        drop_table(manager, Users::Table).await?;
        drop_table(manager, Organizations::Table).await
    }
}
