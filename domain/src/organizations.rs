//! Organizations: the owner of every object. The embedded default runs as one local
//! organization until API keys and sign-in arrive.

use chrono::Utc;
use entmoot_entities::{memberships, organizations, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::email_address::EmailAddress;

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

pub async fn find_by_slug(
    database: &DatabaseConnection,
    slug: &str,
) -> Result<Option<organizations::Model>, DbErr> {
    organizations::Entity::find()
        .filter(organizations::Column::Slug.eq(slug))
        .one(database)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    #[error(
        "`{0}` is not a valid slug: 1 to 63 lowercase letters, digits and dashes, not starting with a dash"
    )]
    InvalidSlug(String),
    #[error("an organization name has 1 to 200 printable characters")]
    InvalidName,
    #[error("an organization with slug `{0}` already exists")]
    SlugTaken(String),
    #[error("`{0}` is not an email address")]
    InvalidEmail(String),
    #[error("a user with email `{0}` already exists")]
    EmailTaken(String),
    #[error("storing failed")]
    Database(#[from] DbErr),
}

fn valid_slug(slug: &str) -> bool {
    (1..=63).contains(&slug.len())
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

fn valid_display_text(text: &str, max_chars: usize) -> bool {
    let chars = text.trim().chars().count();
    (1..=max_chars).contains(&chars) && !text.chars().any(char::is_control)
}

/// Creates an organization (for `entmoot admin organizations create`).
pub async fn create_organization(
    database: &DatabaseConnection,
    name: &str,
    slug: &str,
) -> Result<organizations::Model, OrganizationError> {
    if !valid_slug(slug) {
        return Err(OrganizationError::InvalidSlug(slug.to_owned()));
    }
    if !valid_display_text(name, 200) {
        return Err(OrganizationError::InvalidName);
    }
    if find_by_slug(database, slug).await?.is_some() {
        return Err(OrganizationError::SlugTaken(slug.to_owned()));
    }
    Ok(organizations::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.trim().to_owned()),
        slug: Set(slug.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(database)
    .await?)
}

/// Adds a person to an organization with a role (for `entmoot admin users create`).
/// Emails are stored lowercased, so sign-in does not depend on how one was typed.
pub async fn create_user(
    database: &DatabaseConnection,
    organization_id: Uuid,
    email: &str,
    display_name: &str,
    role: crate::caller::Role,
) -> Result<users::Model, OrganizationError> {
    let email = EmailAddress::parse(email)
        .map_err(|invalid| OrganizationError::InvalidEmail(invalid.0))?
        .into_string();
    if !valid_display_text(display_name, 200) {
        return Err(OrganizationError::InvalidName);
    }
    let taken = users::Entity::find()
        .filter(users::Column::Email.eq(email.clone()))
        .one(database)
        .await?;
    if taken.is_some() {
        return Err(OrganizationError::EmailTaken(email));
    }
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        email: Set(email),
        display_name: Set(display_name.trim().to_owned()),
        role: Set(role.as_str().to_owned()),
        password_hash: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(database)
    .await?;
    add_membership(database, user.id, organization_id, role).await?;
    Ok(user)
}

/// Gives a user a role in an organization, or changes the role they have there.
pub async fn add_membership(
    database: &DatabaseConnection,
    user_id: Uuid,
    organization_id: Uuid,
    role: crate::caller::Role,
) -> Result<(), DbErr> {
    let existing = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::OrganizationId.eq(organization_id))
        .one(database)
        .await?;
    // A reset token issued before this change must not outlive it (it would reach
    // the new role or organization): every pending one of the person ends.
    if let Some(user) = users::Entity::find_by_id(user_id).one(database).await? {
        crate::accounts::end_pending_resets(database, &user.email).await?;
    }
    match existing {
        Some(membership) if membership.role == role.as_str() => {}
        Some(membership) => {
            let mut active: memberships::ActiveModel = membership.into();
            active.role = Set(role.as_str().to_owned());
            active.update(database).await?;
        }
        None => {
            memberships::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user_id),
                organization_id: Set(organization_id),
                role: Set(role.as_str().to_owned()),
                created_at: Set(Utc::now()),
            }
            .insert(database)
            .await?;
        }
    }
    Ok(())
}

/// A user of an organization by email.
pub async fn find_user_by_email(
    database: &DatabaseConnection,
    organization_id: Uuid,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(users::Column::OrganizationId.eq(organization_id))
        .filter(users::Column::Email.eq(email.trim().to_lowercase()))
        .one(database)
        .await
}
