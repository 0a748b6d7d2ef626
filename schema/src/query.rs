//! Query root.

use async_graphql::{Context, ID, Object, Result};

use crate::errors::{ErrorCode, IntoGraphqlError, coded_error};
use crate::types::{Node, ProjectConnection, ProjectEdge, ProjectNode};
use entmoot_domain::caller::Caller;
use entmoot_domain::context::AppContext;
use entmoot_domain::ids::{decode_global_id, decode_typed_id};
use entmoot_domain::paging::{Cursor, PageRequest};
use entmoot_domain::projects;

/// Every read the API offers.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    ProjectQueries,
    SiteAndJobQueries,
    crate::files::FileQueries,
    crate::accounts::AccountQueries,
    crate::administration::AdministrationQueries,
    crate::layout_edits::LayoutEditQueries,
    crate::spatial::SpatialQueries,
);

#[derive(Default)]
pub struct ProjectQueries;

/// The caller of this request; a missing one is a field error, so the transport stays
/// per spec and other fields still resolve.
pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller> {
    ctx.data_opt::<Caller>().ok_or_else(|| {
        let reason = ctx
            .data_opt::<crate::AuthenticationRefused>()
            .map(|refused| refused.0.as_str())
            .unwrap_or("authentication required: send `Authorization: Bearer <API key>`");
        coded_error(ErrorCode::Unauthenticated, reason)
    })
}

pub(crate) fn app<'a>(ctx: &'a Context<'_>) -> &'a AppContext {
    // Invariant: `build_schema` always registers the AppContext.
    ctx.data_unchecked::<AppContext>()
}

/// Which projects `projects` lists.
#[derive(async_graphql::InputObject, Default)]
pub struct ProjectFilterInput {
    /// Case-insensitive part of the name.
    pub name_contains: Option<String>,
}

/// The order of `projects`; cursors follow it.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectOrderInput {
    /// Most recently created first.
    #[default]
    NewestFirst,
    /// Earliest created first.
    OldestFirst,
}

#[Object]
impl ProjectQueries {
    /// The version of the running server.
    async fn api_version(&self, ctx: &Context<'_>) -> Result<&'static str> {
        // Like every field, for callers only: a version tells an attacker what to try.
        caller(ctx)?;
        Ok(env!("CARGO_PKG_VERSION"))
    }

    /// Refetches any object by its global id.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id from any object's `id`.")] id: ID,
    ) -> Result<Option<Node>> {
        let caller = caller(ctx)?;
        let (type_name, uuid) =
            decode_global_id(&id).map_err(IntoGraphqlError::into_graphql_error)?;
        match type_name.as_str() {
            "Project" => match projects::find_project(&app(ctx).database, caller, uuid).await {
                Ok(project) => Ok(Some(Node::Project(ProjectNode(project)))),
                Err(projects::ReadProjectError::NotFound) => Ok(None),
                Err(error) => Err(error.into_graphql_error()),
            },
            "Job" => match entmoot_domain::jobs::find_job(&app(ctx).database, caller, uuid).await {
                Ok(job) => Ok(Some(Node::Job(crate::types::JobNode(job)))),
                Err(entmoot_domain::jobs::ReadJobError::NotFound) => Ok(None),
                Err(error) => Err(error.into_graphql_error()),
            },
            "Site" => entmoot_domain::sites::find_site(&app(ctx).database, caller, uuid)
                .await
                .map(|site| site.map(|site| Node::Site(crate::types::SiteNode(site))))
                .map_err(crate::errors::database_error),
            "Layout" => entmoot_domain::jobs::find_layout(&app(ctx).database, caller, uuid)
                .await
                .map(|layout| layout.map(|layout| Node::Layout(crate::types::LayoutNode(layout))))
                .map_err(crate::errors::database_error),
            _ => Ok(None),
        }
    }

    /// One of the caller's projects; NOT_FOUND for any other id.
    async fn project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's global id.")] id: ID,
    ) -> Result<ProjectNode> {
        let caller = caller(ctx)?;
        let uuid = decode_typed_id(&id, "Project").map_err(IntoGraphqlError::into_graphql_error)?;
        projects::find_project(&app(ctx).database, caller, uuid)
            .await
            .map(ProjectNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// The caller's projects, newest first unless `order` says otherwise, a page at a
    /// time.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::costs::page(first, last, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many projects from the start of the range (at most 100; 20 when neither `first` nor `last` is given)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Only projects after this cursor (an edge's `cursor`).")] after: Option<
            String,
        >,
        #[graphql(desc = "At most this many projects from the end of the range (at most 100).")]
        last: Option<i32>,
        #[graphql(desc = "Only projects before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the projects that pass this filter.")] filter: Option<
            ProjectFilterInput,
        >,
        #[graphql(desc = "NEWEST_FIRST when omitted.")] order: Option<ProjectOrderInput>,
    ) -> Result<ProjectConnection> {
        let caller = caller(ctx)?;
        let page_request = PageRequest::parse(
            first.map(i64::from),
            after.as_deref(),
            last.map(i64::from),
            before.as_deref(),
        )
        .map_err(IntoGraphqlError::into_graphql_error)?;
        let filter = projects::ProjectFilter {
            name_contains: filter.and_then(|filter| filter.name_contains),
        };
        let order = match order.unwrap_or_default() {
            ProjectOrderInput::NewestFirst => projects::ProjectOrder::NewestFirst,
            ProjectOrderInput::OldestFirst => projects::ProjectOrder::OldestFirst,
        };
        let page =
            projects::list_projects(&app(ctx).database, caller, &page_request, &filter, order)
                .await
                .map_err(IntoGraphqlError::into_graphql_error)?;
        let (edges, page_info) = crate::types::connection_parts(
            page,
            |project| Cursor {
                created_at: project.created_at,
                id: project.id,
            },
            |cursor, project| ProjectEdge {
                cursor,
                node: ProjectNode(project),
            },
        );
        Ok(ProjectConnection { edges, page_info })
    }
}

/// A strategy plugin as a frontend sees it: enough to render a parameter form.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "Strategy")]
pub struct StrategyView {
    /// The name jobs ask for (`createJob(strategy:)`).
    pub name: String,
    /// Its version (semantic versioning).
    pub version: String,
    /// What it does, in its author's words.
    pub description: String,
    /// Who wrote it.
    pub authors: Vec<String>,
    /// Its licence (SPDX), if it says.
    pub license: Option<String>,
    /// `{rotations, alternatives, terrainAware, deterministic}` as booleans.
    pub capabilities: crate::scalars::JsonValue,
    /// JSON Schema of the strategy's parameters, with defaults and descriptions.
    pub parameters_schema: crate::scalars::JsonValue,
}

impl From<&entmoot_plugin_host::StrategyInfo> for StrategyView {
    fn from(strategy: &entmoot_plugin_host::StrategyInfo) -> Self {
        let manifest = &strategy.manifest;
        StrategyView {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            description: manifest.description.clone(),
            authors: manifest.authors.clone(),
            license: manifest.license.clone(),
            capabilities: async_graphql::Json(serde_json::json!({
                "rotations": manifest.capabilities.rotations,
                "alternatives": manifest.capabilities.alternatives,
                "terrainAware": manifest.capabilities.terrain_aware,
                "deterministic": manifest.capabilities.deterministic,
            })),
            parameters_schema: async_graphql::Json(manifest.parameters.clone()),
        }
    }
}

#[derive(Default)]
pub struct SiteAndJobQueries;

#[Object]
impl SiteAndJobQueries {
    /// A site by id (as `project(id)` and `job(id)`; NOT_FOUND when it is not the
    /// caller's organization's).
    async fn site(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The site's global id.")] id: ID,
    ) -> Result<crate::types::SiteNode> {
        let caller = caller(ctx)?;
        let uuid = decode_typed_id(&id, "Site").map_err(IntoGraphqlError::into_graphql_error)?;
        entmoot_domain::sites::find_site(&app(ctx).database, caller, uuid)
            .await
            .map_err(crate::errors::database_error)?
            .map(crate::types::SiteNode)
            .ok_or_else(|| coded_error(ErrorCode::NotFound, "site not found"))
    }

    /// One of the caller's jobs; NOT_FOUND for any other id.
    async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's global id.")] id: ID,
    ) -> Result<crate::types::JobNode> {
        let caller = caller(ctx)?;
        let uuid = decode_typed_id(&id, "Job").map_err(IntoGraphqlError::into_graphql_error)?;
        entmoot_domain::jobs::find_job(&app(ctx).database, caller, uuid)
            .await
            .map(crate::types::JobNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }

    /// The strategies this server can run.
    async fn strategies(&self, ctx: &Context<'_>) -> Result<Vec<StrategyView>> {
        caller(ctx)?;
        let registry = app(ctx)
            .plugins
            .read()
            .map_err(|_| coded_error(ErrorCode::InternalServerError, "internal server error"))?;
        Ok(registry
            .strategies()
            .iter()
            .map(StrategyView::from)
            .collect())
    }
}
