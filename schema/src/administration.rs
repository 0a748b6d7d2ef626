//! The organization's administration for its admins: `members`, `changeMemberRole`,
//! `removeMember`, `apiKeys`, `createApiKey` and `revokeApiKey`, each a call of one
//! `domain::administration` operation.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::accounts::{MemberRole, UserView};
use crate::errors::{ErrorCode, IntoGraphqlError, coded_error, database_error};
use crate::query::{app, caller};
use entmoot_domain::access::{ApiKeyError, ApiKeySummary};
use entmoot_domain::administration::{
    AdministrationError, Member, api_keys_of, change_member_role, create_api_key, members_of,
    remove_member, revoke_api_key,
};
use entmoot_domain::ids::{decode_typed_id, encode_global_id};

/// A person in the caller's organization.
#[derive(SimpleObject)]
#[graphql(name = "Member")]
pub struct MemberView {
    /// The person.
    pub user: UserView,
    /// Their role in the organization.
    pub role: MemberRole,
    /// When they joined it.
    pub joined_at: DateTime<Utc>,
}

/// An API key of the organization. Its secret is shown once, by `createApiKey`.
#[derive(SimpleObject)]
#[graphql(name = "ApiKey")]
pub struct ApiKeyView {
    /// The key's global id (what `revokeApiKey` takes).
    pub id: ID,
    /// What the key is for.
    pub name: String,
    /// The visible start of its token (`emk_<prefix>`), to recognise it by.
    pub prefix: String,
    /// The most it may do (never more than its owner's role, when it has one).
    pub role: MemberRole,
    /// The person it belongs to; null for a key issued by an operator.
    pub owner_id: Option<ID>,
    /// When it stops working; null for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked; null while it works.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

/// A key just issued.
#[derive(SimpleObject)]
pub struct ApiKeyIssued {
    /// The key as it is listed from now on.
    pub key: ApiKeyView,
    /// The token: send it as `Authorization: Bearer <token>`. Shown only here; it cannot
    /// be read again.
    pub token: String,
}

fn member_view(member: Member) -> MemberView {
    MemberView {
        user: UserView {
            id: ID(encode_global_id("User", member.user_id)),
            email: member.email,
            display_name: member.display_name,
        },
        role: member.role.into(),
        joined_at: member.joined_at,
    }
}

fn key_view(key: ApiKeySummary) -> ApiKeyView {
    ApiKeyView {
        id: ID(encode_global_id("ApiKey", key.id)),
        name: key.name,
        prefix: key.prefix,
        role: key.role.into(),
        owner_id: key.user_id.map(|id| ID(encode_global_id("User", id))),
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        last_used_at: key.last_used_at,
        created_at: key.created_at,
    }
}

impl IntoGraphqlError for AdministrationError {
    fn into_graphql_error(self) -> async_graphql::Error {
        match self {
            AdministrationError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            AdministrationError::MemberNotFound => {
                coded_error(ErrorCode::NotFound, self.to_string())
            }
            AdministrationError::LastAdmin => {
                coded_error(ErrorCode::BadUserInput, self.to_string())
            }
            AdministrationError::Key(ApiKeyError::NotFound) => {
                coded_error(ErrorCode::NotFound, "no API key with this id")
            }
            AdministrationError::Key(
                ApiKeyError::InvalidName(_)
                | ApiKeyError::ExpiryInThePast(_)
                | ApiKeyError::RoleAboveUser { .. },
            ) => coded_error(ErrorCode::BadUserInput, self.to_string()),
            AdministrationError::Key(ApiKeyError::UnknownUser) => coded_error(
                ErrorCode::Forbidden,
                "the caller is no longer a member of this organization",
            ),
            AdministrationError::Key(ApiKeyError::Database(error))
            | AdministrationError::Database(error) => database_error(error),
        }
    }
}

#[derive(Default)]
pub struct AdministrationQueries;

#[Object]
impl AdministrationQueries {
    /// The organization's members, longest-standing first (admins).
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<MemberView>> {
        let members = members_of(&app(ctx).database, caller(ctx)?)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(members.into_iter().map(member_view).collect())
    }

    /// The organization's API keys, revoked ones included, oldest first (admins).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKeyView>> {
        let keys = api_keys_of(&app(ctx).database, caller(ctx)?)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(keys.into_iter().map(key_view).collect())
    }
}

#[derive(Default)]
pub struct AdministrationMutations;

#[Object]
impl AdministrationMutations {
    /// Issues an API key of the caller's organization (admins). It belongs to the caller:
    /// it never does more than their role there, and stops working if they leave.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What the key is for, e.g. \"CI deploy script\" (1 to 100 characters).")]
        name: String,
        #[graphql(desc = "The most the key may do.")] role: MemberRole,
        #[graphql(desc = "When it stops working; never when omitted.")] expires_at: Option<
            DateTime<Utc>,
        >,
    ) -> Result<ApiKeyIssued> {
        let issued = create_api_key(
            &app(ctx).database,
            caller(ctx)?,
            &name,
            role.into(),
            expires_at,
        )
        .await
        .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(ApiKeyIssued {
            token: issued.token.expose().to_owned(),
            key: key_view(issued.key),
        })
    }

    /// Revokes an API key of the caller's organization (admins). Revoking twice keeps
    /// the first time.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's global id.")] id: ID,
    ) -> Result<ApiKeyView> {
        let caller = caller(ctx)?;
        let key_id =
            decode_typed_id(&id, "ApiKey").map_err(IntoGraphqlError::into_graphql_error)?;
        let revoked = revoke_api_key(app(ctx), caller, key_id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(key_view(revoked))
    }

    /// Gives a member of the caller's organization another role (admins). Their sessions
    /// and keys act with it from their next request. Refused (BAD_USER_INPUT) when it
    /// would leave the organization without an admin.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's user id (`Member.user.id`).")] user_id: ID,
        #[graphql(desc = "Their new role.")] role: MemberRole,
    ) -> Result<MemberView> {
        let caller = caller(ctx)?;
        let user_id =
            decode_typed_id(&user_id, "User").map_err(IntoGraphqlError::into_graphql_error)?;
        let member = change_member_role(app(ctx), caller, user_id, role.into())
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(member_view(member))
    }

    /// Removes a person from the caller's organization (admins; also yourself, while
    /// another admin remains). Their sessions and the keys they issued stop working here
    /// at once; what they made stays. Returns them as they were.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's user id (`Member.user.id`).")] user_id: ID,
    ) -> Result<MemberView> {
        let caller = caller(ctx)?;
        let user_id =
            decode_typed_id(&user_id, "User").map_err(IntoGraphqlError::into_graphql_error)?;
        let member = remove_member(app(ctx), caller, user_id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(member_view(member))
    }
}
