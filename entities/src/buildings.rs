//! `buildings`: placed building footprints of a layout (WKB Polygon, WGS84, plus bbox).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "buildings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub layout_id: Uuid,
    pub asset_id: String,
    pub name: String,
    pub asset_type: String,
    pub width_m: f64,
    pub length_m: f64,
    pub rotation_deg: f64,
    /// Footprint as WKB **Polygon** (WGS84); PostgreSQL adds `geom geometry(Polygon,4326)`
    /// and rejects any other geometry type.
    #[sea_orm(column_type = "Blob")]
    pub wkb: Vec<u8>,
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
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
        belongs_to = "super::layouts::Entity",
        from = "Column::LayoutId",
        to = "super::layouts::Column::Id",
        on_delete = "Cascade"
    )]
    Layout,
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::layouts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Layout.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
