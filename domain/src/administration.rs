//! An organization administered by its own admins: who its members are, and its API keys
//! (listed, issued, revoked). Operators reach the same tables for every organization
//! through `entmoot admin`; these operations reach only the caller's organization, and
//! only for an admin.

use chrono::{DateTime, Utc};
use entmoot_entities::{memberships, users};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::access::{
    ApiKeyError, ApiKeySummary, IssuedApiKey, NewApiKey, issue_api_key, list_api_keys,
};
use crate::caller::{Caller, Role};
use crate::context::AppContext;

/// A person in the organization, with their role there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdministrationError {
    #[error("only the organization's admins see and manage its members and API keys")]
    Forbidden,
    #[error(transparent)]
    Key(#[from] ApiKeyError),
    #[error("reading or writing the organization failed")]
    Database(#[from] DbErr),
}

fn admin_only(caller: &Caller) -> Result<(), AdministrationError> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(AdministrationError::Forbidden)
    }
}

/// The organization's members, longest-standing first.
pub async fn members_of(
    database: &DatabaseConnection,
    caller: &Caller,
) -> Result<Vec<Member>, AdministrationError> {
    admin_only(caller)?;
    let memberships = memberships::Entity::find()
        .filter(memberships::Column::OrganizationId.eq(caller.organization_id))
        .order_by_asc(memberships::Column::CreatedAt)
        .all(database)
        .await?;
    let people: std::collections::HashMap<Uuid, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(memberships.iter().map(|membership| membership.user_id)))
        .all(database)
        .await?
        .into_iter()
        .map(|user| (user.id, user))
        .collect();
    Ok(memberships
        .into_iter()
        .filter_map(|membership| {
            let person = people.get(&membership.user_id)?;
            Some(Member {
                user_id: person.id,
                email: person.email.clone(),
                display_name: person.display_name.clone(),
                // A role the database does not know is shown as the least one.
                role: Role::parse(&membership.role).unwrap_or(Role::Viewer),
                joined_at: membership.created_at,
            })
        })
        .collect())
}

/// The organization's API keys, revoked ones included, oldest first.
pub async fn api_keys_of(
    database: &DatabaseConnection,
    caller: &Caller,
) -> Result<Vec<ApiKeySummary>, AdministrationError> {
    admin_only(caller)?;
    Ok(list_api_keys(database, caller.organization_id).await?)
}

/// Issues a key of the caller's organization. A key issued by a person belongs to them:
/// it never does more than their membership allows, read on every request, and it stops
/// working when they leave.
pub async fn create_api_key(
    database: &DatabaseConnection,
    caller: &Caller,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedApiKey, AdministrationError> {
    admin_only(caller)?;
    let new_key = NewApiKey::parse(name, role, expires_at, caller.user_id)?;
    Ok(issue_api_key(database, caller.organization_id, new_key).await?)
}

/// Revokes a key of the caller's organization; another organization's key is not found.
/// Requests with it are refused from then on, and sockets opened with it close within
/// seconds.
pub async fn revoke_api_key(
    app: &AppContext,
    caller: &Caller,
    key_id: Uuid,
) -> Result<ApiKeySummary, AdministrationError> {
    admin_only(caller)?;
    let revoked =
        crate::access::revoke_api_key(&app.database, caller.organization_id, &key_id.to_string())
            .await?;
    crate::verified_keys::access_changed(app).await;
    Ok(revoked)
}
