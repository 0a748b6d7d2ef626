//! Organizations: the owner of every object. The embedded default runs as one local
//! organization until API keys and sign-in arrive.

use chrono::Utc;
use entmoot_entities::organizations;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

pub const LOCAL_ORGANIZATION_SLUG: &str = "local";

/// Returns the id of the organization with `slug`, creating it if it does not exist.
/// Safe to call from several processes at once: a lost insert race re-reads.
pub async fn ensure_organization(
    database: &DatabaseConnection,
    slug: &str,
    name: &str,
) -> Result<Uuid, DbErr> {
    if let Some(existing) = find_by_slug(database, slug).await? {
        return Ok(existing.id);
    }
    let inserted = organizations::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        slug: Set(slug.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(database)
    .await;
    match inserted {
        Ok(model) => Ok(model.id),
        // Another process created it between our read and our insert.
        Err(insert_error) => match find_by_slug(database, slug).await? {
            Some(existing) => Ok(existing.id),
            None => Err(insert_error),
        },
    }
}

async fn find_by_slug(
    database: &DatabaseConnection,
    slug: &str,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find()
        .filter(organizations::Column::Slug.eq(slug))
        .one(database)
        .await
}
