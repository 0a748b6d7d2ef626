//! Sign-in for people: `signIn` and the session mutations, invitations, password
//! resets, and `viewer`. Sign-in, accepting an invitation and the reset mutations are
//! the only fields callers reach without a token.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::errors::{ErrorCode, IntoGraphqlError, coded_error, database_error};
use crate::query::{app, caller};
use crate::{ClientAddress, RequestIdentifier, SessionCredential};
use entmoot_domain::Caller;
use entmoot_domain::accounts::{
    AttemptOrigin, IssuedAccountToken, SignedIn, accept_invitation, change_password, invite_member,
    issue_password_reset, request_password_reset, reset_password, sign_in, sign_out,
    sign_out_everywhere, switch_organization, viewer_of,
};
use entmoot_domain::caller::Role;
use entmoot_domain::ids::encode_global_id;

/// A person with an account.
#[derive(SimpleObject)]
#[graphql(name = "User")]
pub struct UserView {
    /// The person's global id.
    pub id: ID,
    /// Their e-mail address, as they sign in with it.
    pub email: String,
    /// The name to show.
    pub display_name: String,
}

/// A person's role in one organization.
#[derive(SimpleObject)]
#[graphql(name = "Membership")]
pub struct MembershipView {
    /// The organization's global id.
    pub organization_id: ID,
    /// The organization's name.
    pub organization_name: String,
    /// The organization's short name, as `signIn(organization:)` takes it.
    pub organization_slug: String,
    /// Their role there.
    pub role: MemberRole,
}

/// Who the caller is.
#[derive(SimpleObject)]
pub struct Viewer {
    /// The signed-in person, or the user an API key belongs to; null for other keys.
    pub user: Option<UserView>,
    /// The organization this request acts for.
    pub organization_id: ID,
    /// The caller's role in that organization.
    pub role: MemberRole,
    /// Every organization the person belongs to.
    pub memberships: Vec<MembershipView>,
    /// Whether the request came with an API key rather than a session.
    pub api_key: bool,
}

/// A new session. The token is shown only here; send it as `Authorization: Bearer`.
#[derive(SimpleObject)]
pub struct Session {
    /// The session token: send it as `Authorization: Bearer <token>`. Shown only here.
    pub token: String,
    /// The person signed in.
    pub user: UserView,
    /// The organization the session acts for.
    pub organization_id: ID,
    /// The person's role there.
    pub role: MemberRole,
    /// Seconds the session lives without use; each use renews it.
    pub expires_in_seconds: u64,
}

/// An invitation or password reset as issued.
#[derive(SimpleObject)]
pub struct AccountTokenIssued {
    /// Whom it was issued for.
    pub email: String,
    /// The role an invitation grants (a reset keeps the person's role).
    pub role: MemberRole,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether it was sent by e-mail (SMTP configured).
    pub emailed: bool,
    /// The one-time token when it was not e-mailed: hand it to the person yourself.
    pub token: Option<String>,
}

fn user_view(user: &entmoot_entities::users::Model) -> UserView {
    UserView {
        id: ID(encode_global_id("User", user.id)),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
    }
}

fn session(ctx: &Context<'_>, signed_in: SignedIn) -> Session {
    Session {
        token: signed_in.token.expose().to_owned(),
        user: user_view(&signed_in.user),
        organization_id: ID(encode_global_id("Organization", signed_in.organization.id)),
        role: signed_in.role.into(),
        expires_in_seconds: app(ctx).session_ttl.as_secs(),
    }
}

fn issued(issued: IssuedAccountToken) -> AccountTokenIssued {
    AccountTokenIssued {
        email: issued.email,
        role: issued.role.into(),
        expires_at: issued.expires_at,
        emailed: issued.token.is_none(),
        token: issued.token.map(|token| token.expose().to_owned()),
    }
}

/// A member's role in an organization; each role can do what the one before it can.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    /// Reads everything of the organization.
    Viewer,
    /// A viewer who also creates and changes projects, sites, jobs and layouts.
    Editor,
    /// An editor who also manages members, invitations and API keys.
    Admin,
}

impl From<Role> for MemberRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => MemberRole::Viewer,
            Role::Editor => MemberRole::Editor,
            Role::Admin => MemberRole::Admin,
        }
    }
}

impl From<MemberRole> for Role {
    fn from(role: MemberRole) -> Self {
        match role {
            MemberRole::Viewer => Role::Viewer,
            MemberRole::Editor => Role::Editor,
            MemberRole::Admin => Role::Admin,
        }
    }
}

/// Where the request came from, for attempt limits and the audit log.
fn origin(ctx: &Context<'_>) -> AttemptOrigin {
    AttemptOrigin {
        client_address: ctx
            .data_opt::<ClientAddress>()
            .map(|address| address.0.clone())
            .unwrap_or_default(),
        request_id: ctx.data_opt::<RequestIdentifier>().map(|id| id.0.clone()),
    }
}

#[derive(Default)]
pub struct AccountQueries;

#[Object]
impl AccountQueries {
    /// The caller: their person (if any), organization, role and memberships.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let caller = caller(ctx)?;
        let found = viewer_of(&app(ctx).database, caller)
            .await
            .map_err(database_error)?;
        let (user, memberships) = match found {
            Some((user, memberships)) => (Some(user_view(&user)), memberships),
            None => (None, Vec::new()),
        };
        Ok(Viewer {
            user,
            organization_id: ID(encode_global_id("Organization", caller.organization_id)),
            role: caller.role.into(),
            memberships: memberships
                .into_iter()
                .map(|(organization, role)| MembershipView {
                    organization_id: ID(encode_global_id("Organization", organization.id)),
                    organization_name: organization.name,
                    organization_slug: organization.slug,
                    role: role.into(),
                })
                .collect(),
            api_key: caller.api_key_id.is_some(),
        })
    }
}

#[derive(Default)]
pub struct AccountMutations;

#[Object]
impl AccountMutations {
    /// Signs in with email and password, to `organization` (a slug) or the first one
    /// the person joined. Wrong email and wrong password get the same answer.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's e-mail address.")] email: String,
        #[graphql(desc = "The account's password.")] password: String,
        #[graphql(
            desc = "The organization to act for (its slug), when the person belongs to several."
        )]
        organization: Option<String>,
    ) -> Result<Session> {
        let signed_in = sign_in(
            app(ctx),
            &email,
            &password,
            organization.as_deref(),
            &origin(ctx),
        )
        .await
        .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(session(ctx, signed_in))
    }

    /// Ends the session this request came with.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<bool> {
        caller(ctx)?;
        let Some(SessionCredential(token)) = ctx.data_opt::<SessionCredential>() else {
            return Err(coded_error(
                ErrorCode::Forbidden,
                "this request came with an API key, not a session; an admin revokes keys with `revokeApiKey`",
            ));
        };
        sign_out(app(ctx), token)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(true)
    }

    /// Moves the signed-in person to another organization they belong to, without their
    /// password: a session there is returned, and the one this request came with ends.
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization to act for (its slug, `Membership.organizationSlug`).")]
        organization: String,
    ) -> Result<Session> {
        let caller = caller(ctx)?;
        let Some(SessionCredential(token)) = ctx.data_opt::<SessionCredential>() else {
            return Err(coded_error(
                ErrorCode::Forbidden,
                "this request came with an API key, which belongs to one organization; sign in as a person to switch",
            ));
        };
        let signed_in = switch_organization(app(ctx), caller, token, &organization, &origin(ctx))
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(session(ctx, signed_in))
    }

    /// Ends every session of the signed-in person, on every API instance.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> Result<i32> {
        let ended = sign_out_everywhere(app(ctx), caller(ctx)?)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }

    /// Changes the password; every session ends and a new one is returned.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password now.")] current_password: String,
        #[graphql(desc = "The new password, at least 12 characters.")] new_password: String,
    ) -> Result<Session> {
        let signed_in = change_password(
            app(ctx),
            caller(ctx)?,
            &current_password,
            &new_password,
            &origin(ctx),
        )
        .await
        .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(session(ctx, signed_in))
    }

    /// Invites `email` to the caller's organization with `role` (admins).
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whom to invite.")] email: String,
        #[graphql(desc = "The role they get.")] role: MemberRole,
    ) -> Result<AccountTokenIssued> {
        let invited = invite_member(app(ctx), caller(ctx)?, &email, role.into())
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(issued(invited))
    }

    /// Accepts an invitation and signs in to the inviting organization. A new person
    /// gives a display name and a password. An e-mail that already has an account is
    /// accepted by that person signed in (send their session token); no password then.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation token.")] token: String,
        #[graphql(desc = "For a new account: the name to show.")] display_name: Option<String>,
        #[graphql(
            desc = "For a new account: its password, at least 12 characters. An invitation to an existing account is accepted by that person signed in, without a password."
        )]
        password: Option<String>,
    ) -> Result<Session> {
        let signed_in = accept_invitation(
            app(ctx),
            ctx.data_opt::<Caller>(),
            &token,
            display_name.as_deref(),
            password.as_deref(),
            &origin(ctx),
        )
        .await
        .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(session(ctx, signed_in))
    }

    /// Asks for a reset token by e-mail. Always answers true, so that it does not tell
    /// which emails have accounts.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's e-mail address.")] email: String,
    ) -> Result<bool> {
        // Only the address limit can fail here; what happens to the e-mail is never
        // told (the domain sends it, or not, after this answer).
        request_password_reset(app(ctx), &email, &origin(ctx))
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(true)
    }

    /// Issues a reset for a member of the caller's organization (admins).
    async fn issue_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's e-mail address.")] email: String,
    ) -> Result<AccountTokenIssued> {
        let reset = issue_password_reset(app(ctx), caller(ctx)?, &email)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(issued(reset))
    }

    /// Sets a new password with a reset token; every session of the person ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reset token.")] token: String,
        #[graphql(desc = "The new password, at least 12 characters.")] new_password: String,
    ) -> Result<bool> {
        reset_password(app(ctx), &token, &new_password, &origin(ctx))
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(true)
    }
}
