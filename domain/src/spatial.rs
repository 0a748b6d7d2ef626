//! Spatial searches across an organization's data: the sites whose parcel meets a map
//! window (a portfolio map) and the placed buildings that lie within an area (every
//! layout's buildings in a district, say).
//!
//! On PostgreSQL the filter is PostGIS's `ST_Intersects` / `ST_Within` on the generated
//! `geom` columns, which the planner answers from their GIST indexes. On SQLite the
//! bounding-box columns (indexed by `<table>_bbox`) narrow the rows and `geo` decides
//! on the exact geometry. Both backends give the same answer; only the work differs.

use entmoot_entities::{buildings, sites};
use entmoot_plugin_sdk::geo::{BoundingRect, Contains, Geometry, Intersects, MultiPolygon, Rect};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::caller::Caller;
use crate::context::AppContext;
use crate::geometry_storage::{GeometryStorageError, decode_geometry, encode_geometry};

/// The most rows one search returns; a caller narrows the window to see more.
pub const MAX_SEARCH_RESULTS: u64 = 500;
/// The most vertices an area to search within may have: the exact test costs each
/// candidate row time in proportion to it.
pub const MAX_AREA_VERTICES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum SpatialSearchError {
    #[error("spatial searches are disabled on this server (ENABLE_GEOSPATIAL_ANALYSIS=false)")]
    Disabled,
    #[error(
        "{field}: [{min_lon}, {min_lat}, {max_lon}, {max_lat}] is not a window: longitudes lie in [-180, 180], latitudes in [-90, 90], and each minimum is at most its maximum"
    )]
    InvalidWindow {
        field: &'static str,
        min_lon: f64,
        min_lat: f64,
        max_lon: f64,
        max_lat: f64,
    },
    #[error(
        "{field}: a window is four numbers [minLongitude, minLatitude, maxLongitude, maxLatitude], got {count}"
    )]
    WindowLength { field: &'static str, count: usize },
    #[error("{field}: the area has {vertices} vertices; at most {MAX_AREA_VERTICES}")]
    AreaTooDetailed {
        field: &'static str,
        vertices: usize,
    },
    #[error("{field}: the area is empty")]
    EmptyArea { field: &'static str },
    #[error("first: must be between 1 and {MAX_SEARCH_RESULTS}, got {0}")]
    Limit(i64),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("a stored geometry could not be read: {0}")]
    StoredGeometry(#[from] GeometryStorageError),
}

/// A longitude/latitude window (WGS84) that does not cross the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapWindow {
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
}

impl MapWindow {
    /// Checks a `[min_lon, min_lat, max_lon, max_lat]` window given as a list.
    pub fn from_list(field: &'static str, bounds: &[f64]) -> Result<Self, SpatialSearchError> {
        let bounds =
            <[f64; 4]>::try_from(bounds).map_err(|_| SpatialSearchError::WindowLength {
                field,
                count: bounds.len(),
            })?;
        Self::parse(field, bounds)
    }

    /// Checks a `[min_lon, min_lat, max_lon, max_lat]` window.
    ///
    /// ```
    /// use entmoot_domain::spatial::MapWindow;
    /// assert!(MapWindow::parse("within", [-105.0, 39.0, -104.0, 40.0]).is_ok());
    /// assert!(MapWindow::parse("within", [-104.0, 39.0, -105.0, 40.0]).is_err());
    /// ```
    pub fn parse(field: &'static str, bounds: [f64; 4]) -> Result<Self, SpatialSearchError> {
        let [min_lon, min_lat, max_lon, max_lat] = bounds;
        let longitude = |value: f64| (-180.0..=180.0).contains(&value);
        let latitude = |value: f64| (-90.0..=90.0).contains(&value);
        if longitude(min_lon)
            && longitude(max_lon)
            && latitude(min_lat)
            && latitude(max_lat)
            && min_lon <= max_lon
            && min_lat <= max_lat
        {
            Ok(Self {
                min_lon,
                min_lat,
                max_lon,
                max_lat,
            })
        } else {
            Err(SpatialSearchError::InvalidWindow {
                field,
                min_lon,
                min_lat,
                max_lon,
                max_lat,
            })
        }
    }

    fn rect(&self) -> Rect<f64> {
        Rect::new((self.min_lon, self.min_lat), (self.max_lon, self.max_lat))
    }
}

/// An area (WGS84 polygons) to search within, small enough to test quickly.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchArea(MultiPolygon<f64>);

impl SearchArea {
    pub fn parse(field: &'static str, area: MultiPolygon<f64>) -> Result<Self, SpatialSearchError> {
        use entmoot_plugin_sdk::geo::CoordsIter;
        let vertices = area.coords_count();
        if vertices > MAX_AREA_VERTICES {
            return Err(SpatialSearchError::AreaTooDetailed { field, vertices });
        }
        if area.bounding_rect().is_none() {
            return Err(SpatialSearchError::EmptyArea { field });
        }
        Ok(Self(area))
    }
}

/// How many rows a search may return.
pub fn parse_limit(first: Option<i64>) -> Result<u64, SpatialSearchError> {
    match first {
        None => Ok(100),
        Some(n) if (1..=MAX_SEARCH_RESULTS as i64).contains(&n) => Ok(n as u64),
        Some(n) => Err(SpatialSearchError::Limit(n)),
    }
}

/// The caller's sites whose parcel meets `window`, oldest first, at most `limit`.
pub async fn sites_intersecting(
    app: &AppContext,
    caller: &Caller,
    window: &MapWindow,
    limit: u64,
) -> Result<Vec<sites::Model>, SpatialSearchError> {
    if !app.geospatial_analysis_enabled {
        return Err(SpatialSearchError::Disabled);
    }
    let database = &app.database;
    let query = sites::Entity::find()
        .filter(sites::Column::OrganizationId.eq(caller.organization_id))
        .order_by_asc(sites::Column::CreatedAt)
        .order_by_asc(sites::Column::Id);
    if database.get_database_backend() == DatabaseBackend::Postgres {
        let rows = query
            .filter(Expr::cust_with_values(
                "ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))",
                [
                    window.min_lon,
                    window.min_lat,
                    window.max_lon,
                    window.max_lat,
                ],
            ))
            .limit(limit)
            .all(database)
            .await?;
        return Ok(rows);
    }
    let candidates = query
        .filter(sites::Column::MinX.lte(window.max_lon))
        .filter(sites::Column::MaxX.gte(window.min_lon))
        .filter(sites::Column::MinY.lte(window.max_lat))
        .filter(sites::Column::MaxY.gte(window.min_lat))
        .all(database)
        .await?;
    let rect = window.rect();
    let mut found = Vec::new();
    for site in candidates {
        if decode_geometry(&site.boundary_wkb)?.intersects(&rect) {
            found.push(site);
            if found.len() as u64 == limit {
                break;
            }
        }
    }
    Ok(found)
}

/// The caller's placed buildings (of every layout) that lie within `area`, oldest
/// first, at most `limit`.
pub async fn buildings_within(
    app: &AppContext,
    caller: &Caller,
    area: &SearchArea,
    limit: u64,
) -> Result<Vec<buildings::Model>, SpatialSearchError> {
    if !app.geospatial_analysis_enabled {
        return Err(SpatialSearchError::Disabled);
    }
    let database = &app.database;
    let area_geometry = Geometry::MultiPolygon(area.0.clone());
    let Some(bounds) = area.0.bounding_rect() else {
        return Ok(Vec::new());
    };
    let query = buildings::Entity::find()
        .filter(buildings::Column::OrganizationId.eq(caller.organization_id))
        .filter(buildings::Column::MinX.gte(bounds.min().x))
        .filter(buildings::Column::MaxX.lte(bounds.max().x))
        .filter(buildings::Column::MinY.gte(bounds.min().y))
        .filter(buildings::Column::MaxY.lte(bounds.max().y))
        .order_by_asc(buildings::Column::CreatedAt)
        .order_by_asc(buildings::Column::Id);
    if database.get_database_backend() == DatabaseBackend::Postgres {
        let area_wkb = encode_geometry(&area_geometry)?.wkb;
        let rows = query
            .filter(Expr::cust_with_values(
                "ST_Within(geom, ST_SetSRID(ST_GeomFromWKB($1), 4326))",
                [area_wkb],
            ))
            .limit(limit)
            .all(database)
            .await?;
        return Ok(rows);
    }
    let mut found = Vec::new();
    for building in query.all(database).await? {
        if area.0.contains(&decode_geometry(&building.wkb)?) {
            found.push(building);
            if found.len() as u64 == limit {
                break;
            }
        }
    }
    Ok(found)
}

/// The SQL `sites_intersecting` sends to PostgreSQL, for `EXPLAIN` in tests: proof that
/// the GIST index answers it.
pub fn sites_intersecting_sql(window: &MapWindow) -> sea_orm::Statement {
    use sea_orm::QueryTrait;
    sites::Entity::find()
        .filter(Expr::cust_with_values(
            "ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))",
            [
                window.min_lon,
                window.min_lat,
                window.max_lon,
                window.max_lat,
            ],
        ))
        .build(DatabaseBackend::Postgres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_checked() {
        assert!(MapWindow::parse("w", [-1.0, -1.0, 1.0, 1.0]).is_ok());
        assert!(MapWindow::parse("w", [f64::NAN, -1.0, 1.0, 1.0]).is_err());
        assert!(MapWindow::parse("w", [-181.0, -1.0, 1.0, 1.0]).is_err());
        assert!(MapWindow::parse("w", [-1.0, 1.0, 1.0, -1.0]).is_err());
        assert!(MapWindow::from_list("w", &[1.0, 2.0]).is_err());
        assert_eq!(parse_limit(None).ok(), Some(100));
        assert!(parse_limit(Some(0)).is_err());
        assert!(parse_limit(Some(501)).is_err());
    }
}
