//! Reads of many parents' children in one query each: the sites of several projects,
//! the layouts of several jobs, the latest layout of several sites. The GraphQL
//! DataLoaders (`graphql::loaders`) call these so that a page of projects with their
//! sites and latest layouts costs a fixed number of queries, whatever its size.
//!
//! Every function takes the organization and filters by it, like every other domain
//! read: a batch never mixes in another organization's rows, even when the ids were
//! guessed.

use std::collections::HashMap;

use entmoot_entities::{jobs, layouts, projects, sites};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// The first `per_project` sites of each of `project_ids`, oldest first (the first page
/// of `Project.sites` for a whole page of projects in one query); a project without sites
/// has no entry. A window function numbers each project's sites, so no project's list is
/// read beyond what one page can show.
pub async fn first_sites_of_projects(
    database: &DatabaseConnection,
    organization_id: Uuid,
    project_ids: &[Uuid],
    per_project: u64,
) -> Result<HashMap<Uuid, Vec<sites::Model>>, DbErr> {
    use sea_orm::Value;
    use sea_orm::sea_query::{Asterisk, SelectStatement};
    let position = Alias::new("position_in_project");
    let mut numbered = SelectStatement::new();
    numbered
        .column((sites::Entity, Asterisk))
        .expr_as(
            Expr::cust("ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY created_at, id)"),
            position.clone(),
        )
        .from(sites::Entity)
        .and_where(Expr::col(sites::Column::OrganizationId).eq(organization_id))
        .and_where(Expr::col(sites::Column::ProjectId).is_in(project_ids.iter().copied()));
    let mut first_rows = Query::select();
    first_rows
        .column(Asterisk)
        .from_subquery(numbered, Alias::new("numbered"))
        .and_where(Expr::col(position).lte(Value::BigUnsigned(Some(per_project))))
        .order_by(sites::Column::CreatedAt, sea_orm::Order::Asc)
        .order_by(sites::Column::Id, sea_orm::Order::Asc);
    let statement = database.get_database_backend().build(&first_rows);
    let rows = sites::Entity::find()
        .from_raw_sql(statement)
        .all(database)
        .await?;
    let mut by_project: HashMap<Uuid, Vec<sites::Model>> = HashMap::new();
    for site in rows {
        by_project.entry(site.project_id).or_default().push(site);
    }
    Ok(by_project)
}

/// One page of a project's sites, oldest first (`Project.sites` with a cursor).
pub async fn page_of_sites(
    database: &DatabaseConnection,
    organization_id: Uuid,
    project_id: Uuid,
    page: &crate::paging::PageRequest,
) -> Result<crate::paging::Page<sites::Model>, DbErr> {
    let query = sites::Entity::find()
        .filter(sites::Column::OrganizationId.eq(organization_id))
        .filter(sites::Column::ProjectId.eq(project_id));
    let rows = crate::paging::select_page(
        query,
        sites::Column::CreatedAt,
        sites::Column::Id,
        page,
        false,
    )
    .all(database)
    .await?;
    Ok(crate::paging::finish_page(rows, page))
}

/// The layouts of each of `job_ids`, best (rank 0) first.
pub async fn layouts_of_jobs(
    database: &DatabaseConnection,
    organization_id: Uuid,
    job_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<layouts::Model>>, DbErr> {
    let rows = layouts::Entity::find()
        .filter(layouts::Column::OrganizationId.eq(organization_id))
        .filter(layouts::Column::JobId.is_in(job_ids.iter().copied()))
        .filter(layouts::Column::EditedFromId.is_null())
        .order_by_asc(layouts::Column::Rank)
        .all(database)
        .await?;
    let mut by_job: HashMap<Uuid, Vec<layouts::Model>> = HashMap::new();
    for layout in rows {
        by_job.entry(layout.job_id).or_default().push(layout);
    }
    Ok(by_job)
}

/// A layout row without its two large columns (`layout`, the placed assets in metres,
/// and `geojson`): what a list of layouts needs. Decoding those JSON documents for every
/// row of a page cost more than everything else in it (BENCHMARKS.md, GraphQL API).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
struct LayoutSummary {
    id: Uuid,
    organization_id: Uuid,
    job_id: Uuid,
    site_id: Uuid,
    rank: i32,
    requested_count: i32,
    placed_count: i32,
    metrics: serde_json::Value,
    cost: serde_json::Value,
    earthwork: serde_json::Value,
    edited_from_id: Option<Uuid>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<LayoutSummary> for layouts::Model {
    fn from(summary: LayoutSummary) -> Self {
        layouts::Model {
            id: summary.id,
            organization_id: summary.organization_id,
            job_id: summary.job_id,
            site_id: summary.site_id,
            rank: summary.rank,
            requested_count: summary.requested_count,
            placed_count: summary.placed_count,
            metrics: summary.metrics,
            cost: summary.cost,
            earthwork: summary.earthwork,
            layout: serde_json::Value::Null,
            geojson: serde_json::Value::Null,
            edited_from_id: summary.edited_from_id,
            created_at: summary.created_at,
        }
    }
}

/// Whether `layout` came from a summary read: its `layout` and `geojson` are not loaded
/// (a stored layout always has both as JSON objects).
pub fn is_summary(layout: &layouts::Model) -> bool {
    serde_json::Value::is_null(&layout.geojson)
}

/// The newest best layout of each of `site_ids`: the rank-0 layout created last, which
/// is the best alternative of the latest succeeded job or a saved edit made after it.
/// A site without layouts has no entry. The rows are summaries (`is_summary`): read the
/// layout by id for its GeoJSON.
pub async fn latest_layouts_of_sites(
    database: &DatabaseConnection,
    organization_id: Uuid,
    site_ids: &[Uuid],
) -> Result<HashMap<Uuid, layouts::Model>, DbErr> {
    // A correlated subquery keeps this to one round trip and one row per site (plus
    // ties on created_at), instead of every layout the sites ever had.
    let other = Alias::new("newer");
    let newest_of_same_site = Query::select()
        .expr(Func::max(Expr::col((
            other.clone(),
            layouts::Column::CreatedAt,
        ))))
        .from_as(layouts::Entity, other.clone())
        .and_where(
            Expr::col((other.clone(), layouts::Column::SiteId))
                .equals((layouts::Entity, layouts::Column::SiteId)),
        )
        .and_where(Expr::col((other, layouts::Column::Rank)).eq(0))
        .to_owned();
    let rows = layouts::Entity::find()
        .select_only()
        .columns([
            layouts::Column::Id,
            layouts::Column::OrganizationId,
            layouts::Column::JobId,
            layouts::Column::SiteId,
            layouts::Column::Rank,
            layouts::Column::RequestedCount,
            layouts::Column::PlacedCount,
            layouts::Column::Metrics,
            layouts::Column::Cost,
            layouts::Column::Earthwork,
            layouts::Column::EditedFromId,
            layouts::Column::CreatedAt,
        ])
        .filter(layouts::Column::OrganizationId.eq(organization_id))
        .filter(layouts::Column::SiteId.is_in(site_ids.iter().copied()))
        .filter(layouts::Column::Rank.eq(0))
        .filter(
            Expr::col((layouts::Entity, layouts::Column::CreatedAt))
                .in_subquery(newest_of_same_site),
        )
        .order_by_asc(layouts::Column::Id)
        .into_model::<LayoutSummary>()
        .all(database)
        .await?;
    let mut by_site = HashMap::new();
    for layout in rows {
        // Ties on created_at: the first by id wins, so the answer is stable.
        by_site
            .entry(layout.site_id)
            .or_insert_with(|| layouts::Model::from(layout));
    }
    Ok(by_site)
}

/// Projects by id.
pub async fn projects_by_id(
    database: &DatabaseConnection,
    organization_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, projects::Model>, DbErr> {
    let rows = projects::Entity::find()
        .filter(projects::Column::OrganizationId.eq(organization_id))
        .filter(projects::Column::Id.is_in(ids.iter().copied()))
        .all(database)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// Sites by id.
pub async fn sites_by_id(
    database: &DatabaseConnection,
    organization_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, sites::Model>, DbErr> {
    let rows = sites::Entity::find()
        .filter(sites::Column::OrganizationId.eq(organization_id))
        .filter(sites::Column::Id.is_in(ids.iter().copied()))
        .all(database)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// Jobs by id.
pub async fn jobs_by_id(
    database: &DatabaseConnection,
    organization_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, jobs::Model>, DbErr> {
    let rows = jobs::Entity::find()
        .filter(jobs::Column::OrganizationId.eq(organization_id))
        .filter(jobs::Column::Id.is_in(ids.iter().copied()))
        .all(database)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// Layouts by id.
pub async fn layouts_by_id(
    database: &DatabaseConnection,
    organization_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, layouts::Model>, DbErr> {
    let rows = layouts::Entity::find()
        .filter(layouts::Column::OrganizationId.eq(organization_id))
        .filter(layouts::Column::Id.is_in(ids.iter().copied()))
        .all(database)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}
