//! Projects: a development effort owned by an organization; holds sites.

use chrono::{DateTime, Utc};
use entmoot_entities::projects;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use uuid::Uuid;

use crate::caller::Caller;
use crate::paging::{Page, PageRequest, finish_page, select_page};

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// A project name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

/// An optional free-text description of at most 10 000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDescription(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProjectInputError {
    #[error("name: must not be empty")]
    EmptyName,
    #[error("name: must be at most {MAX_NAME_CHARS} characters, got {0}")]
    NameTooLong(usize),
    #[error("name: must not contain control characters")]
    NameControlCharacters,
    #[error("description: must be at most {MAX_DESCRIPTION_CHARS} characters, got {0}")]
    DescriptionTooLong(usize),
}

impl ProjectName {
    pub fn parse(raw: &str) -> Result<Self, ProjectInputError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(ProjectInputError::EmptyName);
        }
        if chars > MAX_NAME_CHARS {
            return Err(ProjectInputError::NameTooLong(chars));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ProjectInputError::NameControlCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ProjectDescription {
    pub fn parse(raw: &str) -> Result<Self, ProjectInputError> {
        let chars = raw.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(ProjectInputError::DescriptionTooLong(chars));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A validated request to create a project.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: ProjectName,
    pub description: Option<ProjectDescription>,
}

/// A project as the domain hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<projects::Model> for Project {
    fn from(model: projects::Model) -> Self {
        Self {
            id: model.id,
            organization_id: model.organization_id,
            name: model.name,
            description: model.description,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateProjectError {
    #[error("this caller may not create projects")]
    Forbidden,
    #[error("storing the project failed")]
    Database(#[from] DbErr),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadProjectError {
    #[error("no project with this id")]
    NotFound,
    #[error("reading projects failed")]
    Database(#[from] DbErr),
}

pub async fn create_project(
    database: &DatabaseConnection,
    caller: &Caller,
    new_project: NewProject,
) -> Result<Project, CreateProjectError> {
    if !caller.can_write() {
        return Err(CreateProjectError::Forbidden);
    }
    let now = Utc::now();
    let model = projects::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(caller.organization_id),
        name: Set(new_project.name.0),
        description: Set(new_project.description.map(|d| d.0)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(database)
    .await?;
    Ok(model.into())
}

/// Reads one project of the caller's organization. Another organization's project
/// is reported as not found, so ids do not leak existence.
pub async fn find_project(
    database: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Project, ReadProjectError> {
    projects::Entity::find_by_id(id)
        .filter(projects::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .map(Project::from)
        .ok_or(ReadProjectError::NotFound)
}

/// Which projects a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
}

/// The order of a listing; the page cursor follows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProjectOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// `%` and `_` in user text match themselves, not any characters.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Lists the caller's projects that pass `filter`, in `order`, a page at a time.
pub async fn list_projects(
    database: &DatabaseConnection,
    caller: &Caller,
    page: &PageRequest,
    filter: &ProjectFilter,
    order: ProjectOrder,
) -> Result<Page<Project>, ReadProjectError> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let mut query = projects::Entity::find()
        .filter(projects::Column::OrganizationId.eq(caller.organization_id));
    if let Some(text) = filter
        .name_contains
        .as_deref()
        .filter(|text| !text.is_empty())
    {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(projects::Column::Name)))
                .like(LikeExpr::new(like_pattern(text)).escape('\\')),
        );
    }
    let rows = select_page(
        query,
        projects::Column::CreatedAt,
        projects::Column::Id,
        page,
        order == ProjectOrder::NewestFirst,
    )
    .all(database)
    .await?;
    let page = finish_page(rows, page);
    Ok(Page {
        items: page.items.into_iter().map(Project::from).collect(),
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_validated() {
        assert_eq!(
            ProjectName::parse("  Solar farm ").map(|n| n.0),
            Ok("Solar farm".into())
        );
        assert_eq!(ProjectName::parse("   "), Err(ProjectInputError::EmptyName));
        assert_eq!(
            ProjectName::parse(&"x".repeat(201)),
            Err(ProjectInputError::NameTooLong(201))
        );
        assert_eq!(
            ProjectName::parse("a\u{7}b"),
            Err(ProjectInputError::NameControlCharacters)
        );
    }
}

/// A validated change: absent fields stay as they are; a description of `Some(None)`
/// is removed.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<ProjectName>,
    pub description: Option<Option<ProjectDescription>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeProjectError {
    #[error("this caller may not change projects")]
    Forbidden,
    #[error("no project with this id")]
    NotFound,
    #[error("the project has {0} queued or running job(s); cancel them before deleting it")]
    ActiveJobs(u64),
    #[error("removing the project's file `{key}` from storage failed: {reason}")]
    Storage { key: String, reason: String },
    #[error("changing the project failed")]
    Database(#[from] DbErr),
}

async fn own_project(
    database: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<projects::Model, ChangeProjectError> {
    if !caller.can_write() {
        return Err(ChangeProjectError::Forbidden);
    }
    projects::Entity::find_by_id(id)
        .filter(projects::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(ChangeProjectError::NotFound)
}

pub async fn update_project(
    database: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    changes: ProjectChanges,
) -> Result<Project, ChangeProjectError> {
    let project = own_project(database, caller, id).await?;
    let mut active: projects::ActiveModel = project.into();
    if let Some(name) = changes.name {
        active.name = Set(name.0);
    }
    if let Some(description) = changes.description {
        active.description = Set(description.map(|d| d.0));
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(database).await?.into())
}

/// Deletes a project with its sites, jobs, layouts and files (objects first, so that
/// no stored object outlives its row). Refused while any of its jobs may still run.
pub async fn delete_project(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    id: Uuid,
) -> Result<(), ChangeProjectError> {
    use entmoot_entities::{files, jobs};
    use sea_orm::PaginatorTrait;
    let project = own_project(database, caller, id).await?;
    let active_jobs = jobs::Entity::find()
        .filter(jobs::Column::ProjectId.eq(project.id))
        .filter(jobs::Column::Status.is_in([
            crate::jobs::JobStatus::Queued,
            crate::jobs::JobStatus::Running,
        ]))
        .count(database)
        .await?;
    if active_jobs > 0 {
        return Err(ChangeProjectError::ActiveJobs(active_jobs));
    }
    let project_files = files::Entity::find()
        .filter(files::Column::ProjectId.eq(project.id))
        .filter(files::Column::OrganizationId.eq(caller.organization_id))
        .all(database)
        .await?;
    for file in &project_files {
        storage
            .delete(&file.storage_key)
            .await
            .map_err(|error| ChangeProjectError::Storage {
                key: file.storage_key.clone(),
                reason: error.to_string(),
            })?;
    }
    let transaction = database.begin().await?;
    files::Entity::delete_many()
        .filter(files::Column::ProjectId.eq(project.id))
        .exec(&transaction)
        .await?;
    // Sites, jobs, layouts and buildings go with the project (foreign keys cascade).
    projects::Entity::delete_by_id(project.id)
        .exec(&transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}
