//! Manual edits of a stored layout, checked on the server by the same validator every
//! strategy uses (the earlier tool's validate-placement): move, rotate, remove or add
//! an asset, then the violations and metrics of the result. `save_layout_edits` stores
//! the result as a new layout when, and only when, the validator finds nothing.

use entmoot_entities::{jobs, layouts, sites};
use entmoot_plugin_sdk::geo::Coord;
use entmoot_plugin_sdk::metrics::{Metrics, layout_metrics};
use entmoot_plugin_sdk::prepare::prepare_problem_with_terrain;
use entmoot_plugin_sdk::validate::{Violation, validate_layout};
use entmoot_plugin_sdk::{Layout, PlacedAsset, Problem, Program};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::caller::Caller;
use crate::layout_storage::{LayoutToStore, StoreLayoutError, insert_layout};
use crate::sites::{SiteError, load_site};
use crate::terrain::{SiteTerrainError, site_dem};

/// A stored layout with the problem it solves (re-prepared from its job's site and
/// program), as exports and edit checks need it.
pub struct StoredLayout {
    pub row: layouts::Model,
    pub job: jobs::Model,
    pub site_row: sites::Model,
    pub problem: Problem,
    pub layout: Layout,
    pub metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum StoredLayoutError {
    #[error("no layout with this id")]
    NotFound,
    #[error("the stored layout cannot be read: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Terrain(#[from] SiteTerrainError),
    #[error(transparent)]
    HeavyWork(#[from] crate::heavy_work::HeavyWorkError),
    #[error("reading the layout failed")]
    Database(#[from] DbErr),
}

/// Loads a layout of the caller's organization with its problem.
pub async fn load_stored_layout(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    layout_id: Uuid,
) -> Result<StoredLayout, StoredLayoutError> {
    let row = layouts::Entity::find_by_id(layout_id)
        .filter(layouts::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(StoredLayoutError::NotFound)?;
    let job = jobs::Entity::find_by_id(row.job_id)
        .filter(jobs::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(StoredLayoutError::NotFound)?;
    let (site_row, site) = load_site(database, caller.organization_id, row.site_id).await?;
    let program: Program = serde_json::from_value(job.program.clone())
        .map_err(|error| StoredLayoutError::Unreadable(format!("the job's program: {error}")))?;
    // The site's terrain, so that edits are judged like the job judged its layouts.
    let terrain = site_dem(database, storage, &site_row).await?;
    let layout: Layout = serde_json::from_value(row.layout.clone())
        .map_err(|error| StoredLayoutError::Unreadable(format!("the stored layout: {error}")))?;
    let stored_metrics = serde_json::from_value::<Metrics>(row.metrics.clone()).ok();
    // Preparing the problem (buildable area, terrain) and measuring a layout are CPU
    // work that grows with the site: never on a request thread.
    let (problem, layout, metrics) = crate::heavy_work::off_the_request_thread(move || {
        let problem =
            prepare_problem_with_terrain(&site, &program, terrain.as_ref()).map_err(|error| {
                StoredLayoutError::Unreadable(format!("preparing the problem: {error}"))
            })?;
        let metrics = stored_metrics.unwrap_or_else(|| layout_metrics(&problem, &layout));
        Ok::<_, StoredLayoutError>((problem, layout, metrics))
    })
    .await??;
    Ok(StoredLayout {
        row,
        job,
        site_row,
        problem,
        layout,
        metrics,
    })
}

/// One edit. Positions are WGS84 `[lon, lat]`, as a map gives them.
#[derive(Debug, Clone, PartialEq)]
pub enum LayoutEdit {
    Move {
        asset_id: String,
        to: [f64; 2],
    },
    Rotate {
        asset_id: String,
        rotation_deg: f64,
    },
    Remove {
        asset_id: String,
    },
    /// Places an asset of the program that the layout left out.
    Add {
        asset_id: String,
        at: [f64; 2],
        rotation_deg: f64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutEditError {
    #[error(transparent)]
    Layout(#[from] StoredLayoutError),
    #[error("edits[{index}]: no asset `{asset_id}` in the layout")]
    NotPlaced { index: usize, asset_id: String },
    #[error("edits[{index}]: `{asset_id}` is already placed; move it instead")]
    AlreadyPlaced { index: usize, asset_id: String },
    #[error("edits[{index}]: the program has no asset `{asset_id}`")]
    NotInProgram { index: usize, asset_id: String },
    #[error("edits[{index}]: {reason}")]
    BadValue { index: usize, reason: String },
}

/// The edited layout and what the validator says of it.
#[derive(Debug, Clone)]
pub struct CheckedEdit {
    pub layout: Layout,
    pub violations: Vec<Violation>,
    pub metrics: Metrics,
    /// The edited layout as RFC 7946 GeoJSON (null if it cannot be projected back).
    pub geojson: serde_json::Value,
}

fn to_metres(
    problem: &Problem,
    index: usize,
    lon_lat: [f64; 2],
) -> Result<[f64; 2], LayoutEditError> {
    let bad = |reason: String| LayoutEditError::BadValue { index, reason };
    if !lon_lat.iter().all(|value| value.is_finite())
        || !(-180.0..=180.0).contains(&lon_lat[0])
        || !(-90.0..=90.0).contains(&lon_lat[1])
    {
        return Err(bad(format!("{lon_lat:?} is not a [lon, lat] position")));
    }
    let projector = problem
        .projection
        .projector()
        .map_err(|error| bad(error.to_string()))?;
    let metres = projector
        .to_metres(Coord {
            x: lon_lat[0],
            y: lon_lat[1],
        })
        .map_err(|error| bad(error.to_string()))?;
    Ok([metres.x, metres.y])
}

fn position_of(layout: &Layout, index: usize, asset_id: &str) -> Result<usize, LayoutEditError> {
    layout
        .assets
        .iter()
        .position(|asset| asset.asset_id == asset_id)
        .ok_or_else(|| LayoutEditError::NotPlaced {
            index,
            asset_id: asset_id.to_owned(),
        })
}

/// Applies `edits` in order to a copy of the layout and validates the result.
pub fn apply_edits(
    problem: &Problem,
    layout: &Layout,
    edits: &[LayoutEdit],
) -> Result<CheckedEdit, LayoutEditError> {
    let mut edited = layout.clone();
    for (index, edit) in edits.iter().enumerate() {
        match edit {
            LayoutEdit::Move { asset_id, to } => {
                let at = position_of(&edited, index, asset_id)?;
                edited.assets[at].center = to_metres(problem, index, *to)?;
            }
            LayoutEdit::Rotate {
                asset_id,
                rotation_deg,
            } => {
                if !rotation_deg.is_finite() {
                    return Err(LayoutEditError::BadValue {
                        index,
                        reason: "rotationDeg must be a finite number".into(),
                    });
                }
                let at = position_of(&edited, index, asset_id)?;
                edited.assets[at].rotation_deg = rotation_deg.rem_euclid(360.0);
            }
            LayoutEdit::Remove { asset_id } => {
                let at = position_of(&edited, index, asset_id)?;
                edited.assets.remove(at);
            }
            LayoutEdit::Add {
                asset_id,
                at,
                rotation_deg,
            } => {
                if edited
                    .assets
                    .iter()
                    .any(|asset| &asset.asset_id == asset_id)
                {
                    return Err(LayoutEditError::AlreadyPlaced {
                        index,
                        asset_id: asset_id.clone(),
                    });
                }
                let spec = problem
                    .assets
                    .iter()
                    .find(|spec| &spec.asset_id == asset_id)
                    .ok_or_else(|| LayoutEditError::NotInProgram {
                        index,
                        asset_id: asset_id.clone(),
                    })?;
                edited.assets.push(PlacedAsset {
                    asset_id: spec.asset_id.clone(),
                    name: spec.name.clone(),
                    asset_type: spec.asset_type,
                    center: to_metres(problem, index, *at)?,
                    width_m: spec.width_m,
                    length_m: spec.length_m,
                    rotation_deg: rotation_deg.rem_euclid(360.0),
                    shape: spec.shape.clone(),
                });
            }
        }
    }
    Ok(CheckedEdit {
        violations: validate_layout(problem, &edited),
        metrics: layout_metrics(problem, &edited),
        geojson: entmoot_plugin_sdk::geojson_out::layout_to_geojson(problem, &edited)
            .ok()
            .and_then(|collection| serde_json::to_value(collection).ok())
            .unwrap_or_default(),
        layout: edited,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SaveLayoutEditsError {
    #[error("viewers cannot save layouts")]
    Forbidden,
    #[error(transparent)]
    Edit(#[from] LayoutEditError),
    /// A stored layout has zero violations, always: the edits are refused with what
    /// the validator found.
    #[error("the edited layout breaks {} rule(s): {}", .0.len(), describe_violations(.0))]
    Invalid(Vec<Violation>),
    #[error(transparent)]
    Store(#[from] StoreLayoutError),
    #[error(transparent)]
    HeavyWork(#[from] crate::heavy_work::HeavyWorkError),
}

fn describe_violations(violations: &[Violation]) -> String {
    violations
        .iter()
        .take(5)
        .map(|violation| violation.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Applies `edits` to a stored layout (loaded with `load_stored_layout`, so that an
/// outsider got NOT_FOUND before anything else) and, when the validator finds no
/// violation, stores the result as a new layout of the same job and site that points at
/// the one it was edited from. It becomes the site's latest layout and can seed a job.
pub async fn save_layout_edits(
    database: &DatabaseConnection,
    caller: &Caller,
    stored: &StoredLayout,
    edits: &[LayoutEdit],
) -> Result<layouts::Model, SaveLayoutEditsError> {
    if !caller.can_write() || caller.organization_id != stored.row.organization_id {
        return Err(SaveLayoutEditsError::Forbidden);
    }
    // Validating a layout is CPU work: off the request thread, like `apply_edits` for
    // a check. The clones are the price of handing the work to another thread.
    let (problem, layout, owned_edits) = (
        stored.problem.clone(),
        stored.layout.clone(),
        edits.to_vec(),
    );
    let checked = crate::heavy_work::off_the_request_thread(move || {
        apply_edits(&problem, &layout, &owned_edits)
    })
    .await??;
    if !checked.violations.is_empty() {
        return Err(SaveLayoutEditsError::Invalid(checked.violations));
    }
    let projector = stored.problem.projection.projector().map_err(|error| {
        StoreLayoutError::Geometry(crate::geometry_storage::GeometryStorageError::Encode(
            error.to_string(),
        ))
    })?;
    if checked.geojson.is_null() {
        return Err(StoreLayoutError::Geometry(
            crate::geometry_storage::GeometryStorageError::Encode(
                "the edited layout cannot be projected back to WGS84".to_owned(),
            ),
        )
        .into());
    }
    let transaction = sea_orm::TransactionTrait::begin(database)
        .await
        .map_err(StoreLayoutError::Database)?;
    let row = insert_layout(
        &transaction,
        &projector,
        LayoutToStore {
            organization_id: stored.row.organization_id,
            job_id: stored.row.job_id,
            site_id: stored.row.site_id,
            rank: 0,
            edited_from_id: Some(stored.row.id),
            layout: &checked.layout,
            metrics: &checked.metrics,
            geojson: checked.geojson,
            created_at: chrono::Utc::now(),
        },
    )
    .await?;
    transaction
        .commit()
        .await
        .map_err(StoreLayoutError::Database)?;
    Ok(row)
}
