//! Spatial searches: `sitesIntersecting` for a portfolio map and `buildingsWithin` for
//! every placed building in an area, across the caller's organization.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entmoot_domain::ids::encode_global_id;
use entmoot_domain::spatial::{
    MapWindow, SearchArea, SpatialSearchError, buildings_within, parse_limit, sites_intersecting,
};
use entmoot_plugin_sdk::geo::MultiPolygon;

use crate::errors::{ErrorCode, IntoGraphqlError, coded_error};
use crate::query::{app, caller};
use crate::scalars::GeoJson;
use crate::types::SiteNode;

impl IntoGraphqlError for SpatialSearchError {
    fn into_graphql_error(self) -> async_graphql::Error {
        match self {
            SpatialSearchError::Database(error) => crate::errors::database_error(error),
            SpatialSearchError::Disabled => coded_error(ErrorCode::Forbidden, self.to_string()),
            SpatialSearchError::StoredGeometry(error) => {
                tracing::error!(error = %error, "unreadable stored geometry in a spatial search");
                coded_error(ErrorCode::InternalServerError, "internal server error")
            }
            input => coded_error(ErrorCode::BadUserInput, input.to_string()),
        }
    }
}

/// A building placed by a stored layout, as the spatial index knows it.
#[derive(SimpleObject)]
pub struct PlacedBuilding {
    /// The asset's id within its layout.
    pub asset_id: String,
    /// The program's name for the asset.
    pub name: String,
    /// The program's asset type.
    pub asset_type: String,
    /// Width of the asset's box, metres.
    pub width_m: f64,
    /// Length of the asset's box, metres.
    pub length_m: f64,
    /// Degrees counter-clockwise from UTM grid east (see docs/ for the convention).
    pub rotation_deg: f64,
    /// The footprint, a GeoJSON Polygon in WGS84.
    pub footprint: GeoJson,
    /// The global id of the layout that placed it.
    pub layout_id: ID,
    /// When the layout was stored.
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct SpatialQueries;

#[Object]
impl SpatialQueries {
    /// The caller's sites whose parcel meets a longitude/latitude window, oldest first:
    /// the sites to draw on a portfolio map. Answered from the spatial index; refused
    /// (`FORBIDDEN`) where the operator set ENABLE_GEOSPATIAL_ANALYSIS=false.
    #[graphql(complexity = "crate::costs::spatial_search(first, child_complexity)")]
    async fn sites_intersecting(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The window as [minLongitude, minLatitude, maxLongitude, maxLatitude] (WGS84 degrees); it may not cross the antimeridian."
        )]
        window: Vec<f64>,
        #[graphql(desc = "At most this many sites (1 to 500; 100 when omitted).")] first: Option<
            i32,
        >,
    ) -> Result<Vec<SiteNode>> {
        let caller = caller(ctx)?;
        let window = MapWindow::from_list("window", &window)
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let limit =
            parse_limit(first.map(i64::from)).map_err(IntoGraphqlError::into_graphql_error)?;
        let sites = sites_intersecting(app(ctx), caller, &window, limit)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(sites.into_iter().map(SiteNode).collect())
    }

    /// The buildings of the caller's stored layouts that lie wholly within an area,
    /// oldest first. Answered from the spatial index; refused (`FORBIDDEN`) where the
    /// operator set ENABLE_GEOSPATIAL_ANALYSIS=false.
    #[graphql(complexity = "crate::costs::spatial_search(first, child_complexity)")]
    async fn buildings_within(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A GeoJSON Polygon or MultiPolygon in WGS84, at most 10,000 vertices.")]
        area: GeoJson,
        #[graphql(desc = "At most this many buildings (1 to 500; 100 when omitted).")]
        first: Option<i32>,
    ) -> Result<Vec<PlacedBuilding>> {
        let caller = caller(ctx)?;
        let polygons = entmoot_formats::geojson_site::read_polygons(&area.0.to_string())
            .map_err(|error| coded_error(ErrorCode::BadUserInput, format!("area: {error}")))?;
        let area = SearchArea::parse(
            "area",
            MultiPolygon::new(
                polygons
                    .into_iter()
                    .flat_map(|named| named.geometry.0)
                    .collect(),
            ),
        )
        .map_err(IntoGraphqlError::into_graphql_error)?;
        let limit =
            parse_limit(first.map(i64::from)).map_err(IntoGraphqlError::into_graphql_error)?;
        let buildings = buildings_within(app(ctx), caller, &area, limit)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        buildings
            .into_iter()
            .map(|building| {
                let footprint =
                    entmoot_domain::sites::wkb_to_geojson(&building.wkb).map_err(|error| {
                        tracing::error!(error = %error, "unreadable building footprint");
                        coded_error(ErrorCode::InternalServerError, "internal server error")
                    })?;
                Ok(PlacedBuilding {
                    asset_id: building.asset_id,
                    name: building.name,
                    asset_type: building.asset_type,
                    width_m: building.width_m,
                    length_m: building.length_m,
                    rotation_deg: building.rotation_deg,
                    footprint: GeoJson(footprint),
                    layout_id: ID(encode_global_id("Layout", building.layout_id)),
                    created_at: building.created_at,
                })
            })
            .collect()
    }
}
