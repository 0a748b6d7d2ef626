//! Saved edits and re-optimization from them. `layouts.edited_from_id`: a layout saved
//! from a person's edits of another (`saveLayoutEdits`) points at the one it was edited
//! from; it keeps its origin's job and rank 0, so `(job_id, rank)` stays unique only
//! among the layouts a job itself produced. `jobs.seed_layout_id` and
//! `jobs.pinned_assets`: a job seeded from a layout keeps a copy of the assets it must
//! leave where they are, so that a retry solves the same problem even if the layout is
//! deleted meanwhile.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Layouts {
    Table,
    EditedFromId,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    SeedLayoutId,
    PinnedAssets,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: SQLite cannot add one to an existing table. Deleting a job
        // or site cascades to all of its layouts, edited ones included.
        manager
            .alter_table(
                Table::alter()
                    .table(Layouts::Table)
                    .add_column(uuid_null(Layouts::EditedFromId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(uuid_null(Jobs::SeedLayoutId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(json_binary_null(Jobs::PinnedAssets))
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        connection
            .execute_unprepared("DROP INDEX \"layouts_job_id_rank_key\"")
            .await?;
        connection
            .execute_unprepared(
                "CREATE UNIQUE INDEX \"layouts_job_id_rank_produced_key\" ON \"layouts\" (\"job_id\", \"rank\") \
                 WHERE \"edited_from_id\" IS NULL",
            )
            .await?;
        // `Site.latestLayout` reads the newest rank-0 layout per site.
        connection
            .execute_unprepared(
                "CREATE INDEX \"layouts_site_id_rank_created_at_idx\" ON \"layouts\" \
                 (\"site_id\", \"rank\", \"created_at\")",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection
            .execute_unprepared("DELETE FROM \"layouts\" WHERE \"edited_from_id\" IS NOT NULL")
            .await?;
        connection
            .execute_unprepared("DROP INDEX \"layouts_site_id_rank_created_at_idx\"")
            .await?;
        connection
            .execute_unprepared("DROP INDEX \"layouts_job_id_rank_produced_key\"")
            .await?;
        connection
            .execute_unprepared(
                "CREATE UNIQUE INDEX \"layouts_job_id_rank_key\" ON \"layouts\" (\"job_id\", \"rank\")",
            )
            .await?;
        for (table, column) in [
            ("layouts", "edited_from_id"),
            ("jobs", "seed_layout_id"),
            ("jobs", "pinned_assets"),
        ] {
            connection
                .execute_unprepared(&format!("ALTER TABLE \"{table}\" DROP COLUMN \"{column}\""))
                .await?;
        }
        Ok(())
    }
}
