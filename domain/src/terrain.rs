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

/// The slope classes of a site's map layer when the caller gives none: percent grades
/// at which planners commonly change what they build (flat, gentle, moderate, steep
/// for roads, too steep for pads).
pub const DEFAULT_SLOPE_BREAKS_PERCENT: [f64; 4] = [5.0, 10.0, 15.0, 25.0];

/// At most this many class breaks: a map legend with more classes is not read.
pub const MAX_SLOPE_BREAKS: usize = 12;

/// One class of a site's slope map: the parcel's ground whose grade lies in
/// `(above_percent, at_most_percent]` (the first class starts at 0 %, the last has no
/// upper end).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SlopeClass {
    pub above_percent: f64,
    pub at_most_percent: Option<f64>,
    /// UTM planar square metres inside the parcel.
    pub area_m2: f64,
    /// An RFC 7946 MultiPolygon in WGS84 (empty when no ground is in the class).
    pub geometry: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SlopeClassesError {
    #[error(
        "breaksPercent: give 1 to {MAX_SLOPE_BREAKS} increasing grades between 0 and 1000, got {0:?}"
    )]
    Breaks(Vec<f64>),
    #[error(transparent)]
    Site(#[from] crate::sites::SiteError),
    #[error(transparent)]
    Terrain(#[from] SiteTerrainError),
    #[error("the slope map cannot be computed: {0}")]
    Prepare(String),
    #[error(transparent)]
    HeavyWork(#[from] crate::heavy_work::HeavyWorkError),
}

/// The slope map of a site from its linked DEM, one entry per class of `breaks_percent`
/// (so one more entry than breaks); `None` when the site has no terrain. Cached like
/// the buildable area: the key holds the site's `updated_at`, which linking or
/// unlinking a DEM changes.
pub async fn slope_classes(
    app: &crate::context::AppContext,
    caller: &Caller,
    site_id: Uuid,
    breaks_percent: Vec<f64>,
) -> Result<Option<Vec<SlopeClass>>, SlopeClassesError> {
    use crate::ports::CachedRead;
    let increasing = breaks_percent.windows(2).all(|pair| pair[0] < pair[1]);
    if breaks_percent.is_empty()
        || breaks_percent.len() > MAX_SLOPE_BREAKS
        || !increasing
        || !breaks_percent
            .iter()
            .all(|grade| grade.is_finite() && (0.0..=1000.0).contains(grade))
    {
        return Err(SlopeClassesError::Breaks(breaks_percent));
    }
    // Without terrain the answer is null: known from the site's row, before its
    // geometry is read.
    let linked = sites::Entity::find_by_id(site_id)
        .filter(sites::Column::OrganizationId.eq(caller.organization_id))
        .one(&app.database)
        .await
        .map_err(crate::sites::SiteError::from)?
        .ok_or(crate::sites::SiteError::NotFound)?;
    if linked.terrain_file_id.is_none() {
        return Ok(None);
    }
    let (model, site) =
        crate::sites::load_site(&app.database, caller.organization_id, site_id).await?;
    let key = format!(
        "{site_id}:{}:{}",
        model.updated_at.timestamp_millis(),
        breaks_percent
            .iter()
            .map(|grade| ((grade * 1000.0).round() as i64).to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    if let Some(cached) = app.cache.get(CachedRead::SiteSlopeClasses, &key).await
        && let Ok(classes) = serde_json::from_value::<Vec<SlopeClass>>(cached)
    {
        return Ok(Some(classes));
    }
    let Some(dem) = site_dem(&app.database, &app.storage, &model).await? else {
        return Ok(None);
    };
    let classes = crate::heavy_work::off_the_request_thread(move || {
        compute_slope_classes(site.boundary, &dem, &breaks_percent)
    })
    .await??;
    if let Ok(value) = serde_json::to_value(&classes) {
        app.cache
            .put(CachedRead::SiteSlopeClasses, &key, &value)
            .await;
    }
    Ok(Some(classes))
}

fn compute_slope_classes(
    boundary: entmoot_plugin_sdk::geo::MultiPolygon<f64>,
    dem: &Dem,
    breaks_percent: &[f64],
) -> Result<Vec<SlopeClass>, SlopeClassesError> {
    use entmoot_plugin_sdk::Site;
    use entmoot_plugin_sdk::geo::{Area, BooleanOps};
    let prepare = |error: String| SlopeClassesError::Prepare(error);
    // The map shows the ground as it is: the parcel alone (no setback, no exclusion) and
    // a slope limit no ground reaches, so preparation removes nothing.
    let program = crate::sites::probe_program(0.0, Some(1_000_000.0)).map_err(prepare)?;
    let site = Site {
        boundary,
        exclusions: Vec::new(),
        entrances: Vec::new(),
    };
    let problem =
        entmoot_plugin_sdk::prepare::prepare_problem_with_terrain(&site, &program, Some(dem))
            .map_err(|error| prepare(error.to_string()))?;
    let Some(terrain) = problem.terrain.as_ref() else {
        return Err(prepare("the DEM gave no terrain".into()));
    };
    let projector = problem
        .projection
        .projector()
        .map_err(|error| prepare(error.to_string()))?;
    let mut edges = vec![-1.0];
    edges.extend(breaks_percent.iter().copied());
    edges.push(f64::INFINITY);
    let mut classes = Vec::with_capacity(edges.len() - 1);
    for band in edges.windows(2) {
        let area = terrain
            .slope_band_area(band[0] / 100.0, band[1] / 100.0)
            .intersection(&problem.boundary_m);
        let geometry = projector
            .geometry_to_wgs84(&area)
            .map_err(|error| prepare(error.to_string()))?;
        classes.push(SlopeClass {
            above_percent: band[0].max(0.0),
            at_most_percent: band[1].is_finite().then_some(band[1]),
            area_m2: area.unsigned_area(),
            geometry: serde_json::to_value(geojson::Geometry::from(&geometry))
                .map_err(|error| prepare(error.to_string()))?,
        });
    }
    Ok(classes)
}
