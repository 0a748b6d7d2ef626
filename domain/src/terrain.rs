//! A site's terrain: linking an uploaded GeoTIFF DEM (`uploadTerrain`) to a site, and
//! reading it back for every problem prepared on that site (jobs, edit checks, saved
//! edits, exports), so that steep ground is excluded, road grades are checked and
//! earthwork is measured wherever the site's layouts are made or judged.

use chrono::Utc;
use entmoot_entities::{files, sites};
use entmoot_plugin_sdk::geotiff::Dem;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::caller::Caller;

#[derive(Debug, thiserror::Error)]
pub enum SiteTerrainError {
    #[error("viewers cannot change sites")]
    Forbidden,
    #[error("no site with this id")]
    SiteNotFound,
    #[error("fileId: no file with this id")]
    FileNotFound,
    #[error("fileId: the file is a `{0}`, not a terrain upload (uploadTerrain)")]
    NotTerrain(String),
    #[error("fileId: the terrain belongs to another project than the site")]
    OtherProject,
    #[error("the site's terrain file cannot be read from storage: {0}")]
    Storage(String),
    #[error("the site's terrain file is not a usable GeoTIFF DEM: {0}")]
    Unreadable(String),
    #[error("reading or writing the site failed")]
    Database(#[from] DbErr),
}

/// Links the terrain upload `file_id` to a site (or unlinks it with `None`). The file
/// is then kept until deleted: it no longer expires like other uploads.
pub async fn set_site_terrain(
    database: &DatabaseConnection,
    caller: &Caller,
    site_id: Uuid,
    file_id: Option<Uuid>,
) -> Result<sites::Model, SiteTerrainError> {
    let site = sites::Entity::find_by_id(site_id)
        .filter(sites::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(SiteTerrainError::SiteNotFound)?;
    if !caller.can_write() {
        return Err(SiteTerrainError::Forbidden);
    }
    let file = match file_id {
        None => None,
        Some(file_id) => {
            let file = files::Entity::find_by_id(file_id)
                .filter(files::Column::OrganizationId.eq(caller.organization_id))
                .one(database)
                .await?
                .ok_or(SiteTerrainError::FileNotFound)?;
            if file.kind != "terrain" {
                return Err(SiteTerrainError::NotTerrain(file.kind));
            }
            if file.project_id != Some(site.project_id) {
                return Err(SiteTerrainError::OtherProject);
            }
            Some(file)
        }
    };
    let transaction = database.begin().await?;
    if let Some(file) = file.clone() {
        let mut kept = file.into_active_model();
        kept.expires_at = Set(None);
        kept.update(&transaction).await?;
    }
    let mut changed = site.into_active_model();
    changed.terrain_file_id = Set(file.map(|file| file.id));
    // A new `updated_at` also retires cached reads of the site (buildable area).
    changed.updated_at = Set(Utc::now());
    let site = changed.update(&transaction).await?;
    transaction.commit().await?;
    Ok(site)
}

/// The DEM linked to `site`, read from storage and decoded; `None` without terrain.
pub async fn site_dem(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    site: &sites::Model,
) -> Result<Option<Dem>, SiteTerrainError> {
    let Some(file_id) = site.terrain_file_id else {
        return Ok(None);
    };
    let Some(file) = files::Entity::find_by_id(file_id)
        .filter(files::Column::OrganizationId.eq(site.organization_id))
        .one(database)
        .await?
    else {
        // Deleting the file sets the link to null; a race with that is no terrain.
        return Ok(None);
    };
    let bytes = storage
        .read(&file.storage_key)
        .await
        .map_err(|error| SiteTerrainError::Storage(error.to_string()))?
        .to_vec();
    Dem::from_geotiff(&bytes)
        .map(Some)
        .map_err(|error| SiteTerrainError::Unreadable(error.to_string()))
}
