//! `sites`: a parcel. The boundary is WKB (Polygon or MultiPolygon, WGS84) plus its bbox.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    /// Boundary as WKB (Polygon or MultiPolygon, WGS84 lon/lat). On PostgreSQL the
    /// generated column `geom geometry(MultiPolygon,4326)` is `ST_Multi` of it.
    #[sea_orm(column_type = "Blob")]
    pub boundary_wkb: Vec<u8>,
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
    pub area_m2: f64,
    pub setback_m: f64,
    #[sea_orm(column_type = "JsonBinary")]
    pub constraints: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub entrances: Json,
    pub terrain_file_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organizations::Entity",
        from = "Column::OrganizationId",
        to = "super::organizations::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::projects::Entity",
        from = "Column::ProjectId",
        to = "super::projects::Column::Id",
        on_delete = "Cascade"
    )]
    Project,
    #[sea_orm(
        belongs_to = "super::files::Entity",
        from = "Column::TerrainFileId",
        to = "super::files::Column::Id",
        on_delete = "SetNull"
    )]
    TerrainFile,
    #[sea_orm(has_many = "super::exclusion_zones::Entity")]
    ExclusionZones,
    #[sea_orm(has_many = "super::jobs::Entity")]
    Jobs,
    #[sea_orm(has_many = "super::layouts::Entity")]
    Layouts,
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::projects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Project.def()
    }
}

impl Related<super::files::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TerrainFile.def()
    }
}

impl Related<super::exclusion_zones::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ExclusionZones.def()
    }
}

impl Related<super::jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jobs.def()
    }
}

impl Related<super::layouts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Layouts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
