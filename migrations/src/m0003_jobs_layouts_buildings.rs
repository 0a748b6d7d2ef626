//! Jobs, layouts and buildings (PostGIS `buildings.geom` on PostgreSQL).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{add_geometry, drop_table, index};
use crate::m0001_organizations_users_keys::Organizations;
use crate::m0002_projects_files_sites::{Projects, Sites};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    OrganizationId,
    ProjectId,
    SiteId,
    Strategy,
    StrategyVersion,
    Program,
    Parameters,
    ObjectiveWeights,
    Alternatives,
    Seed,
    TimeLimitS,
    Status,
    Stage,
    Progress,
    BestObjective,
    Attempts,
    MaxAttempts,
    WorkerId,
    LeaseExpiresAt,
    HeartbeatAt,
    Error,
    CancelRequested,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Layouts {
    Table,
    Id,
    OrganizationId,
    JobId,
    SiteId,
    Rank,
    RequestedCount,
    PlacedCount,
    Metrics,
    Cost,
    Earthwork,
    Layout,
    Geojson,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Buildings {
    Table,
    Id,
    OrganizationId,
    LayoutId,
    AssetId,
    Name,
    AssetType,
    WidthM,
    LengthM,
    RotationDeg,
    Wkb,
    MinX,
    MinY,
    MaxX,
    MaxY,
    CreatedAt,
}

fn fk<F: IntoIden + 'static, T: IntoIden + 'static>(
    name: &str,
    from: (F, F),
    to: (T, T),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::Cascade;

        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_uuid(Jobs::Id))
                    .col(uuid(Jobs::OrganizationId))
                    .col(uuid(Jobs::ProjectId))
                    .col(uuid(Jobs::SiteId))
                    .col(text(Jobs::Strategy))
                    .col(text_null(Jobs::StrategyVersion))
                    .col(json_binary(Jobs::Program))
                    .col(json_binary(Jobs::Parameters))
                    .col(json_binary(Jobs::ObjectiveWeights))
                    .col(integer(Jobs::Alternatives).default(1))
                    .col(big_integer_null(Jobs::Seed))
                    .col(integer_null(Jobs::TimeLimitS))
                    .col(text(Jobs::Status).default("queued"))
                    .col(text_null(Jobs::Stage))
                    .col(double(Jobs::Progress).default(0.0))
                    .col(double_null(Jobs::BestObjective))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(integer(Jobs::MaxAttempts).default(3))
                    .col(text_null(Jobs::WorkerId))
                    .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
                    .col(timestamp_with_time_zone_null(Jobs::HeartbeatAt))
                    .col(text_null(Jobs::Error))
                    .col(boolean(Jobs::CancelRequested).default(false))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::StartedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .foreign_key(&mut fk(
                        "jobs_organization_id_fkey",
                        (Jobs::Table, Jobs::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "jobs_project_id_fkey",
                        (Jobs::Table, Jobs::ProjectId),
                        (Projects::Table, Projects::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "jobs_site_id_fkey",
                        (Jobs::Table, Jobs::SiteId),
                        (Sites::Table, Sites::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "jobs_status_created_at_idx",
                Jobs::Table,
                [Jobs::Status, Jobs::CreatedAt],
            ))
            .await?;
        manager
            .create_index(index(
                "jobs_organization_id_project_id_idx",
                Jobs::Table,
                [Jobs::OrganizationId, Jobs::ProjectId],
            ))
            .await?;
        manager
            .create_index(index("jobs_site_id_idx", Jobs::Table, [Jobs::SiteId]))
            .await?;
        manager
            .create_index(index("jobs_project_id_idx", Jobs::Table, [Jobs::ProjectId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Layouts::Table)
                    .col(pk_uuid(Layouts::Id))
                    .col(uuid(Layouts::OrganizationId))
                    .col(uuid(Layouts::JobId))
                    .col(uuid(Layouts::SiteId))
                    .col(integer(Layouts::Rank))
                    .col(integer(Layouts::RequestedCount))
                    .col(integer(Layouts::PlacedCount))
                    .col(json_binary(Layouts::Metrics))
                    .col(json_binary(Layouts::Cost))
                    .col(json_binary(Layouts::Earthwork))
                    .col(json_binary(Layouts::Layout))
                    .col(json_binary(Layouts::Geojson))
                    .col(timestamp_with_time_zone(Layouts::CreatedAt))
                    .foreign_key(&mut fk(
                        "layouts_organization_id_fkey",
                        (Layouts::Table, Layouts::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "layouts_job_id_fkey",
                        (Layouts::Table, Layouts::JobId),
                        (Jobs::Table, Jobs::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "layouts_site_id_fkey",
                        (Layouts::Table, Layouts::SiteId),
                        (Sites::Table, Sites::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "layouts_job_id_rank_key",
                    Layouts::Table,
                    [Layouts::JobId, Layouts::Rank],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "layouts_site_id_idx",
                Layouts::Table,
                [Layouts::SiteId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Buildings::Table)
                    .col(pk_uuid(Buildings::Id))
                    .col(uuid(Buildings::OrganizationId))
                    .col(uuid(Buildings::LayoutId))
                    .col(text(Buildings::AssetId))
                    .col(text(Buildings::Name))
                    .col(text(Buildings::AssetType))
                    .col(double(Buildings::WidthM))
                    .col(double(Buildings::LengthM))
                    .col(double(Buildings::RotationDeg))
                    .col(blob(Buildings::Wkb))
                    .col(double(Buildings::MinX))
                    .col(double(Buildings::MinY))
                    .col(double(Buildings::MaxX))
                    .col(double(Buildings::MaxY))
                    .col(timestamp_with_time_zone(Buildings::CreatedAt))
                    .foreign_key(&mut fk(
                        "buildings_organization_id_fkey",
                        (Buildings::Table, Buildings::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "buildings_layout_id_fkey",
                        (Buildings::Table, Buildings::LayoutId),
                        (Layouts::Table, Layouts::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "buildings_layout_id_idx",
                Buildings::Table,
                [Buildings::LayoutId],
            ))
            .await?;
        add_geometry(manager, "buildings", "wkb", "Polygon", None).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Buildings::Table).await?;
        drop_table(manager, Layouts::Table).await?;
        drop_table(manager, Jobs::Table).await
    }
}
