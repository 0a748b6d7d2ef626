//! `memberships`: a person may belong to several organizations, with a role in each
//! (backfilled from `users.organization_id` and `users.role`); `account_tokens`:
//! single-use invitation and password-reset tokens, stored hashed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{drop_table, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    UserId,
    OrganizationId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    Id,
    OrganizationId,
    Email,
    Role,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
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
                    .table(Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::UserId))
                    .col(uuid(Memberships::OrganizationId))
                    .col(text(Memberships::Role))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("memberships_user_id_fkey")
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("memberships_organization_id_fkey")
                            .from(Memberships::Table, Memberships::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "memberships_user_id_organization_id_key",
                    Memberships::Table,
                    [Memberships::UserId, Memberships::OrganizationId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO memberships (id, user_id, organization_id, role, created_at) \
                 SELECT id, id, organization_id, role, created_at FROM users",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccountTokens::Table)
                    .col(pk_uuid(AccountTokens::Id))
                    .col(uuid(AccountTokens::OrganizationId))
                    .col(text(AccountTokens::Email))
                    .col(text(AccountTokens::Role))
                    .col(text(AccountTokens::Purpose))
                    .col(text(AccountTokens::TokenHash))
                    .col(timestamp_with_time_zone(AccountTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountTokens::UsedAt))
                    .col(timestamp_with_time_zone(AccountTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("account_tokens_organization_id_fkey")
                            .from(AccountTokens::Table, AccountTokens::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "account_tokens_token_hash_key",
                    AccountTokens::Table,
                    [AccountTokens::TokenHash],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, AccountTokens::Table).await?;
        drop_table(manager, Memberships::Table).await
    }
}
