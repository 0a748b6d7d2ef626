//! Writes one layout with its building rows: the single place that turns an sdk
//! `Layout` into stored rows, used for a job's alternatives and for saved edits alike.

use chrono::{DateTime, Utc};
use entmoot_entities::{buildings, layouts};
use entmoot_plugin_sdk::Layout;
use entmoot_plugin_sdk::geo::Geometry;
use entmoot_plugin_sdk::metrics::Metrics;
use entmoot_plugin_sdk::projection::Projector;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::json;
use uuid::Uuid;

use crate::geometry_storage::{GeometryStorageError, encode_geometry};

/// Where a layout belongs and what it is.
pub struct LayoutToStore<'a> {
    pub organization_id: Uuid,
    pub job_id: Uuid,
    pub site_id: Uuid,
    pub rank: i32,
    pub edited_from_id: Option<Uuid>,
    pub layout: &'a Layout,
    pub metrics: &'a Metrics,
    /// RFC 7946 FeatureCollection in WGS84.
    pub geojson: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreLayoutError {
    #[error("writing the layout failed")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Geometry(#[from] GeometryStorageError),
    #[error("the layout cannot be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Inserts the layout row and one `buildings` row per placed building (WGS84
/// footprints, so that PostGIS can query them).
pub async fn insert_layout(
    connection: &impl ConnectionTrait,
    projector: &Projector,
    to_store: LayoutToStore<'_>,
) -> Result<layouts::Model, StoreLayoutError> {
    let row = layouts::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(to_store.organization_id),
        job_id: Set(to_store.job_id),
        site_id: Set(to_store.site_id),
        rank: Set(to_store.rank),
        requested_count: Set(to_store.metrics.requested as i32),
        placed_count: Set(to_store.metrics.placed as i32),
        metrics: Set(serde_json::to_value(to_store.metrics)?),
        cost: Set(serde_json::Value::Null),
        earthwork: Set(match &to_store.metrics.earthwork {
            Some(measured) => serde_json::to_value(measured)?,
            None => json!({"status": "unknown", "reason": "no terrain (DEM) was given"}),
        }),
        layout: Set(serde_json::to_value(to_store.layout)?),
        geojson: Set(to_store.geojson),
        edited_from_id: Set(to_store.edited_from_id),
        created_at: Set(to_store.created_at),
    }
    .insert(connection)
    .await?;
    for asset in to_store
        .layout
        .assets
        .iter()
        .filter(|asset| asset.asset_type.to_string() == "building")
    {
        let footprint = projector
            .geometry_to_wgs84(&Geometry::Polygon(asset.footprint()))
            .map_err(|error| GeometryStorageError::Encode(error.to_string()))?;
        let stored = encode_geometry(&footprint)?;
        buildings::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(to_store.organization_id),
            layout_id: Set(row.id),
            asset_id: Set(asset.asset_id.clone()),
            name: Set(asset.name.clone()),
            asset_type: Set(asset.asset_type.to_string()),
            width_m: Set(asset.width_m),
            length_m: Set(asset.length_m),
            rotation_deg: Set(asset.rotation_deg),
            wkb: Set(stored.wkb),
            min_x: Set(stored.bbox[0]),
            min_y: Set(stored.bbox[1]),
            max_x: Set(stored.bbox[2]),
            max_y: Set(stored.bbox[3]),
            created_at: Set(to_store.created_at),
        }
        .insert(connection)
        .await?;
    }
    Ok(row)
}
