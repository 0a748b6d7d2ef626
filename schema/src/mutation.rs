//! Mutation root.

use async_graphql::{Context, ID, InputObject, MergedObject, Object, Result};
use entmoot_plugin_sdk::Site;
use entmoot_plugin_sdk::geo::{Coord, MultiPolygon};
use entmoot_plugin_sdk::program::ExclusionKind;
use entmoot_plugin_sdk::site::Exclusion;

use crate::errors::{ErrorCode, IntoGraphqlError, coded_error};
use crate::query::StrategyView;
use crate::query::{app, caller};
use crate::scalars::{GeoJson, JsonValue};
use crate::types::{JobNode, ProjectNode, SiteNode};
use entmoot_domain::ids::decode_typed_id;
use entmoot_domain::jobs;
use entmoot_domain::projects::{
    self, NewProject, ProjectChanges, ProjectDescription, ProjectInputError, ProjectName,
};
use entmoot_domain::sites::{self, NewSite};
use entmoot_formats::geojson_site::read_polygons;

/// Every change the API makes.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    ProjectMutations,
    SiteAndJobMutations,
    StrategyMutations,
    crate::files::FileMutations,
    crate::accounts::AccountMutations,
    crate::administration::AdministrationMutations,
    crate::layout_edits::LayoutEditMutations,
);

#[derive(Default)]
pub struct ProjectMutations;

#[derive(Default)]
pub struct SiteAndJobMutations;

/// A new project.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// 1 to 200 characters.
    pub name: String,
    /// Free text, at most 2,000 characters.
    pub description: Option<String>,
}

impl TryFrom<CreateProjectInput> for NewProject {
    type Error = ProjectInputError;

    fn try_from(input: CreateProjectInput) -> Result<Self, Self::Error> {
        Ok(Self {
            name: ProjectName::parse(&input.name)?,
            description: input
                .description
                .as_deref()
                .map(ProjectDescription::parse)
                .transpose()?,
        })
    }
}

/// Fields left out stay as they are; an empty description removes it.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// 1 to 200 characters.
    pub name: Option<String>,
    /// Free text, at most 2,000 characters; empty removes it.
    pub description: Option<String>,
}

impl TryFrom<UpdateProjectInput> for ProjectChanges {
    type Error = ProjectInputError;

    fn try_from(input: UpdateProjectInput) -> Result<Self, Self::Error> {
        Ok(Self {
            name: input.name.as_deref().map(ProjectName::parse).transpose()?,
            description: match input.description.as_deref() {
                None => None,
                Some("") => Some(None),
                Some(text) => Some(Some(ProjectDescription::parse(text)?)),
            },
        })
    }
}

#[Object]
impl ProjectMutations {
    /// Renames a project or changes its description.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's global id.")] id: ID,
        #[graphql(desc = "The changes.")] input: UpdateProjectInput,
    ) -> Result<ProjectNode> {
        let caller = caller(ctx)?;
        let id = decode_typed_id(&id, "Project").map_err(IntoGraphqlError::into_graphql_error)?;
        let changes =
            ProjectChanges::try_from(input).map_err(IntoGraphqlError::into_graphql_error)?;
        projects::update_project(&app(ctx).database, caller, id, changes)
            .await
            .map(ProjectNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// Deletes a project with its sites, jobs, layouts and files; refused (CONFLICT)
    /// while any of its jobs is queued or running. Returns the deleted project's id.
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's global id.")] id: ID,
    ) -> Result<ID> {
        let caller = caller(ctx)?;
        let uuid = decode_typed_id(&id, "Project").map_err(IntoGraphqlError::into_graphql_error)?;
        let app = app(ctx);
        projects::delete_project(&app.database, &app.storage, caller, uuid)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(id)
    }

    /// Creates a project of the caller's organization (editors and admins).
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new project.")] input: CreateProjectInput,
    ) -> Result<ProjectNode> {
        let caller = caller(ctx)?;
        let new_project =
            NewProject::try_from(input).map_err(IntoGraphqlError::into_graphql_error)?;
        projects::create_project(&app(ctx).database, caller, new_project)
            .await
            .map(ProjectNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }
}

/// An area that must stay free, plus a buffer around it.
#[derive(InputObject)]
pub struct ExclusionZoneInput {
    /// wetland, easement, floodplain, utility, steep_slope, existing_structure or custom.
    pub kind: String,
    /// Metres kept free around the zone.
    #[graphql(default)]
    pub buffer_m: f64,
    /// The zone: a GeoJSON Polygon or MultiPolygon (bare or as a Feature), WGS84.
    pub geometry: GeoJson,
    /// A name to show, e.g. `Stock pond`.
    pub name: Option<String>,
}

/// A new site: a parcel with what cannot be built on and where roads enter.
#[derive(InputObject)]
pub struct CreateSiteInput {
    /// The project the site belongs to.
    pub project_id: ID,
    /// 1 to 200 characters.
    pub name: String,
    /// The parcel: a Polygon or MultiPolygon (bare, as a Feature, or the polygons of a
    /// FeatureCollection), WGS84; holes are areas outside the parcel.
    pub boundary: GeoJson,
    /// Areas that must stay free, each grown by its buffer.
    #[graphql(default)]
    pub exclusions: Vec<ExclusionZoneInput>,
    /// Entrances as `[longitude, latitude]`.
    #[graphql(default)]
    pub entrances: Vec<Vec<f64>>,
}

/// A change to a site. What is left out stays as it is; a list given replaces the
/// site's list. The parcel itself cannot change: its jobs and layouts were made for it.
#[derive(InputObject)]
pub struct UpdateSiteInput {
    /// The site's global id.
    pub site_id: ID,
    /// A new name, 1 to 200 characters.
    pub name: Option<String>,
    /// Every exclusion zone of the site from now on (an empty list removes them all).
    pub exclusions: Option<Vec<ExclusionZoneInput>>,
    /// Every entrance of the site from now on, as `[longitude, latitude]`; an entrance
    /// is moved onto the nearest point of the parcel's edge when jobs run. An empty list
    /// lets each job choose one per part of the parcel.
    pub entrances: Option<Vec<Vec<f64>>>,
}

impl UpdateSiteInput {
    fn into_changes(self) -> Result<(uuid::Uuid, sites::SiteChanges), async_graphql::Error> {
        let site_id =
            decode_typed_id(&self.site_id, "Site").map_err(IntoGraphqlError::into_graphql_error)?;
        let exclusions = self.exclusions.map(exclusions_from_input).transpose()?;
        let entrances = self
            .entrances
            .as_deref()
            .map(entrances_from_input)
            .transpose()?;
        let changes = sites::SiteChanges::parse(self.name.as_deref(), exclusions, entrances)
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok((site_id, changes))
    }
}

/// An optimization run to queue.
#[derive(InputObject)]
pub struct CreateJobInput {
    /// The site to optimize.
    pub site_id: ID,
    /// The program, in the JSON format of `entmoot solve --program`. Required unless
    /// `seedLayoutId` is given; a seeded job then runs its seed's program.
    pub program: Option<JsonValue>,
    /// A strategy name from `strategies`; the best built-in one when omitted.
    pub strategy: Option<String>,
    /// Strategy parameters, per the strategy's parameter schema.
    pub parameters: Option<JsonValue>,
    /// Distinct layouts to return, 1 to 20 (default 1).
    pub alternatives: Option<i32>,
    /// A random seed: the same seed, site and program give the same layouts.
    pub seed: Option<i64>,
    /// Seconds the strategy may search (1 to 3,600); the strategy's own default when omitted.
    pub time_limit_seconds: Option<i32>,
    /// An address to e-mail when the job ends (when the server has SMTP configured). It
    /// must be the address of a member of the job's organization.
    pub notify_email: Option<String>,
    /// Replaces any of the program's objective weights (defaults: cost 40, buildable
    /// area 30, accessibility 15, environmental impact 10, aesthetics 5).
    pub objective_weights: Option<ObjectiveWeightsInput>,
    /// Re-optimizes around a stored layout of this site, typically one saved with
    /// `saveLayoutEdits`: its assets in `keepAssets` stay where they are, the strategy
    /// places the rest of the program around them, and roads are routed again for all.
    pub seed_layout_id: Option<ID>,
    /// Asset ids of the seed layout to keep in place (as in its GeoJSON, e.g.
    /// `building-2`); every asset it placed when omitted.
    pub keep_assets: Option<Vec<String>>,
}

/// Objective weights; an omitted one keeps the program's (or the default).
#[derive(async_graphql::InputObject)]
pub struct ObjectiveWeightsInput {
    /// Weight of the construction cost term (lower cost scores higher).
    pub cost: Option<f64>,
    /// Weight of the share of the program placed.
    pub buildable_area: Option<f64>,
    /// Weight of short roads and walks to the entrance.
    pub accessibility: Option<f64>,
    /// Weight of keeping clear of exclusion zones and moving little earth.
    pub environmental_impact: Option<f64>,
    /// Weight of an orderly arrangement (aligned, evenly spaced).
    pub aesthetics: Option<f64>,
}

impl TryFrom<CreateJobInput> for jobs::JobRequest {
    type Error = async_graphql::Error;

    fn try_from(input: CreateJobInput) -> Result<Self, Self::Error> {
        let site_id = decode_typed_id(&input.site_id, "Site")
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let seed_layout_id = input
            .seed_layout_id
            .as_ref()
            .map(|id| decode_typed_id(id, "Layout"))
            .transpose()
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(jobs::JobRequest {
            site_id,
            program: input.program.map(|json| json.0),
            strategy: input.strategy,
            parameters: input.parameters.map(|json| json.0),
            objective_weights: input.objective_weights.map(|weights| {
                entmoot_plugin_sdk::objectives::WeightOverrides {
                    cost: weights.cost,
                    buildable_area: weights.buildable_area,
                    accessibility: weights.accessibility,
                    environmental_impact: weights.environmental_impact,
                    aesthetics: weights.aesthetics,
                }
            }),
            alternatives: input.alternatives.map(i64::from),
            seed: input.seed,
            time_limit_seconds: input.time_limit_seconds.map(i64::from),
            notify_email: input.notify_email,
            seed_layout_id,
            keep_assets: input.keep_assets,
        })
    }
}

fn bad_input(message: String) -> async_graphql::Error {
    coded_error(ErrorCode::BadUserInput, message)
}

impl CreateSiteInput {
    fn into_new_site(self) -> Result<NewSite, async_graphql::Error> {
        let project_id = decode_typed_id(&self.project_id, "Project")
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let polygons = read_polygons(&self.boundary.0.to_string())
            .map_err(|error| bad_input(format!("input.boundary: {error}")))?;
        if polygons.is_empty() {
            return Err(bad_input(
                "input.boundary: contains no Polygon or MultiPolygon".into(),
            ));
        }
        let boundary = MultiPolygon::new(
            polygons
                .into_iter()
                .flat_map(|named| named.geometry.0)
                .collect(),
        );
        let exclusions = exclusions_from_input(self.exclusions)?;
        let entrances = entrances_from_input(&self.entrances)?;
        NewSite::parse(
            project_id,
            &self.name,
            Site {
                boundary,
                exclusions,
                entrances,
            },
        )
        .map_err(IntoGraphqlError::into_graphql_error)
    }
}

/// Refuses (LIMIT_EXCEEDED) geometry with more vertices than a site may have, before
/// any of it is read.
fn refuse_over_vertex_limit(what: &str, vertices: usize) -> Result<()> {
    use entmoot_domain::heavy_work::MAX_SITE_VERTICES;
    if vertices > MAX_SITE_VERTICES {
        return Err(coded_error(
            ErrorCode::LimitExceeded,
            format!("{what} has {vertices} vertices; at most {MAX_SITE_VERTICES} are accepted"),
        ));
    }
    Ok(())
}

/// The exclusion zones of a site input, with errors that name `input.exclusions[i]`.
fn exclusions_from_input(
    zones: Vec<ExclusionZoneInput>,
) -> Result<Vec<Exclusion>, async_graphql::Error> {
    let mut exclusions = Vec::with_capacity(zones.len());
    for (index, zone) in zones.into_iter().enumerate() {
        let kind: ExclusionKind =
            serde_json::from_value(serde_json::Value::String(zone.kind.clone())).map_err(|_| {
                bad_input(format!(
                    "input.exclusions[{index}].kind: `{}` is not an exclusion kind",
                    zone.kind
                ))
            })?;
        let geometry: geojson::Geometry =
            match serde_json::from_value::<geojson::GeoJson>(zone.geometry.0) {
                Ok(geojson::GeoJson::Geometry(geometry)) => geometry,
                Ok(geojson::GeoJson::Feature(feature)) => feature.geometry.ok_or_else(|| {
                    bad_input(format!(
                        "input.exclusions[{index}].geometry: the Feature has no geometry"
                    ))
                })?,
                _ => {
                    return Err(bad_input(format!(
                        "input.exclusions[{index}].geometry: must be a geometry or a Feature"
                    )));
                }
            };
        if !matches!(
            geometry.value,
            geojson::GeometryValue::Polygon { .. } | geojson::GeometryValue::MultiPolygon { .. }
        ) {
            // A point or a line excludes no area: refused rather than kept as nothing.
            return Err(bad_input(format!(
                "input.exclusions[{index}].geometry: must be a Polygon or MultiPolygon, got a {}",
                geometry.value.type_name()
            )));
        }
        let geometry = entmoot_plugin_sdk::geometry::geojson_to_geo(&geometry)
            .map_err(|error| bad_input(format!("input.exclusions[{index}].geometry: {error}")))?;
        exclusions.push(Exclusion {
            kind,
            buffer_m: zone.buffer_m,
            geometry,
            name: zone.name,
        });
    }
    Ok(exclusions)
}

/// The entrances of a site input, with errors that name `input.entrances[i]`.
fn entrances_from_input(entrances: &[Vec<f64>]) -> Result<Vec<Coord>, async_graphql::Error> {
    let mut entrances_out = Vec::with_capacity(entrances.len());
    for (index, entrance) in entrances.iter().enumerate() {
        match entrance.as_slice() {
            [x, y] => entrances_out.push(Coord { x: *x, y: *y }),
            _ => {
                return Err(bad_input(format!(
                    "input.entrances[{index}]: must be [longitude, latitude]"
                )));
            }
        }
    }
    Ok(entrances_out)
}

#[Object]
impl SiteAndJobMutations {
    /// Creates a site of a project from GeoJSON.
    async fn create_site(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new site.")] input: CreateSiteInput,
    ) -> Result<SiteNode> {
        let caller = caller(ctx)?;
        use entmoot_domain::heavy_work::{count_positions, off_the_request_thread};
        let vertices = count_positions(&input.boundary.0)
            + input
                .exclusions
                .iter()
                .map(|zone| count_positions(&zone.geometry.0))
                .sum::<usize>();
        refuse_over_vertex_limit("input: the site", vertices)?;
        // Reading and repairing the polygons is CPU work: off the request thread.
        let new_site = off_the_request_thread(move || input.into_new_site())
            .await
            .map_err(|error| coded_error(ErrorCode::LimitExceeded, error.to_string()))??;
        sites::create_site(&app(ctx).database, caller, new_site)
            .await
            .map(SiteNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// Renames a site, or replaces its exclusion zones or its entrances. Jobs already
    /// created keep the site as it was.
    async fn update_site(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What changes.")] input: UpdateSiteInput,
    ) -> Result<SiteNode> {
        let caller = caller(ctx)?;
        use entmoot_domain::heavy_work::{count_positions, off_the_request_thread};
        let vertices = input
            .exclusions
            .iter()
            .flatten()
            .map(|zone| count_positions(&zone.geometry.0))
            .sum::<usize>();
        refuse_over_vertex_limit("input.exclusions", vertices)?;
        let (site_id, changes) = off_the_request_thread(move || input.into_changes())
            .await
            .map_err(|error| coded_error(ErrorCode::LimitExceeded, error.to_string()))??;
        sites::update_site(&app(ctx).database, caller, site_id, changes)
            .await
            .map(SiteNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// Links a terrain upload (`uploadTerrain`, a GeoTIFF DEM of the same project) to a
    /// site, or unlinks it with a null `fileId`. Jobs, edit checks and exports of the
    /// site then exclude ground steeper than the program's slope limit, check road
    /// grades and measure earthwork. The file is kept until deleted.
    async fn set_site_terrain(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The site's global id.")] site_id: ID,
        #[graphql(desc = "A terrain upload of the same project, or null to unlink.")]
        file_id: Option<ID>,
    ) -> Result<SiteNode> {
        let caller = caller(ctx)?;
        let site_id =
            decode_typed_id(&site_id, "Site").map_err(IntoGraphqlError::into_graphql_error)?;
        let file_id = file_id
            .as_ref()
            .map(|id| decode_typed_id(id, "File"))
            .transpose()
            .map_err(IntoGraphqlError::into_graphql_error)?;
        entmoot_domain::terrain::set_site_terrain(&app(ctx).database, caller, site_id, file_id)
            .await
            .map(SiteNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// Stops a job: a queued job ends at once, a running one within a second.
    async fn cancel_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's global id.")] id: ID,
    ) -> Result<JobNode> {
        let caller = caller(ctx)?;
        let id = decode_typed_id(&id, "Job").map_err(IntoGraphqlError::into_graphql_error)?;
        jobs::cancel_job(app(ctx), caller, id)
            .await
            .map(JobNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// Queues a failed or cancelled job again.
    async fn retry_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's global id.")] id: ID,
    ) -> Result<JobNode> {
        let caller = caller(ctx)?;
        let id = decode_typed_id(&id, "Job").map_err(IntoGraphqlError::into_graphql_error)?;
        jobs::retry_job(app(ctx), caller, id)
            .await
            .map(JobNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// Queues an optimization job; follow it with `job(id)`.
    async fn create_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run to queue.")] input: CreateJobInput,
    ) -> Result<JobNode> {
        let caller = caller(ctx)?;
        let request = jobs::JobRequest::try_from(input)?;
        jobs::submit_job(app(ctx), caller, request)
            .await
            .map(JobNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }
}

/// A plugin file that is not loaded, and why.
#[derive(async_graphql::SimpleObject)]
pub struct PluginRefusal {
    /// The file as installed.
    pub path: String,
    /// Why it was refused.
    pub reason: String,
}

/// The strategies after a reload, and the files that were not loaded.
#[derive(async_graphql::SimpleObject)]
pub struct ReloadStrategiesPayload {
    /// Every strategy now loaded, by name then version (newest first).
    pub strategies: Vec<StrategyView>,
    /// Every plugin file currently refused, with the reason (a replaced file refused
    /// this way leaves the version it replaced in service).
    pub refused: Vec<PluginRefusal>,
    /// What this reload changed, in one line ("no change" when the file watcher was
    /// faster).
    pub summary: String,
}

#[derive(Default)]
pub struct StrategyMutations;

#[Object]
impl StrategyMutations {
    /// Rescans the plugin directories now (the operator only: an admin of the local
    /// organization). The server also
    /// reloads by itself within seconds of a file change; jobs already running keep the
    /// version they started with. Reloads this process only: separate workers watch
    /// their own directories.
    async fn reload_strategies(&self, ctx: &Context<'_>) -> Result<ReloadStrategiesPayload> {
        let caller = caller(ctx)?;
        let operator = ctx
            .data_opt::<entmoot_domain::strategies::OperatorOrganization>()
            .copied()
            .ok_or_else(|| {
                coded_error(
                    ErrorCode::Forbidden,
                    "this server has no operator organization; reload with the file watcher",
                )
            })?;
        let reloaded =
            entmoot_domain::strategies::reload_strategies(&app(ctx).plugins, caller, operator)
                .await
                .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(ReloadStrategiesPayload {
            strategies: reloaded.strategies.iter().map(StrategyView::from).collect(),
            refused: reloaded
                .refused
                .into_iter()
                .map(|refused| PluginRefusal {
                    path: refused.path.display().to_string(),
                    reason: refused.reason,
                })
                .collect(),
            summary: reloaded.report.to_string(),
        })
    }
}
