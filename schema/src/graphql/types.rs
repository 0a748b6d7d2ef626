//! GraphQL object types: thin views over domain values.

use async_graphql::{ID, Interface, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::ids::encode_global_id;
use crate::domain::projects::Project;

/// Relay's object identification: any object can be refetched by its global id.
// One value lives per resolved `node` field for the duration of a request; boxing the
// large variants would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Globally unique, opaque id."))]
pub enum Node {
    Project(ProjectNode),
    Site(SiteNode),
    Job(JobNode),
    Layout(LayoutNode),
}

pub struct ProjectNode(pub Project);

/// A development effort owned by an organization; holds sites.
#[Object(name = "Project")]
impl ProjectNode {
    async fn id(&self) -> ID {
        ID(encode_global_id("Project", self.0.id))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct ProjectEdge {
    pub cursor: String,
    pub node: ProjectNode,
}

#[derive(SimpleObject)]
pub struct ProjectConnection {
    pub edges: Vec<ProjectEdge>,
    pub page_info: PageInfo,
}

/// A parcel of a project.
pub struct SiteNode(pub entmoot_entities::sites::Model);

#[Object(name = "Site")]
impl SiteNode {
    async fn id(&self) -> ID {
        ID(encode_global_id("Site", self.0.id))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Geodesic area of the boundary in m².
    async fn area_m2(&self) -> f64 {
        self.0.area_m2
    }
    /// `[minLon, minLat, maxLon, maxLat]`.
    async fn bbox(&self) -> Vec<f64> {
        vec![self.0.min_x, self.0.min_y, self.0.max_x, self.0.max_y]
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// What may be built on: the parcel inset by `setbackMetres`, minus every exclusion
    /// zone grown by its buffer. Cached (shared by all API instances with Redis).
    async fn buildable_area(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(default = 0.0)] setback_metres: f64,
    ) -> async_graphql::Result<BuildableAreaView> {
        let caller = crate::graphql::query::caller(ctx)?;
        let area = crate::domain::sites::buildable_area(
            crate::graphql::query::app(ctx),
            caller,
            self.0.id,
            setback_metres,
        )
        .await
        .map_err(crate::graphql::errors::IntoGraphqlError::into_graphql_error)?;
        Ok(BuildableAreaView {
            area_m2: area.area_m2,
            geometry: crate::graphql::scalars::GeoJson(area.geometry),
        })
    }
}

/// A site's buildable area.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "BuildableArea")]
pub struct BuildableAreaView {
    pub area_m2: f64,
    /// A MultiPolygon in WGS84.
    pub geometry: crate::graphql::scalars::GeoJson,
}

/// One optimization run.
pub struct JobNode(pub entmoot_entities::jobs::Model);

#[Object(name = "Job")]
impl JobNode {
    async fn id(&self) -> ID {
        ID(encode_global_id("Job", self.0.id))
    }
    /// queued, running, succeeded, failed or cancelled.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }
    /// Fraction done, 0 to 1.
    async fn progress(&self) -> f64 {
        self.0.progress
    }
    async fn strategy(&self) -> &str {
        &self.0.strategy
    }
    /// The version asked for (`strategy: "name@version"`); null when the job runs the
    /// newest version installed when it starts.
    async fn strategy_version(&self) -> Option<&str> {
        self.0.strategy_version.as_deref()
    }
    /// The version of the strategy the latest attempt ran (the one that produced the
    /// layouts of a succeeded job); null before an attempt has ended.
    async fn strategy_version_used(&self) -> Option<&str> {
        self.0
            .history
            .as_array()?
            .iter()
            .rev()
            .find_map(|attempt| attempt.get("strategy_version")?.as_str())
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Whether someone asked the job to stop.
    async fn cancel_requested(&self) -> bool {
        self.0.cancel_requested
    }
    /// One entry per attempt: worker, start, end, outcome and error.
    async fn history(&self) -> crate::graphql::scalars::JsonValue {
        async_graphql::Json(self.0.history.clone())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// The alternatives this job produced, best first.
    async fn layouts(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<LayoutNode>> {
        let caller = crate::graphql::query::caller(ctx)?;
        let database = &crate::graphql::query::app(ctx).database;
        crate::domain::jobs::layouts_of_job(database, caller, self.0.id)
            .await
            .map(|layouts| layouts.into_iter().map(LayoutNode).collect())
            .map_err(crate::graphql::errors::database_error)
    }
}

/// One alternative a job produced. Stored layouts have zero violations.
pub struct LayoutNode(pub entmoot_entities::layouts::Model);

#[Object(name = "Layout")]
impl LayoutNode {
    async fn id(&self) -> ID {
        ID(encode_global_id("Layout", self.0.id))
    }
    /// 0 is the best alternative.
    async fn rank(&self) -> i32 {
        self.0.rank
    }
    async fn requested_count(&self) -> i32 {
        self.0.requested_count
    }
    async fn placed_count(&self) -> i32 {
        self.0.placed_count
    }
    /// Measured metrics (footprint, coverage, compactness, road length, …).
    async fn metrics(&self) -> crate::graphql::scalars::JsonValue {
        async_graphql::Json(self.0.metrics.clone())
    }
    /// Earthwork, or `{"status":"unknown"}` without terrain: never guessed.
    async fn earthwork(&self) -> crate::graphql::scalars::JsonValue {
        async_graphql::Json(self.0.earthwork.clone())
    }
    /// The layout as an RFC 7946 FeatureCollection (WGS84).
    async fn geojson(&self) -> crate::graphql::scalars::GeoJson {
        crate::graphql::scalars::GeoJson(self.0.geojson.clone())
    }
}
