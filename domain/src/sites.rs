//! Sites: a parcel of a project, with its exclusion zones and entrances, stored as
//! WKB (PostGIS geometry on PostgreSQL).

use chrono::Utc;
use entmoot_entities::{exclusion_zones, projects, sites};
use entmoot_plugin_sdk::Site;
use entmoot_plugin_sdk::geo::{GeodesicArea, Geometry, MultiPolygon};
use entmoot_plugin_sdk::program::ExclusionKind;
use entmoot_plugin_sdk::site::Exclusion;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use uuid::Uuid;

use crate::caller::Caller;
use crate::geometry_storage::{GeometryStorageError, decode_geometry, encode_geometry};

/// A validated request to create a site.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub project_id: Uuid,
    pub name: String,
    pub site: Site,
}

#[derive(Debug, thiserror::Error)]
pub enum SiteInputError {
    #[error("name: must be 1 to 200 characters, none of them a control character")]
    Name,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Geometry(Vec<entmoot_plugin_sdk::program::FieldError>),
}

impl NewSite {
    pub fn parse(project_id: Uuid, name: &str, site: Site) -> Result<Self, SiteInputError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(SiteInputError::Name);
        }
        site.validate().map_err(SiteInputError::Geometry)?;
        Ok(Self {
            project_id,
            name: name.to_owned(),
            site,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("this caller may not change sites")]
    Forbidden,
    #[error("no project with this id")]
    ProjectNotFound,
    #[error("no site with this id")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] GeometryStorageError),
    #[error("reading or writing sites failed")]
    Database(#[from] DbErr),
}

pub async fn create_site(
    database: &DatabaseConnection,
    caller: &Caller,
    new_site: NewSite,
) -> Result<sites::Model, SiteError> {
    if !caller.can_write() {
        return Err(SiteError::Forbidden);
    }
    projects::Entity::find_by_id(new_site.project_id)
        .filter(projects::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(SiteError::ProjectNotFound)?;
    let boundary = encode_geometry(&Geometry::MultiPolygon(new_site.site.boundary.clone()))?;
    let now = Utc::now();
    let transaction = database.begin().await?;
    let site = sites::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(caller.organization_id),
        project_id: Set(new_site.project_id),
        name: Set(new_site.name),
        boundary_wkb: Set(boundary.wkb),
        min_x: Set(boundary.bbox[0]),
        min_y: Set(boundary.bbox[1]),
        max_x: Set(boundary.bbox[2]),
        max_y: Set(boundary.bbox[3]),
        area_m2: Set(new_site.site.boundary.geodesic_area_unsigned()),
        setback_m: Set(0.0),
        constraints: Set(serde_json::json!({})),
        entrances: Set(serde_json::to_value(
            new_site
                .site
                .entrances
                .iter()
                .map(|c| [c.x, c.y])
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default()),
        terrain_file_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&transaction)
    .await?;
    insert_exclusion_zones(
        &transaction,
        caller.organization_id,
        site.id,
        &new_site.site.exclusions,
        now,
    )
    .await?;
    transaction.commit().await?;
    Ok(site)
}

/// Stores a site's exclusion zones, stamped so that they read back (oldest first) in
/// the order given.
async fn insert_exclusion_zones(
    transaction: &sea_orm::DatabaseTransaction,
    organization_id: Uuid,
    site_id: Uuid,
    exclusions: &[Exclusion],
    now: chrono::DateTime<Utc>,
) -> Result<(), SiteError> {
    for (index, exclusion) in exclusions.iter().enumerate() {
        let stored = encode_geometry(&exclusion.geometry)?;
        exclusion_zones::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            site_id: Set(site_id),
            name: Set(exclusion.name.clone()),
            kind: Set(exclusion.kind.as_str().to_owned()),
            buffer_m: Set(exclusion.buffer_m),
            wkb: Set(stored.wkb),
            min_x: Set(stored.bbox[0]),
            min_y: Set(stored.bbox[1]),
            max_x: Set(stored.bbox[2]),
            max_y: Set(stored.bbox[3]),
            created_at: Set(now + chrono::Duration::microseconds(index as i64)),
        }
        .insert(transaction)
        .await?;
    }
    Ok(())
}

/// A validated change to a site: a new name, and whole new lists of exclusion zones
/// and entrances. What is `None` stays as it is. The parcel itself is not changed: its
/// jobs and layouts were made for it.
#[derive(Debug, Clone, Default)]
pub struct SiteChanges {
    pub name: Option<String>,
    pub exclusions: Option<Vec<Exclusion>>,
    pub entrances: Option<Vec<entmoot_plugin_sdk::geo::Coord<f64>>>,
}

impl SiteChanges {
    /// Checks the name here; the exclusions and entrances are checked with the site's
    /// boundary by `update_site`.
    pub fn parse(
        name: Option<&str>,
        exclusions: Option<Vec<Exclusion>>,
        entrances: Option<Vec<entmoot_plugin_sdk::geo::Coord<f64>>>,
    ) -> Result<Self, SiteInputError> {
        let name = match name.map(str::trim) {
            None => None,
            Some(name)
                if name.is_empty()
                    || name.chars().count() > 200
                    || name.chars().any(char::is_control) =>
            {
                return Err(SiteInputError::Name);
            }
            Some(name) => Some(name.to_owned()),
        };
        Ok(Self {
            name,
            exclusions,
            entrances,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateSiteError {
    #[error("viewers cannot change sites")]
    Forbidden,
    #[error("no site with this id")]
    NotFound,
    #[error(transparent)]
    Input(#[from] SiteInputError),
    #[error(transparent)]
    Storage(#[from] GeometryStorageError),
    #[error("reading or writing sites failed")]
    Database(#[from] DbErr),
}

impl From<SiteError> for UpdateSiteError {
    fn from(error: SiteError) -> Self {
        match error {
            SiteError::Forbidden => Self::Forbidden,
            SiteError::ProjectNotFound | SiteError::NotFound => Self::NotFound,
            SiteError::Storage(error) => Self::Storage(error),
            SiteError::Database(error) => Self::Database(error),
        }
    }
}

/// Renames a site and replaces its exclusion zones or entrances, in one transaction.
/// The site's `updated_at` moves, which retires cached reads of it (buildable area,
/// slope map); jobs already queued keep the site as it was when they were created.
pub async fn update_site(
    database: &DatabaseConnection,
    caller: &Caller,
    site_id: Uuid,
    changes: SiteChanges,
) -> Result<sites::Model, UpdateSiteError> {
    use sea_orm::IntoActiveModel;
    let (model, mut site) = load_site(database, caller.organization_id, site_id).await?;
    if !caller.can_write() {
        return Err(UpdateSiteError::Forbidden);
    }
    if let Some(exclusions) = changes.exclusions.clone() {
        site.exclusions = exclusions;
    }
    if let Some(entrances) = changes.entrances.clone() {
        site.entrances = entrances;
    }
    site.validate().map_err(SiteInputError::Geometry)?;
    let now = Utc::now();
    let transaction = database.begin().await?;
    if let Some(exclusions) = &changes.exclusions {
        exclusion_zones::Entity::delete_many()
            .filter(exclusion_zones::Column::SiteId.eq(site_id))
            .exec(&transaction)
            .await?;
        insert_exclusion_zones(
            &transaction,
            caller.organization_id,
            site_id,
            exclusions,
            now,
        )
        .await?;
    }
    let mut changed = model.into_active_model();
    if let Some(name) = changes.name {
        changed.name = Set(name);
    }
    if let Some(entrances) = &changes.entrances {
        changed.entrances = Set(serde_json::Value::Array(
            entrances
                .iter()
                .map(|c| serde_json::json!([c.x, c.y]))
                .collect(),
        ));
    }
    changed.updated_at = Set(now);
    let site = changed.update(&transaction).await?;
    transaction.commit().await?;
    Ok(site)
}

/// Loads a site of `organization_id` back into the sdk's `Site`.
/// A site of the caller's organization; another organization's is not found.
pub async fn find_site(
    database: &DatabaseConnection,
    caller: &Caller,
    site_id: Uuid,
) -> Result<Option<sites::Model>, DbErr> {
    sites::Entity::find_by_id(site_id)
        .filter(sites::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await
}

/// A site's exclusion zones, oldest first.
pub async fn exclusion_zones_of_site(
    database: &DatabaseConnection,
    organization_id: Uuid,
    site_id: Uuid,
) -> Result<Vec<exclusion_zones::Model>, DbErr> {
    exclusion_zones::Entity::find()
        .filter(exclusion_zones::Column::OrganizationId.eq(organization_id))
        .filter(exclusion_zones::Column::SiteId.eq(site_id))
        .order_by_asc(exclusion_zones::Column::CreatedAt)
        .all(database)
        .await
}

/// A stored geometry (WKB) as an RFC 7946 geometry (WGS84).
pub fn wkb_to_geojson(wkb: &[u8]) -> Result<serde_json::Value, GeometryStorageError> {
    let geometry = decode_geometry(wkb)?;
    let value = geojson::GeometryValue::from(&geometry);
    serde_json::to_value(geojson::Geometry::new(value))
        .map_err(|error| GeometryStorageError::Decode(error.to_string()))
}

/// A site's boundary as an RFC 7946 geometry (WGS84).
pub fn boundary_geojson(model: &sites::Model) -> Result<serde_json::Value, GeometryStorageError> {
    wkb_to_geojson(&model.boundary_wkb)
}

pub async fn load_site(
    database: &DatabaseConnection,
    organization_id: Uuid,
    site_id: Uuid,
) -> Result<(sites::Model, Site), SiteError> {
    let model = sites::Entity::find_by_id(site_id)
        .filter(sites::Column::OrganizationId.eq(organization_id))
        .one(database)
        .await?
        .ok_or(SiteError::NotFound)?;
    let boundary = match decode_geometry(&model.boundary_wkb)? {
        Geometry::MultiPolygon(multi) => multi,
        Geometry::Polygon(polygon) => MultiPolygon::new(vec![polygon]),
        _ => {
            return Err(GeometryStorageError::Decode(
                "a site boundary must be a (multi)polygon".into(),
            )
            .into());
        }
    };
    let mut exclusions = Vec::new();
    for zone in exclusion_zones::Entity::find()
        .filter(exclusion_zones::Column::SiteId.eq(site_id))
        .order_by_asc(exclusion_zones::Column::CreatedAt)
        .all(database)
        .await?
    {
        let kind: ExclusionKind =
            serde_json::from_value(serde_json::Value::String(zone.kind.clone())).map_err(|_| {
                GeometryStorageError::Decode(format!("unknown exclusion kind `{}`", zone.kind))
            })?;
        exclusions.push(Exclusion {
            kind,
            buffer_m: zone.buffer_m,
            geometry: decode_geometry(&zone.wkb)?,
            name: zone.name,
        });
    }
    let entrances: Vec<[f64; 2]> =
        serde_json::from_value(model.entrances.clone()).unwrap_or_default();
    let site = Site {
        boundary,
        exclusions,
        entrances: entrances
            .into_iter()
            .map(|[x, y]| entmoot_plugin_sdk::geo::Coord { x, y })
            .collect(),
    };
    Ok((model, site))
}

/// A site's buildable area for a uniform setback: the parcel inset by the setback,
/// minus every exclusion zone grown by its buffer, in WGS84.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BuildableArea {
    pub area_m2: f64,
    /// An RFC 7946 MultiPolygon.
    pub geometry: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildableAreaError {
    #[error("setbackMetres: must be between 0 and 10000, got {0}")]
    Setback(f64),
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error("the buildable area cannot be computed: {0}")]
    Prepare(String),
    #[error(transparent)]
    HeavyWork(#[from] crate::heavy_work::HeavyWorkError),
}

/// The buildable area, from the read cache when another request (on any API instance)
/// computed it already. The key holds the site's `updated_at`, so a changed site is
/// never served a stale area; the cache's lifetime bounds the rest.
pub async fn buildable_area(
    app: &crate::context::AppContext,
    caller: &Caller,
    site_id: Uuid,
    setback_m: f64,
) -> Result<BuildableArea, BuildableAreaError> {
    use crate::ports::CachedRead;
    if !setback_m.is_finite() || !(0.0..=10_000.0).contains(&setback_m) {
        return Err(BuildableAreaError::Setback(setback_m));
    }
    let (model, site) = load_site(&app.database, caller.organization_id, site_id).await?;
    let key = format!(
        "{site_id}:{}:{}",
        model.updated_at.timestamp_millis(),
        (setback_m * 1000.0).round() as i64
    );
    if let Some(cached) = app.cache.get(CachedRead::SiteBuildableArea, &key).await
        && let Ok(area) = serde_json::from_value::<BuildableArea>(cached)
    {
        return Ok(area);
    }
    let area =
        crate::heavy_work::off_the_request_thread(move || compute_buildable_area(&site, setback_m))
            .await??;
    if let Ok(value) = serde_json::to_value(&area) {
        app.cache
            .put(CachedRead::SiteBuildableArea, &key, &value)
            .await;
    }
    Ok(area)
}

/// The smallest valid program with a setback and, optionally, a slope limit: what
/// preparing a site's geometry wants when no real program is at hand (the buildable
/// area, the slope map).
pub(crate) fn probe_program(
    setback_m: f64,
    max_slope_percent: Option<f64>,
) -> Result<entmoot_plugin_sdk::Program, String> {
    let mut program = serde_json::json!({
        "units": "m",
        "setback": setback_m,
        "assets": [{"name": "probe", "type": "building", "width": 1, "length": 1, "quantity": 1}],
    });
    if let Some(limit) = max_slope_percent {
        program["max_slope_percent"] = serde_json::json!(limit);
    }
    entmoot_plugin_sdk::Program::from_json_str(&program.to_string())
        .map_err(|error| error.to_string())
}

fn compute_buildable_area(
    site: &Site,
    setback_m: f64,
) -> Result<BuildableArea, BuildableAreaError> {
    use entmoot_plugin_sdk::geo::MultiPolygon;
    // The buildable area depends on the setback and the site only.
    let program = probe_program(setback_m, None).map_err(BuildableAreaError::Prepare)?;
    let problem = entmoot_plugin_sdk::prepare::prepare_problem(site, &program)
        .map_err(|error| BuildableAreaError::Prepare(error.to_string()))?;
    let prepare_error = |error: entmoot_plugin_sdk::projection::ProjectionError| {
        BuildableAreaError::Prepare(error.to_string())
    };
    let projector = problem.projection.projector().map_err(prepare_error)?;
    let buildable: MultiPolygon<f64> = projector
        .geometry_to_wgs84(&problem.buildable_m)
        .map_err(prepare_error)?;
    let geometry = geojson::Geometry::from(&buildable);
    Ok(BuildableArea {
        area_m2: problem.buildable_area_m2,
        geometry: serde_json::to_value(geometry)
            .map_err(|error| BuildableAreaError::Prepare(error.to_string()))?,
    })
}
