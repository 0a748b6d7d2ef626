//! DataLoaders: a field that reads a parent's children (`Project.sites`,
//! `Site.latestLayout`, `Job.layouts`, `Layout.job`, …) asks a loader, which gathers
//! the keys of every parent resolved in the same tick and reads them with one query
//! (`domain::batched_reads`). A page of 100 projects with their sites and latest
//! layouts is then three queries, not 201.
//!
//! Keys carry the caller's organization, so one loader can serve every request: a
//! batch groups its keys by organization and each read filters by it. The loaders keep
//! no cache between batches, so a request never sees another request's rows or stale
//! ones.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entmoot_entities::{jobs, layouts, projects, sites};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use entmoot_domain::batched_reads;

/// A row of `organization_id`'s: every loader key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnedKey {
    pub organization_id: Uuid,
    pub id: Uuid,
}

/// The loaders of the schema, registered as schema data by `build_schema`.
pub struct Loaders {
    pub sites_of_project: DataLoader<SitesOfProject>,
    pub latest_layout_of_site: DataLoader<LatestLayoutOfSite>,
    pub layouts_of_job: DataLoader<LayoutsOfJob>,
    pub project_by_id: DataLoader<ById<projects::Model>>,
    pub site_by_id: DataLoader<ById<sites::Model>>,
    pub job_by_id: DataLoader<ById<jobs::Model>>,
    pub layout_by_id: DataLoader<ById<layouts::Model>>,
}

impl Loaders {
    pub fn new(database: DatabaseConnection) -> Self {
        Self {
            sites_of_project: DataLoader::new(SitesOfProject(database.clone()), tokio::spawn),
            latest_layout_of_site: DataLoader::new(
                LatestLayoutOfSite(database.clone()),
                tokio::spawn,
            ),
            layouts_of_job: DataLoader::new(LayoutsOfJob(database.clone()), tokio::spawn),
            project_by_id: DataLoader::new(ById::new(database.clone()), tokio::spawn),
            site_by_id: DataLoader::new(ById::new(database.clone()), tokio::spawn),
            job_by_id: DataLoader::new(ById::new(database.clone()), tokio::spawn),
            layout_by_id: DataLoader::new(ById::new(database), tokio::spawn),
        }
    }
}

/// Loader errors must be `Clone`; the database error is logged where it is turned
/// into a GraphQL error.
pub type LoadError = Arc<DbErr>;

/// Splits keys by organization: one read per organization in the batch (almost
/// always one).
fn by_organization(keys: &[OwnedKey]) -> HashMap<Uuid, Vec<Uuid>> {
    let mut grouped: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for key in keys {
        grouped.entry(key.organization_id).or_default().push(key.id);
    }
    grouped
}

/// Runs `read` once per organization among `keys` and keys its answers back.
async fn load_grouped<V, F, Fut>(
    keys: &[OwnedKey],
    read: F,
) -> Result<HashMap<OwnedKey, V>, LoadError>
where
    F: Fn(Uuid, Vec<Uuid>) -> Fut,
    Fut: std::future::Future<Output = Result<HashMap<Uuid, V>, DbErr>>,
{
    let mut out = HashMap::with_capacity(keys.len());
    for (organization_id, ids) in by_organization(keys) {
        let found = read(organization_id, ids).await.map_err(Arc::new)?;
        out.extend(found.into_iter().map(|(id, value)| {
            (
                OwnedKey {
                    organization_id,
                    id,
                },
                value,
            )
        }));
    }
    Ok(out)
}

pub struct SitesOfProject(DatabaseConnection);

impl Loader<OwnedKey> for SitesOfProject {
    type Value = Vec<sites::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[OwnedKey]) -> Result<HashMap<OwnedKey, Self::Value>, Self::Error> {
        load_grouped(keys, |organization_id, ids| async move {
            // One row beyond the largest page tells whether a next page exists.
            batched_reads::first_sites_of_projects(
                &self.0,
                organization_id,
                &ids,
                entmoot_domain::paging::MAX_PAGE_SIZE + 1,
            )
            .await
        })
        .await
    }
}

pub struct LatestLayoutOfSite(DatabaseConnection);

impl Loader<OwnedKey> for LatestLayoutOfSite {
    type Value = layouts::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[OwnedKey]) -> Result<HashMap<OwnedKey, Self::Value>, Self::Error> {
        load_grouped(keys, |organization_id, ids| async move {
            batched_reads::latest_layouts_of_sites(&self.0, organization_id, &ids).await
        })
        .await
    }
}

pub struct LayoutsOfJob(DatabaseConnection);

impl Loader<OwnedKey> for LayoutsOfJob {
    type Value = Vec<layouts::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[OwnedKey]) -> Result<HashMap<OwnedKey, Self::Value>, Self::Error> {
        load_grouped(keys, |organization_id, ids| async move {
            batched_reads::layouts_of_jobs(&self.0, organization_id, &ids).await
        })
        .await
    }
}

/// Rows by id, for the fields that go up the tree (`Site.project`, `Layout.job`, …).
pub struct ById<Row> {
    database: DatabaseConnection,
    row: std::marker::PhantomData<fn() -> Row>,
}

impl<Row> ById<Row> {
    fn new(database: DatabaseConnection) -> Self {
        Self {
            database,
            row: std::marker::PhantomData,
        }
    }
}

macro_rules! by_id_loader {
    ($row:ty, $read:path) => {
        impl Loader<OwnedKey> for ById<$row> {
            type Value = $row;
            type Error = LoadError;

            async fn load(
                &self,
                keys: &[OwnedKey],
            ) -> Result<HashMap<OwnedKey, Self::Value>, Self::Error> {
                load_grouped(keys, |organization_id, ids| async move {
                    $read(&self.database, organization_id, &ids).await
                })
                .await
            }
        }
    };
}

by_id_loader!(projects::Model, batched_reads::projects_by_id);
by_id_loader!(sites::Model, batched_reads::sites_by_id);
by_id_loader!(jobs::Model, batched_reads::jobs_by_id);
by_id_loader!(layouts::Model, batched_reads::layouts_by_id);

/// The loaders of a request (registered by `build_schema`).
pub(crate) fn loaders<'a>(ctx: &'a async_graphql::Context<'_>) -> &'a Loaders {
    // Invariant: `build_schema` always registers the Loaders.
    ctx.data_unchecked::<Loaders>()
}

/// Loads the value of row `id` of `organization_id` through `loader`.
pub(crate) async fn load<L>(
    loader: &DataLoader<L>,
    organization_id: Uuid,
    id: Uuid,
) -> async_graphql::Result<Option<L::Value>>
where
    L: Loader<OwnedKey, Error = LoadError>,
{
    loader
        .load_one(OwnedKey {
            organization_id,
            id,
        })
        .await
        .map_err(load_error)
}

/// A loader failure as a GraphQL error: logged, and INTERNAL_SERVER_ERROR outside.
pub(crate) fn load_error(error: LoadError) -> async_graphql::Error {
    crate::errors::database_error(DbErr::Custom(error.to_string()))
}
