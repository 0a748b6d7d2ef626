//! Projects, files, sites and exclusion zones (PostGIS `geom` columns on PostgreSQL).
//!
//! `files` is created here, before `sites`, because `sites.terrain_file_id` references it
//! and SQLite cannot add a foreign key to an existing table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::common::{add_geometry, drop_table, index};
use crate::m0001_organizations_users_keys::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Projects {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    OrganizationId,
    ProjectId,
    Kind,
    Filename,
    ContentType,
    SizeBytes,
    StorageKey,
    Sha256,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Sites {
    Table,
    Id,
    OrganizationId,
    ProjectId,
    Name,
    BoundaryWkb,
    MinX,
    MinY,
    MaxX,
    MaxY,
    AreaM2,
    SetbackM,
    Constraints,
    Entrances,
    TerrainFileId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ExclusionZones {
    Table,
    Id,
    OrganizationId,
    SiteId,
    Name,
    Kind,
    BufferM,
    Wkb,
    MinX,
    MinY,
    MaxX,
    MaxY,
    CreatedAt,
}

fn org_fk<T: IntoIden + 'static, C: IntoIden + 'static>(
    name: &str,
    table: T,
    col: C,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
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
                    .table(Projects::Table)
                    .col(pk_uuid(Projects::Id))
                    .col(uuid(Projects::OrganizationId))
                    .col(text(Projects::Name))
                    .col(text_null(Projects::Description))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .col(timestamp_with_time_zone(Projects::UpdatedAt))
                    .foreign_key(&mut org_fk(
                        "projects_organization_id_fkey",
                        Projects::Table,
                        Projects::OrganizationId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "projects_organization_id_created_at_idx",
                Projects::Table,
                [Projects::OrganizationId, Projects::CreatedAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(pk_uuid(Files::Id))
                    .col(uuid(Files::OrganizationId))
                    .col(uuid_null(Files::ProjectId))
                    .col(text(Files::Kind))
                    .col(text(Files::Filename))
                    .col(text(Files::ContentType))
                    .col(big_integer(Files::SizeBytes))
                    .col(text(Files::StorageKey))
                    .col(text(Files::Sha256))
                    .col(timestamp_with_time_zone_null(Files::ExpiresAt))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .foreign_key(&mut org_fk(
                        "files_organization_id_fkey",
                        Files::Table,
                        Files::OrganizationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("files_project_id_fkey")
                            .from(Files::Table, Files::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("files_storage_key_key", Files::Table, [Files::StorageKey])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "files_organization_id_idx",
                Files::Table,
                [Files::OrganizationId],
            ))
            .await?;
        manager
            .create_index(index(
                "files_project_id_idx",
                Files::Table,
                [Files::ProjectId],
            ))
            .await?;
        manager
            .create_index(index(
                "files_expires_at_idx",
                Files::Table,
                [Files::ExpiresAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sites::Table)
                    .col(pk_uuid(Sites::Id))
                    .col(uuid(Sites::OrganizationId))
                    .col(uuid(Sites::ProjectId))
                    .col(text(Sites::Name))
                    .col(blob(Sites::BoundaryWkb))
                    .col(double(Sites::MinX))
                    .col(double(Sites::MinY))
                    .col(double(Sites::MaxX))
                    .col(double(Sites::MaxY))
                    .col(double(Sites::AreaM2))
                    .col(double(Sites::SetbackM))
                    .col(json_binary(Sites::Constraints))
                    .col(json_binary(Sites::Entrances))
                    .col(uuid_null(Sites::TerrainFileId))
                    .col(timestamp_with_time_zone(Sites::CreatedAt))
                    .col(timestamp_with_time_zone(Sites::UpdatedAt))
                    .foreign_key(&mut org_fk(
                        "sites_organization_id_fkey",
                        Sites::Table,
                        Sites::OrganizationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("sites_project_id_fkey")
                            .from(Sites::Table, Sites::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("sites_terrain_file_id_fkey")
                            .from(Sites::Table, Sites::TerrainFileId)
                            .to(Files::Table, Files::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "sites_project_id_idx",
                Sites::Table,
                [Sites::ProjectId],
            ))
            .await?;
        manager
            .create_index(index(
                "sites_organization_id_idx",
                Sites::Table,
                [Sites::OrganizationId],
            ))
            .await?;
        manager
            .create_index(index(
                "sites_terrain_file_id_idx",
                Sites::Table,
                [Sites::TerrainFileId],
            ))
            .await?;
        add_geometry(
            manager,
            "sites",
            "boundary_wkb",
            "MultiPolygon",
            Some("ST_Multi"),
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExclusionZones::Table)
                    .col(pk_uuid(ExclusionZones::Id))
                    .col(uuid(ExclusionZones::OrganizationId))
                    .col(uuid(ExclusionZones::SiteId))
                    .col(text_null(ExclusionZones::Name))
                    .col(text(ExclusionZones::Kind))
                    .col(double(ExclusionZones::BufferM).default(0.0))
                    .col(blob(ExclusionZones::Wkb))
                    .col(double(ExclusionZones::MinX))
                    .col(double(ExclusionZones::MinY))
                    .col(double(ExclusionZones::MaxX))
                    .col(double(ExclusionZones::MaxY))
                    .col(timestamp_with_time_zone(ExclusionZones::CreatedAt))
                    .foreign_key(&mut org_fk(
                        "exclusion_zones_organization_id_fkey",
                        ExclusionZones::Table,
                        ExclusionZones::OrganizationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("exclusion_zones_site_id_fkey")
                            .from(ExclusionZones::Table, ExclusionZones::SiteId)
                            .to(Sites::Table, Sites::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "exclusion_zones_site_id_idx",
                ExclusionZones::Table,
                [ExclusionZones::SiteId],
            ))
            .await?;
        add_geometry(manager, "exclusion_zones", "wkb", "Geometry", None).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, ExclusionZones::Table).await?;
        drop_table(manager, Sites::Table).await?;
        drop_table(manager, Files::Table).await?;
        drop_table(manager, Projects::Table).await
    }
}
