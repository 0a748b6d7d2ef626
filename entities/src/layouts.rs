//! `layouts`: one alternative a job produced; unique per (job_id, rank).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "layouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub job_id: Uuid,
    pub site_id: Uuid,
    /// 0-based rank among the job's alternatives; (job_id, rank) is unique.
    pub rank: i32,
    pub requested_count: i32,
    pub placed_count: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub metrics: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub cost: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub earthwork: Json,
    /// The layout in metres (the sdk's layout type, serialized).
    #[sea_orm(column_type = "JsonBinary")]
    pub layout: Json,
    /// RFC 7946 FeatureCollection in WGS84.
    #[sea_orm(column_type = "JsonBinary")]
    pub geojson: Json,
    /// Set on a layout saved from edits of another (`saveLayoutEdits`): that layout.
    /// It keeps its origin's job and rank.
    pub edited_from_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
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
        belongs_to = "super::jobs::Entity",
        from = "Column::JobId",
        to = "super::jobs::Column::Id",
        on_delete = "Cascade"
    )]
    Job,
    #[sea_orm(
        belongs_to = "super::sites::Entity",
        from = "Column::SiteId",
        to = "super::sites::Column::Id",
        on_delete = "Cascade"
    )]
    Site,
    #[sea_orm(has_many = "super::buildings::Entity")]
    Buildings,
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Job.def()
    }
}

impl Related<super::sites::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Site.def()
    }
}

impl Related<super::buildings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Buildings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
