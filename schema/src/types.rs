//! GraphQL object types: thin views over domain values.

use async_graphql::{Context, Enum, ID, Interface, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::errors::{ErrorCode, IntoGraphqlError, coded_error};
use crate::loaders::{load, loaders};
use crate::scalars::{GeoJson, JsonValue};
use entmoot_domain::ids::encode_global_id;
use entmoot_domain::paging::{Cursor, PageRequest};
use entmoot_domain::projects::Project;

/// A parent row whose foreign key points at nothing: only possible when it was
/// deleted between two reads of the same request.
fn vanished() -> async_graphql::Error {
    coded_error(ErrorCode::NotFound, "it was deleted meanwhile")
}

fn internal(error: &dyn std::fmt::Display) -> async_graphql::Error {
    tracing::error!(%error, "resolving a field failed");
    coded_error(ErrorCode::InternalServerError, "internal server error")
}

/// Where a job is in its life: QUEUED, then RUNNING, then one of SUCCEEDED, FAILED or
/// CANCELLED (the three it ends in). The same values as the database and the metrics
/// (the domain's `JobStatus`).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entmoot_domain::jobs::JobStatus")]
pub enum JobStatus {
    /// Waiting for a worker (also between attempts).
    Queued,
    /// A worker runs it under a lease.
    Running,
    /// Ended with its layouts stored.
    Succeeded,
    /// Ended without a result; `error` says why, `history` shows each attempt.
    Failed,
    /// Ended on request (or by an operator).
    Cancelled,
}

/// The order of a list by creation time; cursors follow it.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Most recently created first.
    #[default]
    NewestFirst,
    /// Earliest created first.
    OldestFirst,
}

impl ListOrder {
    pub fn newest_first(self) -> bool {
        self == ListOrder::NewestFirst
    }
}

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
    /// The project's global id.
    async fn id(&self) -> ID {
        ID(encode_global_id("Project", self.0.id))
    }
    /// 1 to 200 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Free text; null when none was given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// When the project was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the project was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The project's sites, oldest first, a page at a time. The first page is batched
    /// across a page of projects (one query for all of them); a page after or before a
    /// cursor is one query of its own.
    #[graphql(complexity = "crate::costs::page(first, last, child_complexity)")]
    async fn sites(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many sites from the start of the range (at most 100; 20 when neither `first` nor `last` is given)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Only sites after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
        #[graphql(desc = "At most this many sites from the end of the range (at most 100).")]
        last: Option<i32>,
        #[graphql(desc = "Only sites before this cursor.")] before: Option<String>,
    ) -> Result<SiteConnection> {
        let page_request = PageRequest::parse(
            first.map(i64::from),
            after.as_deref(),
            last.map(i64::from),
            before.as_deref(),
        )
        .map_err(IntoGraphqlError::into_graphql_error)?;
        let page = if page_request == PageRequest::first(page_request.size) {
            let first_sites = load(
                &loaders(ctx).sites_of_project,
                self.0.organization_id,
                self.0.id,
            )
            .await?
            .unwrap_or_default();
            entmoot_domain::paging::finish_page(first_sites, &page_request)
        } else {
            entmoot_domain::batched_reads::page_of_sites(
                &crate::query::app(ctx).database,
                self.0.organization_id,
                self.0.id,
                &page_request,
            )
            .await
            .map_err(crate::errors::database_error)?
        };
        let (edges, page_info) = connection_parts(
            page,
            |site| Cursor {
                created_at: site.created_at,
                id: site.id,
            },
            |cursor, site| SiteEdge {
                cursor,
                node: SiteNode(site),
            },
        );
        Ok(SiteConnection { edges, page_info })
    }
}

/// Where a page lies in its list (the Relay connection specification's `PageInfo`).
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page (when paging backward: whether `before` was
    /// given, since the item at that cursor follows).
    pub has_next_page: bool,
    /// Whether items precede this page (when paging forward: whether `after` was given).
    pub has_previous_page: bool,
    /// The cursor of the page's first item; null for an empty page.
    pub start_cursor: Option<String>,
    /// The cursor of the page's last item; null for an empty page.
    pub end_cursor: Option<String>,
}

/// The edges of a page, each with the cursor of its row, and the page's `PageInfo`: what
/// every connection returns.
pub(crate) fn connection_parts<T, E>(
    page: entmoot_domain::paging::Page<T>,
    position: impl Fn(&T) -> Cursor,
    edge: impl Fn(String, T) -> E,
) -> (Vec<E>, PageInfo) {
    let mut start_cursor = None;
    let mut end_cursor = None;
    let edges = page
        .items
        .into_iter()
        .map(|item| {
            let cursor = position(&item).encode();
            start_cursor.get_or_insert_with(|| cursor.clone());
            end_cursor = Some(cursor.clone());
            edge(cursor, item)
        })
        .collect();
    let page_info = PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor,
        end_cursor,
    };
    (edges, page_info)
}

/// A project in a page of projects, with its position.
#[derive(SimpleObject)]
pub struct ProjectEdge {
    /// Pass as `after` or `before` to page from this project.
    pub cursor: String,
    /// The project.
    pub node: ProjectNode,
}

/// A page of projects.
#[derive(SimpleObject)]
pub struct ProjectConnection {
    /// The projects of this page, in the list's order.
    pub edges: Vec<ProjectEdge>,
    /// Where this page lies in the list.
    pub page_info: PageInfo,
}

/// A site in a page of a project's sites, with its position.
#[derive(SimpleObject)]
pub struct SiteEdge {
    /// Pass as `after` or `before` to page from this site.
    pub cursor: String,
    /// The site.
    pub node: SiteNode,
}

/// A page of a project's sites.
#[derive(SimpleObject)]
pub struct SiteConnection {
    /// The sites of this page, oldest first.
    pub edges: Vec<SiteEdge>,
    /// Where this page lies in the list.
    pub page_info: PageInfo,
}

/// A job in a page of jobs, with its position.
#[derive(SimpleObject)]
pub struct JobEdge {
    /// Pass as `after` or `before` to page from this job.
    pub cursor: String,
    /// The job.
    pub node: JobNode,
}

/// A page of jobs.
#[derive(SimpleObject)]
pub struct JobConnection {
    /// The jobs of this page, in the list's order.
    pub edges: Vec<JobEdge>,
    /// Where this page lies in the list.
    pub page_info: PageInfo,
}

/// A parcel of a project.
pub struct SiteNode(pub entmoot_entities::sites::Model);

/// A parcel of a project: its boundary, setbacks, exclusion zones, entrances and terrain.
#[Object(name = "Site")]
impl SiteNode {
    /// The site's global id.
    async fn id(&self) -> ID {
        ID(encode_global_id("Site", self.0.id))
    }
    /// The site's name.
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
    /// When the site was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the site was last changed (its terrain linked, say).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The project the site belongs to.
    async fn project(&self, ctx: &Context<'_>) -> Result<ProjectNode> {
        load(
            &loaders(ctx).project_by_id,
            self.0.organization_id,
            self.0.project_id,
        )
        .await?
        .map(|row| ProjectNode(row.into()))
        .ok_or_else(vanished)
    }
    /// The parcel boundary: a Polygon or MultiPolygon in WGS84.
    async fn boundary(&self) -> Result<GeoJson> {
        entmoot_domain::sites::boundary_geojson(&self.0)
            .map(GeoJson)
            .map_err(|error| internal(&error))
    }
    /// Areas that must stay free (each grown by its buffer), oldest first.
    async fn exclusion_zones(&self, ctx: &Context<'_>) -> Result<Vec<ExclusionZoneView>> {
        let zones = entmoot_domain::sites::exclusion_zones_of_site(
            &crate::query::app(ctx).database,
            self.0.organization_id,
            self.0.id,
        )
        .await
        .map_err(crate::errors::database_error)?;
        zones
            .into_iter()
            .map(|zone| {
                Ok(ExclusionZoneView {
                    geometry: GeoJson(
                        entmoot_domain::sites::wkb_to_geojson(&zone.wkb)
                            .map_err(|error| internal(&error))?,
                    ),
                    kind: zone.kind,
                    buffer_m: zone.buffer_m,
                    name: zone.name,
                })
            })
            .collect()
    }
    /// The terrain (GeoTIFF DEM) linked with `setSiteTerrain`, if any.
    async fn terrain_file(&self, ctx: &Context<'_>) -> Result<Option<crate::files::FileNode>> {
        let Some(file_id) = self.0.terrain_file_id else {
            return Ok(None);
        };
        let caller = crate::query::caller(ctx)?;
        match entmoot_domain::files::find_file(&crate::query::app(ctx).database, caller, file_id)
            .await
        {
            Ok(file) => Ok(Some(crate::files::FileNode(file))),
            Err(entmoot_domain::files::FileError::NotFound) => Ok(None),
            Err(error) => Err(error.into_graphql_error()),
        }
    }
    /// Setback from the boundary in metres.
    async fn setback_metres(&self) -> f64 {
        self.0.setback_m
    }
    /// Entrances as `[longitude, latitude]`.
    async fn entrances(&self) -> Vec<Vec<f64>> {
        serde_json::from_value(self.0.entrances.clone()).unwrap_or_default()
    }
    /// The site's constraints as stored (slope limit, terrain, …).
    async fn constraints(&self) -> JsonValue {
        async_graphql::Json(self.0.constraints.clone())
    }
    /// The best layout of the site's latest succeeded job, or an edit saved after it.
    /// Batched across sites.
    async fn latest_layout(&self, ctx: &Context<'_>) -> Result<Option<LayoutNode>> {
        Ok(load(
            &loaders(ctx).latest_layout_of_site,
            self.0.organization_id,
            self.0.id,
        )
        .await?
        .map(LayoutNode))
    }
    /// The site's jobs, filtered by status, newest first unless `order` says
    /// otherwise, a page at a time.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::costs::page(first, last, child_complexity)")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many jobs from the start of the range (at most 100; 20 when neither `first` nor `last` is given)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Only jobs after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
        #[graphql(desc = "At most this many jobs from the end of the range (at most 100).")]
        last: Option<i32>,
        #[graphql(desc = "Only jobs before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only jobs in one of these statuses; every status when omitted.")]
        status: Option<Vec<JobStatus>>,
        #[graphql(desc = "NEWEST_FIRST when omitted.")] order: Option<ListOrder>,
    ) -> Result<JobConnection> {
        let caller = crate::query::caller(ctx)?;
        let page_request = PageRequest::parse(
            first.map(i64::from),
            after.as_deref(),
            last.map(i64::from),
            before.as_deref(),
        )
        .map_err(IntoGraphqlError::into_graphql_error)?;
        let filter = entmoot_domain::jobs::JobFilter {
            site_id: Some(self.0.id),
            statuses: status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        };
        let page = entmoot_domain::jobs::list_jobs(
            &crate::query::app(ctx).database,
            caller,
            &page_request,
            &filter,
            order.unwrap_or_default().newest_first(),
        )
        .await
        .map_err(crate::errors::database_error)?;
        let (edges, page_info) = connection_parts(
            page,
            |job| Cursor {
                created_at: job.created_at,
                id: job.id,
            },
            |cursor, job| JobEdge {
                cursor,
                node: JobNode(job),
            },
        );
        Ok(JobConnection { edges, page_info })
    }
    /// What may be built on: the parcel inset by `setbackMetres`, minus every exclusion
    /// zone grown by its buffer. Cached (shared by all API instances with Redis).
    #[graphql(complexity = "crate::costs::BUILDABLE_AREA + child_complexity")]
    async fn buildable_area(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(default = 0.0, desc = "A uniform setback to preview, metres.")]
        setback_metres: f64,
    ) -> async_graphql::Result<BuildableAreaView> {
        let caller = crate::query::caller(ctx)?;
        let area = entmoot_domain::sites::buildable_area(
            crate::query::app(ctx),
            caller,
            self.0.id,
            setback_metres,
        )
        .await
        .map_err(crate::errors::IntoGraphqlError::into_graphql_error)?;
        Ok(BuildableAreaView {
            area_m2: area.area_m2,
            geometry: GeoJson(area.geometry),
        })
    }
    /// The slope map of the site's terrain (`setSiteTerrain`): the parcel's ground in
    /// classes of grade, as the DEM shows it; null without terrain. Cached like
    /// `buildableArea`.
    #[graphql(complexity = "crate::costs::BUILDABLE_AREA + child_complexity")]
    async fn slope_classes(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(
            default_with = "entmoot_domain::terrain::DEFAULT_SLOPE_BREAKS_PERCENT.to_vec()",
            desc = "Where one class ends and the next starts, as increasing percent grades (1 to 12 of them): [5, 10, 15, 25] gives 0-5, 5-10, 10-15, 15-25 and over 25 %."
        )]
        breaks_percent: Vec<f64>,
    ) -> async_graphql::Result<Option<Vec<SlopeClass>>> {
        let caller = crate::query::caller(ctx)?;
        let classes = entmoot_domain::terrain::slope_classes(
            crate::query::app(ctx),
            caller,
            self.0.id,
            breaks_percent,
        )
        .await
        .map_err(crate::errors::IntoGraphqlError::into_graphql_error)?;
        Ok(classes.map(|classes| {
            classes
                .into_iter()
                .map(|class| SlopeClass {
                    above_percent: class.above_percent,
                    at_most_percent: class.at_most_percent,
                    area_m2: class.area_m2,
                    geometry: GeoJson(class.geometry),
                })
                .collect()
        }))
    }
}

/// One class of a site's slope map.
#[derive(async_graphql::SimpleObject)]
pub struct SlopeClass {
    /// The class holds ground steeper than this grade (percent; 0 for the first class,
    /// which also holds flat ground).
    pub above_percent: f64,
    /// ... and at most this steep; null for the last class.
    pub at_most_percent: Option<f64>,
    /// The class's area inside the parcel, square metres (UTM planar).
    pub area_m2: f64,
    /// A MultiPolygon in WGS84, empty when no ground is in the class.
    pub geometry: GeoJson,
}

/// An area of a site that must stay free.
#[derive(SimpleObject)]
#[graphql(name = "ExclusionZone")]
pub struct ExclusionZoneView {
    /// wetland, easement, floodplain, utility, steep_slope, existing_structure or custom.
    pub kind: String,
    /// Metres kept free around the zone.
    pub buffer_m: f64,
    /// A name to show, e.g. `Stock pond`.
    pub name: Option<String>,
    /// The zone itself (WGS84), without its buffer.
    pub geometry: GeoJson,
}

/// A site's buildable area.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "BuildableArea")]
pub struct BuildableAreaView {
    /// Its area, square metres (UTM planar).
    pub area_m2: f64,
    /// A MultiPolygon in WGS84.
    pub geometry: GeoJson,
}

/// One optimization run.
pub struct JobNode(pub entmoot_entities::jobs::Model);

/// An optimization run of a strategy on a site and program: queued → running → succeeded, failed or cancelled, with its layouts.
#[Object(name = "Job")]
impl JobNode {
    /// The job's global id.
    async fn id(&self) -> ID {
        ID(encode_global_id("Job", self.0.id))
    }
    /// Where the job is in its life.
    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }
    /// What the running attempt is doing (preparing, searching, validating, …); null while queued.
    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }
    /// Fraction done, 0 to 1.
    async fn progress(&self) -> f64 {
        self.0.progress
    }
    /// The strategy's name.
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
    /// Attempts started so far (a worker that vanished counts).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The most attempts the job gets before it fails for good.
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// The site the job optimizes.
    async fn site(&self, ctx: &Context<'_>) -> Result<SiteNode> {
        load(
            &loaders(ctx).site_by_id,
            self.0.organization_id,
            self.0.site_id,
        )
        .await?
        .map(SiteNode)
        .ok_or_else(vanished)
    }
    /// The program as run (with `objectiveWeights` merged in).
    async fn program(&self) -> JsonValue {
        async_graphql::Json(self.0.program.clone())
    }
    /// The strategy parameters the job was submitted with.
    async fn parameters(&self) -> JsonValue {
        async_graphql::Json(self.0.parameters.clone())
    }
    /// The objective weights in effect: cost, buildableArea, accessibility,
    /// environmentalImpact, aesthetics.
    async fn objective_weights(&self) -> JsonValue {
        async_graphql::Json(self.0.objective_weights.clone())
    }
    /// How many distinct layouts were asked for.
    async fn alternatives(&self) -> i32 {
        self.0.alternatives
    }
    /// The random seed, when one was given: the same seed gives the same layouts.
    async fn seed(&self) -> Option<i64> {
        self.0.seed
    }
    /// The strategy's time limit, when one was given.
    async fn time_limit_seconds(&self) -> Option<i32> {
        self.0.time_limit_s
    }
    /// Best objective so far (strategy-defined, higher is better).
    async fn best_objective(&self) -> Option<f64> {
        self.0.best_objective
    }
    /// The layout this job re-optimizes around (`createJob(seedLayoutId)`).
    async fn seed_layout(&self, ctx: &Context<'_>) -> Result<Option<LayoutNode>> {
        let Some(layout_id) = self.0.seed_layout_id else {
            return Ok(None);
        };
        Ok(load(
            &loaders(ctx).layout_by_id,
            self.0.organization_id,
            layout_id,
        )
        .await?
        .map(LayoutNode))
    }
    /// The asset ids the job leaves where its seed layout has them.
    async fn kept_assets(&self) -> Vec<String> {
        self.0
            .pinned_assets
            .as_ref()
            .and_then(|assets| assets.as_array())
            .map(|assets| {
                assets
                    .iter()
                    .filter_map(|asset| asset.get("asset_id")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Why the job failed, in words; null unless it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Whether someone asked the job to stop.
    async fn cancel_requested(&self) -> bool {
        self.0.cancel_requested
    }
    /// One entry per attempt: worker, start, end, outcome and error.
    async fn history(&self) -> JsonValue {
        async_graphql::Json(self.0.history.clone())
    }
    /// When the job was submitted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When its current or last attempt started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it ended; null until then.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// The alternatives this job produced, best first (not the edits saved from
    /// them). Batched across jobs.
    #[graphql(complexity = "crate::costs::list(crate::costs::JOB_LAYOUTS, child_complexity)")]
    async fn layouts(&self, ctx: &Context<'_>) -> Result<Vec<LayoutNode>> {
        Ok(load(
            &loaders(ctx).layouts_of_job,
            self.0.organization_id,
            self.0.id,
        )
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(LayoutNode)
        .collect())
    }
}

pub struct LayoutNode(pub entmoot_entities::layouts::Model);

impl LayoutNode {
    /// The layout's GeoJSON, read by id when this node came from a summary read
    /// (`Site.latestLayout` leaves the large columns out).
    async fn full_geojson(&self, ctx: &Context<'_>) -> Result<serde_json::Value> {
        if !entmoot_domain::batched_reads::is_summary(&self.0) {
            return Ok(self.0.geojson.clone());
        }
        load(
            &loaders(ctx).layout_by_id,
            self.0.organization_id,
            self.0.id,
        )
        .await?
        .map(|full| full.geojson)
        .ok_or_else(vanished)
    }
}

/// One alternative a job produced (or a saved edit of one): placed assets, roads, metrics, cost and earthwork. A stored layout breaks no rule.
#[Object(name = "Layout")]
impl LayoutNode {
    /// The layout's global id.
    async fn id(&self) -> ID {
        ID(encode_global_id("Layout", self.0.id))
    }
    /// 0 is the best alternative.
    async fn rank(&self) -> i32 {
        self.0.rank
    }
    /// How many assets the program asked for.
    async fn requested_count(&self) -> i32 {
        self.0.requested_count
    }
    /// How many of them the layout places.
    async fn placed_count(&self) -> i32 {
        self.0.placed_count
    }
    /// Measured metrics (footprint, coverage, compactness, road length, …).
    async fn metrics(&self) -> JsonValue {
        async_graphql::Json(self.0.metrics.clone())
    }
    /// Earthwork (cut, fill and net volumes in m³ and yd³, and their cost) when the
    /// site has terrain, or `{"status":"unknown"}` without: never guessed.
    async fn earthwork(&self) -> JsonValue {
        match self.0.metrics.get("earthwork") {
            Some(measured) if !measured.is_null() => async_graphql::Json(measured.clone()),
            _ => async_graphql::Json(self.0.earthwork.clone()),
        }
    }
    /// The cost breakdown (earthwork, roads, buildings, parking, contingency, total).
    async fn cost(&self) -> JsonValue {
        async_graphql::Json(
            self.0
                .metrics
                .get("cost")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        )
    }
    /// The five objective scores (0 to 1) and their weighted total.
    async fn objectives(&self) -> JsonValue {
        async_graphql::Json(
            self.0
                .metrics
                .get("objectives")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        )
    }
    /// The road network alone, as a FeatureCollection of LineStrings (class, width).
    async fn roads(&self, ctx: &Context<'_>) -> Result<GeoJson> {
        let geojson = self.full_geojson(ctx).await?;
        let roads: Vec<serde_json::Value> = geojson
            .get("features")
            .and_then(|features| features.as_array())
            .map(|features| {
                features
                    .iter()
                    .filter(|feature| {
                        feature
                            .pointer("/properties/kind")
                            .and_then(|kind| kind.as_str())
                            == Some("road")
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(GeoJson(
            serde_json::json!({"type": "FeatureCollection", "features": roads}),
        ))
    }
    /// Always empty: a layout is stored only when the shared validator finds nothing
    /// (a job's alternatives and saved edits alike). `checkLayoutEdits` reports the
    /// violations of edits that are not stored.
    async fn violations(&self) -> Vec<crate::layout_edits::LayoutViolation> {
        Vec::new()
    }
    /// When the layout was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The job that produced the layout (or the one its edits started from).
    async fn job(&self, ctx: &Context<'_>) -> Result<JobNode> {
        load(
            &loaders(ctx).job_by_id,
            self.0.organization_id,
            self.0.job_id,
        )
        .await?
        .map(JobNode)
        .ok_or_else(vanished)
    }
    /// The site the layout is for.
    async fn site(&self, ctx: &Context<'_>) -> Result<SiteNode> {
        load(
            &loaders(ctx).site_by_id,
            self.0.organization_id,
            self.0.site_id,
        )
        .await?
        .map(SiteNode)
        .ok_or_else(vanished)
    }
    /// The layout this one was edited from (`saveLayoutEdits`); null for a layout a
    /// job produced.
    async fn edited_from(&self, ctx: &Context<'_>) -> Result<Option<LayoutNode>> {
        let Some(origin) = self.0.edited_from_id else {
            return Ok(None);
        };
        Ok(
            load(&loaders(ctx).layout_by_id, self.0.organization_id, origin)
                .await?
                .map(LayoutNode),
        )
    }
    /// The layout as an RFC 7946 FeatureCollection (WGS84).
    #[graphql(complexity = "crate::costs::LAYOUT_GEOJSON + child_complexity")]
    async fn geojson(&self, ctx: &Context<'_>) -> Result<GeoJson> {
        Ok(GeoJson(self.full_geojson(ctx).await?))
    }
}
