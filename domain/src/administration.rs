//! An organization administered by its own admins: who its members are (listed, their
//! role changed, removed) and its API keys (listed, issued, revoked). Operators reach the
//! same operations for every organization through `entmoot admin`; the caller's versions
//! reach only the caller's organization, and only for an admin.
//!
//! An organization always keeps an admin: a change that would leave it without one is
//! refused, also when two admins demote each other at the same moment (a change takes
//! the organization's row first, so changes of one organization run one at a time).

use chrono::{DateTime, Utc};
use entmoot_entities::organizations;
use entmoot_entities::{memberships, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
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
    #[error("no member with this id in the organization")]
    MemberNotFound,
    #[error("the organization would be left without an admin: make another member admin first")]
    LastAdmin,
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
            let person = people.get(&membership.user_id)?.clone();
            Some(member(person, &membership))
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

/// The user id of the organization's member with this e-mail, if there is one (for
/// operators, who name people by e-mail).
pub async fn member_by_email(
    database: &DatabaseConnection,
    organization_id: Uuid,
    email: &str,
) -> Result<Option<Uuid>, DbErr> {
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email.trim().to_lowercase()))
        .one(database)
        .await?
    else {
        return Ok(None);
    };
    Ok(memberships::Entity::find()
        .filter(memberships::Column::OrganizationId.eq(organization_id))
        .filter(memberships::Column::UserId.eq(user.id))
        .one(database)
        .await?
        .map(|membership| membership.user_id))
}

/// Gives a member another role (admins). Their sessions and keys act with the new role
/// from their next request; keys a person issued never exceed their role.
pub async fn change_member_role(
    app: &AppContext,
    caller: &Caller,
    user_id: Uuid,
    role: Role,
) -> Result<Member, AdministrationError> {
    admin_only(caller)?;
    let member = set_member_role(&app.database, caller.organization_id, user_id, role).await?;
    crate::verified_keys::access_changed(app).await;
    Ok(member)
}

/// Removes a person from the organization (admins; an admin may remove themselves when
/// another admin remains). Their sessions and the keys they issued stop working here at
/// once; what they made stays the organization's.
pub async fn remove_member(
    app: &AppContext,
    caller: &Caller,
    user_id: Uuid,
) -> Result<Member, AdministrationError> {
    admin_only(caller)?;
    let member = remove_from_organization(&app.database, caller.organization_id, user_id).await?;
    crate::verified_keys::access_changed(app).await;
    Ok(member)
}

/// `change_member_role` with the operator's authority (`entmoot admin users set-role`):
/// any organization, no caller. Running servers must still be told (`access_changed`).
pub async fn set_member_role(
    database: &DatabaseConnection,
    organization_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<Member, AdministrationError> {
    let transaction = database.begin().await?;
    let membership = locked_membership(&transaction, organization_id, user_id).await?;
    if role != Role::Admin {
        keeps_another_admin(&transaction, &membership).await?;
    }
    let mut changed: memberships::ActiveModel = membership.into();
    changed.role = ActiveValue::Set(role.as_str().to_owned());
    let membership = changed.update(&transaction).await?;
    let member = member_of(&transaction, membership).await?;
    transaction.commit().await?;
    Ok(member)
}

/// `remove_member` with the operator's authority (`entmoot admin users remove`).
pub async fn remove_from_organization(
    database: &DatabaseConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<Member, AdministrationError> {
    let transaction = database.begin().await?;
    let membership = locked_membership(&transaction, organization_id, user_id).await?;
    keeps_another_admin(&transaction, &membership).await?;
    let member = member_of(&transaction, membership.clone()).await?;
    membership.delete(&transaction).await?;
    transaction.commit().await?;
    Ok(member)
}

/// The membership, after taking the organization's row for this transaction, so that
/// membership changes of one organization happen one after the other. The row is taken
/// with a write that changes nothing: a row lock on PostgreSQL, and on SQLite the write
/// lock at the transaction's start (a read first would let two transactions read the
/// same admins and fail the second at its write).
async fn locked_membership(
    connection: &impl ConnectionTrait,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<memberships::Model, AdministrationError> {
    let taken = organizations::Entity::update_many()
        .col_expr(
            organizations::Column::Slug,
            Expr::col(organizations::Column::Slug),
        )
        .filter(organizations::Column::Id.eq(organization_id))
        .exec(connection)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AdministrationError::MemberNotFound);
    }
    memberships::Entity::find()
        .filter(memberships::Column::OrganizationId.eq(organization_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(connection)
        .await?
        .ok_or(AdministrationError::MemberNotFound)
}

/// Refuses when `membership` is the organization's only admin.
async fn keeps_another_admin(
    connection: &impl ConnectionTrait,
    membership: &memberships::Model,
) -> Result<(), AdministrationError> {
    if Role::parse(&membership.role) != Ok(Role::Admin) {
        return Ok(());
    }
    let other_admins = memberships::Entity::find()
        .filter(memberships::Column::OrganizationId.eq(membership.organization_id))
        .filter(memberships::Column::Role.eq(Role::Admin.as_str()))
        .filter(memberships::Column::Id.ne(membership.id))
        .count(connection)
        .await?;
    if other_admins == 0 {
        return Err(AdministrationError::LastAdmin);
    }
    Ok(())
}

async fn member_of(
    connection: &impl ConnectionTrait,
    membership: memberships::Model,
) -> Result<Member, AdministrationError> {
    let person = users::Entity::find_by_id(membership.user_id)
        .one(connection)
        .await?
        .ok_or(AdministrationError::MemberNotFound)?;
    Ok(member(person, &membership))
}

fn member(person: users::Model, membership: &memberships::Model) -> Member {
    Member {
        user_id: person.id,
        email: person.email,
        display_name: person.display_name,
        // A role the database does not know is shown as the least one.
        role: Role::parse(&membership.role).unwrap_or(Role::Viewer),
        joined_at: membership.created_at,
    }
}
