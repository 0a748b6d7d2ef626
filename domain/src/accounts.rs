//! People signing in: Argon2id passwords, sessions (opaque tokens stored hashed in the
//! session store, sliding on use), brute-force protection, invitations and password
//! resets by single-use tokens.
//!
//! A session token reads `ems_<secret>`; like API keys, only its SHA-256 is stored.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use entmoot_entities::{account_tokens, memberships, organizations, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

use crate::audit::{AuditEntry, record_account_event};
use crate::caller::{Caller, Role};
use crate::context::AppContext;
use crate::email_address::EmailAddress;
use crate::organizations::{add_membership, find_by_slug};
use crate::ports::{SessionRecord, SessionStoreError};
use crate::secrets::{random_secret, sha256_hex};

pub const SESSION_TOKEN_START: &str = "ems_";
const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;
/// Invitations and password resets are valid this long.
pub const ACCOUNT_TOKEN_HOURS: i64 = 72;
/// Sign-in attempts per minute: per account and address, per address, per account.
/// The account's budget is shared by every address, so an attacker with many
/// addresses could spend it; past it, only addresses with a recent wrong password for
/// the account are refused, and the owner elsewhere still gets in.
const ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: u32 = 5;
const ATTEMPTS_PER_ADDRESS: u32 = 30;
const ATTEMPTS_PER_ACCOUNT: u32 = 100;
/// changePassword tries per person and minute (it tests a password too).
const PASSWORD_CHANGES_PER_USER: u32 = 5;
/// requestPasswordReset: one mail per account and minute, a few asks per address.
const RESET_MAILS_PER_ACCOUNT: u32 = 1;
const RESET_REQUESTS_PER_ADDRESS: u32 = 5;

const INVITATION: &str = "invitation";
pub(crate) const PASSWORD_RESET: &str = "password_reset";

/// Where an anonymous account mutation came from: the attempt limits key on the
/// address, and the audit log keeps it with the request id.
#[derive(Debug, Clone, Default)]
pub struct AttemptOrigin {
    pub client_address: String,
    pub request_id: Option<String>,
}

impl AttemptOrigin {
    /// The address as a limiter bucket part: hashed, so its length never depends on
    /// what a forwarded header said.
    fn address_key(&self) -> String {
        sha256_hex(&self.client_address)[..32].to_owned()
    }

    fn audit_entry(&self, action: &str, succeeded: bool) -> AuditEntry {
        AuditEntry {
            action: action.to_owned(),
            succeeded,
            request_id: self.request_id.clone(),
            client_address: Some(self.client_address.clone()).filter(|a| !a.is_empty()),
        }
    }
}

/// A bucket part for an e-mail: its SHA-256, so a megabyte "e-mail" costs the limiter
/// (in memory or in Redis) as much as any other.
fn account_key(email: &str) -> String {
    sha256_hex(email)[..32].to_owned()
}

/// Writes an anonymous account mutation to the audit log; a failure to write is
/// logged and does not change the answer.
async fn audit_account(
    database: &DatabaseConnection,
    organization_id: Uuid,
    user_id: Option<Uuid>,
    origin: &AttemptOrigin,
    action: &str,
    succeeded: bool,
) {
    if let Err(error) = record_account_event(
        database,
        organization_id,
        user_id,
        origin.audit_entry(action, succeeded),
    )
    .await
    {
        tracing::error!(%error, action, "writing the audit log failed");
    }
}

/// Counts one attempt in each bucket; the first that is over its limit refuses.
async fn within_limits(app: &AppContext, buckets: &[(String, u32)]) -> Result<(), AccountError> {
    for (bucket, per_minute) in buckets {
        app.attempts
            .allow(bucket, *per_minute)
            .await
            .map_err(|retry_after_seconds| AccountError::TooManyAttempts {
                retry_after_seconds,
            })?;
    }
    Ok(())
}

/// A secret handed to a client once; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeSecret(String);

impl OneTimeSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("OneTimeSecret(<redacted>)")
    }
}

/// A password that meets the rules; kept only until it is hashed.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let chars = raw.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(AccountError::WeakPassword(format!(
                "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            )));
        }
        Ok(Self(raw.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The same answer for an unknown email and a wrong password.
    #[error("the email or the password is wrong")]
    WrongCredentials,
    #[error("too many attempts; retry in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: u64 },
    #[error("{0}")]
    WeakPassword(String),
    #[error("this user is not a member of organization `{0}`")]
    NotAMember(String),
    #[error("the user belongs to no organization")]
    NoOrganization,
    #[error("the token is not valid, was already used, or expired")]
    InvalidToken,
    #[error(
        "this email already has an Entmoot account: sign in as that person, then accept the invitation with that session (no password is needed)"
    )]
    ExistingAccount,
    #[error("a new account needs a display name and a password")]
    NewAccountDetailsMissing,
    #[error(
        "this person also belongs to other organizations; without SMTP only they can reset their password (requestPasswordReset once SMTP is configured)"
    )]
    MemberElsewhere,
    #[error("only an admin of the organization invites members or issues resets")]
    Forbidden,
    #[error("this needs a signed-in person, not an API key")]
    NotAPerson,
    #[error("`{0}` is not an email address")]
    InvalidEmail(String),
    #[error("a display name has 1 to 200 printable characters")]
    InvalidDisplayName,
    #[error("sending the e-mail failed: {0}")]
    Mail(String),
    #[error(transparent)]
    Sessions(#[from] SessionStoreError),
    #[error("hashing the password failed")]
    Hashing,
    #[error("reading or writing accounts failed")]
    Database(#[from] DbErr),
}

fn random_token(start: &str) -> OneTimeSecret {
    OneTimeSecret(format!("{start}{}", random_secret()))
}

pub fn hash_password(password: &Password) -> Result<String, AccountError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| AccountError::Hashing)?;
    Argon2::default()
        .hash_password(password.0.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| AccountError::Hashing)
}

fn verify_password(stored: &str, candidate: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &hash)
            .is_ok()
    })
}

/// Verifies `candidate` against `stored` on the blocking pool (Argon2 takes tens of
/// milliseconds and 19 MiB, which must not stall a request thread); without a stored
/// hash it verifies against DUMMY_HASH and answers false, so every answer costs the same.
async fn verify_off_thread(stored: Option<String>, candidate: &str) -> Result<bool, AccountError> {
    let candidate = candidate.to_owned();
    crate::heavy_work::password_work(move || match stored {
        Some(stored) => verify_password(&stored, &candidate),
        None => {
            verify_password(DUMMY_HASH, &candidate);
            false
        }
    })
    .await
    .map_err(|_| AccountError::Hashing)
}

/// Verifying against this when the email is unknown makes that answer take as long as
/// a wrong password, so timing does not tell which emails have accounts.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7hRcHIIg8DR5kKZjV7JZ4mGUc2eA9XeUTLQWAzxmwyQ";

fn normalised_email(raw: &str) -> Result<String, AccountError> {
    EmailAddress::parse(raw)
        .map(EmailAddress::into_string)
        .map_err(|invalid| AccountError::InvalidEmail(invalid.0))
}

/// A new session, and who it is for.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: OneTimeSecret,
    pub user: users::Model,
    pub organization: organizations::Model,
    pub role: Role,
}

async fn membership_role(
    database: &DatabaseConnection,
    user_id: Uuid,
    organization_id: Uuid,
) -> Result<Option<Role>, DbErr> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::OrganizationId.eq(organization_id))
        .one(database)
        .await?
        .and_then(|membership| Role::parse(&membership.role).ok()))
}

/// Whether `email` (already normalised by `EmailAddress::parse`) belongs to a member
/// of `organization_id`: the only addresses an organization's jobs may mail.
pub(crate) async fn is_member_email(
    database: &DatabaseConnection,
    organization_id: Uuid,
    email: &str,
) -> Result<bool, DbErr> {
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email.to_owned()))
        .one(database)
        .await?
    else {
        return Ok(false);
    };
    Ok(membership_role(database, user.id, organization_id)
        .await?
        .is_some())
}

async fn start_session(
    app: &AppContext,
    user: users::Model,
    organization: organizations::Model,
    role: Role,
) -> Result<SignedIn, AccountError> {
    let token = random_token(SESSION_TOKEN_START);
    let record = SessionRecord {
        user_id: user.id,
        organization_id: organization.id,
        created_at: Utc::now(),
    };
    app.sessions
        .create(&sha256_hex(token.expose()), &record, app.session_ttl)
        .await?;
    Ok(SignedIn {
        token,
        user,
        organization,
        role,
    })
}

/// Signs a person in to `organization` (a slug), or to the first organization they
/// joined. Attempts are limited per account and address, per address and per account
/// (see ATTEMPTS_PER_ACCOUNT). Every answer spends one Argon2 verification, whether the
/// e-mail is unknown, has no password, or has a wrong one, so timing tells nothing.
pub async fn sign_in(
    app: &AppContext,
    email: &str,
    password: &str,
    organization: Option<&str>,
    origin: &AttemptOrigin,
) -> Result<SignedIn, AccountError> {
    let email = email.trim().to_lowercase();
    let account = account_key(&email);
    let address = origin.address_key();
    within_limits(
        app,
        &[
            (
                format!("sign-in:pair:{account}:{address}"),
                ATTEMPTS_PER_ACCOUNT_AND_ADDRESS,
            ),
            (format!("sign-in:address:{address}"), ATTEMPTS_PER_ADDRESS),
        ],
    )
    .await?;
    let failures = format!("sign-in:failed:{account}:{address}");
    if let Err(retry_after_seconds) = app
        .attempts
        .allow(&format!("sign-in:account:{account}"), ATTEMPTS_PER_ACCOUNT)
        .await
        && app.attempts.count(&failures).await > 0
    {
        return Err(AccountError::TooManyAttempts {
            retry_after_seconds,
        });
    }
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.clone()))
        .one(&app.database)
        .await?;
    // No password is longer than MAX_PASSWORD_CHARS; a longer one is not hashed whole.
    let password = if password.chars().count() > MAX_PASSWORD_CHARS {
        ""
    } else {
        password
    };
    let stored = user.as_ref().and_then(|user| user.password_hash.clone());
    let verified = verify_off_thread(stored, password).await? && !password.is_empty();
    let user = match user {
        Some(user) if verified => user,
        unverified => {
            // Counted without a limit: only whether there were any matters.
            let _ = app.attempts.allow(&failures, u32::MAX).await;
            if let Some(user) = unverified {
                audit_account(
                    &app.database,
                    user.organization_id,
                    Some(user.id),
                    origin,
                    "signIn",
                    false,
                )
                .await;
            }
            return Err(AccountError::WrongCredentials);
        }
    };
    let organization = match organization {
        Some(slug) => find_by_slug(&app.database, slug)
            .await?
            .ok_or_else(|| AccountError::NotAMember(slug.to_owned()))?,
        None => {
            let first = memberships::Entity::find()
                .filter(memberships::Column::UserId.eq(user.id))
                .order_by_asc(memberships::Column::CreatedAt)
                .one(&app.database)
                .await?
                .ok_or(AccountError::NoOrganization)?;
            organizations::Entity::find_by_id(first.organization_id)
                .one(&app.database)
                .await?
                .ok_or(AccountError::NoOrganization)?
        }
    };
    let role = membership_role(&app.database, user.id, organization.id)
        .await?
        .ok_or_else(|| AccountError::NotAMember(organization.slug.clone()))?;
    audit_account(
        &app.database,
        organization.id,
        Some(user.id),
        origin,
        "signIn",
        true,
    )
    .await;
    start_session(app, user, organization, role).await
}

/// Moves a signed-in person to another organization they belong to (a slug): a new
/// session there, and the session `current_token` ends. No password is asked: the
/// session already proved who they are, and their membership there decides what they
/// may do. An unknown slug and an organization they do not belong to get the same
/// answer.
pub async fn switch_organization(
    app: &AppContext,
    caller: &Caller,
    current_token: &str,
    organization: &str,
    origin: &AttemptOrigin,
) -> Result<SignedIn, AccountError> {
    let user_id = caller.user_id.ok_or(AccountError::NotAPerson)?;
    let not_a_member = || AccountError::NotAMember(organization.to_owned());
    let target = find_by_slug(&app.database, organization)
        .await?
        .ok_or_else(not_a_member)?;
    let role = membership_role(&app.database, user_id, target.id)
        .await?
        .ok_or_else(not_a_member)?;
    let user = users::Entity::find_by_id(user_id)
        .one(&app.database)
        .await?
        .ok_or(AccountError::NotAPerson)?;
    let signed_in = start_session(app, user, target, role).await?;
    app.sessions.end(&sha256_hex(current_token)).await?;
    audit_account(
        &app.database,
        signed_in.organization.id,
        Some(user_id),
        origin,
        "switchOrganization",
        true,
    )
    .await;
    Ok(signed_in)
}

/// Why a session token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the session expired or was signed out; sign in again")]
    Ended,
    #[error("the session's user is no longer a member of its organization")]
    NoLongerMember,
    #[error(transparent)]
    Store(#[from] SessionStoreError),
    #[error("checking the session failed")]
    Database(#[from] DbErr),
}

/// Turns a session token into a caller, renewing the session (sliding expiry). The
/// role is read afresh, so a changed or removed membership takes effect at once.
pub async fn authenticate_session(app: &AppContext, token: &str) -> Result<Caller, SessionError> {
    let record = app
        .sessions
        .touch(&sha256_hex(token), app.session_ttl)
        .await?
        .ok_or(SessionError::Ended)?;
    let role = membership_role(&app.database, record.user_id, record.organization_id)
        .await?
        .ok_or(SessionError::NoLongerMember)?;
    Ok(Caller {
        organization_id: record.organization_id,
        role,
        api_key_id: None,
        user_id: Some(record.user_id),
    })
}

pub async fn sign_out(app: &AppContext, token: &str) -> Result<(), AccountError> {
    Ok(app.sessions.end(&sha256_hex(token)).await?)
}

pub async fn sign_out_everywhere(app: &AppContext, caller: &Caller) -> Result<usize, AccountError> {
    let user_id = caller.user_id.ok_or(AccountError::NotAPerson)?;
    Ok(app.sessions.end_all_of_user(user_id).await?)
}

async fn set_password(
    database: &DatabaseConnection,
    user_id: Uuid,
    password: &Password,
) -> Result<(), AccountError> {
    let password = Password(password.0.clone());
    let hash = crate::heavy_work::password_work(move || hash_password(&password))
        .await
        .map_err(|_| AccountError::Hashing)??;
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .filter(users::Column::Id.eq(user_id))
        .exec(database)
        .await?;
    Ok(())
}

/// Changes the caller's password after checking the current one. Every session of the
/// user ends (a stolen session must not outlive the change); a new one is returned.
pub async fn change_password(
    app: &AppContext,
    caller: &Caller,
    current: &str,
    new_password: &str,
    origin: &AttemptOrigin,
) -> Result<SignedIn, AccountError> {
    let user_id = caller.user_id.ok_or(AccountError::NotAPerson)?;
    // It tests a password, so a stolen session must not turn it into an oracle.
    within_limits(
        app,
        &[
            (
                format!("change-password:user:{user_id}"),
                PASSWORD_CHANGES_PER_USER,
            ),
            (
                format!("change-password:address:{}", origin.address_key()),
                ATTEMPTS_PER_ADDRESS,
            ),
        ],
    )
    .await?;
    let user = users::Entity::find_by_id(user_id)
        .one(&app.database)
        .await?
        .ok_or(AccountError::NotAPerson)?;
    if !verify_off_thread(user.password_hash.clone(), current).await? {
        return Err(AccountError::WrongCredentials);
    }
    let new_password = Password::parse(new_password)?;
    set_password(&app.database, user_id, &new_password).await?;
    app.sessions.end_all_of_user(user_id).await?;
    let organization = organizations::Entity::find_by_id(caller.organization_id)
        .one(&app.database)
        .await?
        .ok_or(AccountError::NoOrganization)?;
    start_session(app, user, organization, caller.role).await
}

/// The person behind a caller and their memberships; `None` for API keys not tied to
/// a user.
pub async fn viewer_of(
    database: &DatabaseConnection,
    caller: &Caller,
) -> Result<Option<(users::Model, Vec<(organizations::Model, Role)>)>, DbErr> {
    let Some(user_id) = caller.user_id else {
        return Ok(None);
    };
    let Some(user) = users::Entity::find_by_id(user_id).one(database).await? else {
        return Ok(None);
    };
    let mut organizations_of_user = Vec::new();
    for membership in memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .order_by_asc(memberships::Column::CreatedAt)
        .all(database)
        .await?
    {
        if let (Some(organization), Ok(role)) = (
            organizations::Entity::find_by_id(membership.organization_id)
                .one(database)
                .await?,
            Role::parse(&membership.role),
        ) {
            organizations_of_user.push((organization, role));
        }
    }
    Ok(Some((user, organizations_of_user)))
}

/// An invitation or reset as issued: the token is present when no e-mail carried it.
#[derive(Debug, Clone)]
pub struct IssuedAccountToken {
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// `None` when the token was e-mailed instead.
    pub token: Option<OneTimeSecret>,
}

async fn issue_account_token(
    app: &AppContext,
    organization_id: Uuid,
    email: &str,
    role: Role,
    purpose: &str,
) -> Result<(OneTimeSecret, DateTime<Utc>), AccountError> {
    let token = random_token(if purpose == INVITATION {
        "emi_"
    } else {
        "emr_"
    });
    let expires_at = Utc::now() + chrono::Duration::hours(ACCOUNT_TOKEN_HOURS);
    if purpose == PASSWORD_RESET {
        // One live reset per person: a new one ends the older ones.
        end_pending_resets(&app.database, email).await?;
    }
    account_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        email: Set(email.to_owned()),
        role: Set(role.as_str().to_owned()),
        purpose: Set(purpose.to_owned()),
        token_hash: Set(sha256_hex(token.expose())),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&app.database)
    .await?;
    Ok((token, expires_at))
}

/// E-mails the token when SMTP is configured; otherwise hands it back to the admin.
async fn deliver(
    app: &AppContext,
    email: &str,
    subject: &str,
    body: impl FnOnce(&str) -> String,
    token: OneTimeSecret,
) -> Result<Option<OneTimeSecret>, AccountError> {
    match &app.mailer {
        Some(mailer) => {
            mailer
                .send(email, subject, body(token.expose()))
                .await
                .map_err(AccountError::Mail)?;
            Ok(None)
        }
        None => Ok(Some(token)),
    }
}

/// An admin invites `email` to their organization with `role`.
pub async fn invite_member(
    app: &AppContext,
    caller: &Caller,
    email: &str,
    role: Role,
) -> Result<IssuedAccountToken, AccountError> {
    if !caller.is_admin() {
        return Err(AccountError::Forbidden);
    }
    let email = normalised_email(email)?;
    let (token, expires_at) =
        issue_account_token(app, caller.organization_id, &email, role, INVITATION).await?;
    let organization = organizations::Entity::find_by_id(caller.organization_id)
        .one(&app.database)
        .await?
        .ok_or(AccountError::NoOrganization)?;
    let token = deliver(
        app,
        &email,
        &format!("You are invited to {} on Entmoot", organization.name),
        |secret| {
            format!(
                "You have been invited to join {} on Entmoot as {}.\n\nYour invitation token (valid for {ACCOUNT_TOKEN_HOURS} hours, usable once):\n\n{secret}\n",
                organization.name,
                role.as_str()
            )
        },
        token,
    )
    .await?;
    Ok(IssuedAccountToken {
        email,
        role,
        expires_at,
        token,
    })
}

/// An unused, unexpired token of `purpose`, without spending it.
async fn pending_token(
    database: &DatabaseConnection,
    token: &str,
    purpose: &str,
) -> Result<account_tokens::Model, AccountError> {
    account_tokens::Entity::find()
        .filter(account_tokens::Column::TokenHash.eq(sha256_hex(token)))
        .filter(account_tokens::Column::Purpose.eq(purpose))
        .filter(account_tokens::Column::UsedAt.is_null())
        .filter(account_tokens::Column::ExpiresAt.gt(Utc::now()))
        .one(database)
        .await?
        .ok_or(AccountError::InvalidToken)
}

/// Marks an unused, unexpired token of `purpose` used, atomically: of two concurrent
/// uses only one succeeds.
async fn redeem(
    database: &DatabaseConnection,
    token: &str,
    purpose: &str,
) -> Result<account_tokens::Model, AccountError> {
    let now = Utc::now();
    let hash = sha256_hex(token);
    let redeemed = account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(now))
        .filter(account_tokens::Column::TokenHash.eq(hash.clone()))
        .filter(account_tokens::Column::Purpose.eq(purpose))
        .filter(account_tokens::Column::UsedAt.is_null())
        .filter(account_tokens::Column::ExpiresAt.gt(now))
        .exec(database)
        .await?;
    if redeemed.rows_affected == 0 {
        return Err(AccountError::InvalidToken);
    }
    account_tokens::Entity::find()
        .filter(account_tokens::Column::TokenHash.eq(hash))
        .one(database)
        .await?
        .ok_or(AccountError::InvalidToken)
}

/// Accepts an invitation. A new person sets a display name and a password and is
/// signed in. An e-mail that already has an account is accepted only by that person,
/// signed in (a session, not a key): whoever holds the token (an admin without SMTP,
/// for one) proves nothing about that account, and no password is set or tested here,
/// so the token is neither a way in nor a password oracle.
pub async fn accept_invitation(
    app: &AppContext,
    caller: Option<&Caller>,
    token: &str,
    display_name: Option<&str>,
    password: Option<&str>,
    origin: &AttemptOrigin,
) -> Result<SignedIn, AccountError> {
    within_limits(
        app,
        &[(
            format!("accept-invitation:address:{}", origin.address_key()),
            ATTEMPTS_PER_ACCOUNT_AND_ADDRESS,
        )],
    )
    .await?;
    let pending = pending_token(&app.database, token, INVITATION).await?;
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(pending.email.clone()))
        .one(&app.database)
        .await?;
    let (user, new_password) = match existing {
        Some(user) => {
            let signed_in_as_invitee = caller.is_some_and(|caller| {
                caller.user_id == Some(user.id) && caller.api_key_id.is_none()
            });
            if !signed_in_as_invitee {
                audit_account(
                    &app.database,
                    pending.organization_id,
                    Some(user.id),
                    origin,
                    "acceptInvitation",
                    false,
                )
                .await;
                return Err(AccountError::ExistingAccount);
            }
            (Some(user), None)
        }
        None => {
            let (Some(display_name), Some(password)) = (display_name, password) else {
                return Err(AccountError::NewAccountDetailsMissing);
            };
            let password = Password::parse(password)?;
            let display_name = display_name.trim();
            if display_name.is_empty()
                || display_name.chars().count() > 200
                || display_name.chars().any(char::is_control)
            {
                return Err(AccountError::InvalidDisplayName);
            }
            (None, Some((display_name.to_owned(), password)))
        }
    };
    let invitation = redeem(&app.database, token, INVITATION).await?;
    let role = Role::parse(&invitation.role).unwrap_or(Role::Viewer);
    let user = match (user, new_password) {
        (Some(user), _) => user,
        (None, Some((display_name, password))) => {
            let user = users::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(invitation.organization_id),
                email: Set(invitation.email.clone()),
                display_name: Set(display_name),
                role: Set(role.as_str().to_owned()),
                password_hash: Set(None),
                created_at: Set(Utc::now()),
            }
            .insert(&app.database)
            .await?;
            set_password(&app.database, user.id, &password).await?;
            user
        }
        (None, None) => return Err(AccountError::NewAccountDetailsMissing),
    };
    add_membership(&app.database, user.id, invitation.organization_id, role).await?;
    // Accepting can change the role an existing member had there, down as well as up.
    crate::verified_keys::access_changed(app).await;
    let organization = organizations::Entity::find_by_id(invitation.organization_id)
        .one(&app.database)
        .await?
        .ok_or(AccountError::NoOrganization)?;
    audit_account(
        &app.database,
        organization.id,
        Some(user.id),
        origin,
        "acceptInvitation",
        true,
    )
    .await;
    start_session(app, user, organization, role).await
}

/// Anyone may ask; a token is e-mailed only when the email has an account and SMTP is
/// configured. The answer is the same, and as fast, either way: the look-up, the token
/// and the mail happen in a background task after the answer, so neither the answer
/// nor its timing reveals accounts. One mail per account and minute at most, and a new
/// token ends the older ones, so a flood of requests leaves one live token.
pub async fn request_password_reset(
    app: &AppContext,
    email: &str,
    origin: &AttemptOrigin,
) -> Result<(), AccountError> {
    within_limits(
        app,
        &[(
            format!("reset-request:address:{}", origin.address_key()),
            RESET_REQUESTS_PER_ADDRESS,
        )],
    )
    .await?;
    let Ok(email) = normalised_email(email) else {
        return Ok(());
    };
    if app.mailer.is_none() {
        return Ok(());
    }
    if app
        .attempts
        .allow(
            &format!("reset-mail:account:{}", account_key(&email)),
            RESET_MAILS_PER_ACCOUNT,
        )
        .await
        .is_err()
    {
        return Ok(());
    }
    let app = app.clone();
    let origin = origin.clone();
    tokio::spawn(async move {
        if let Err(error) = send_password_reset(&app, &email, &origin).await {
            tracing::warn!(%error, "a password reset could not be sent");
        }
    });
    Ok(())
}

async fn send_password_reset(
    app: &AppContext,
    email: &str,
    origin: &AttemptOrigin,
) -> Result<(), AccountError> {
    let Some(mailer) = &app.mailer else {
        return Ok(());
    };
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email.to_owned()))
        .one(&app.database)
        .await?
    else {
        return Ok(());
    };
    let (token, _) = issue_account_token(
        app,
        user.organization_id,
        email,
        Role::parse(&user.role).unwrap_or(Role::Viewer),
        PASSWORD_RESET,
    )
    .await?;
    audit_account(
        &app.database,
        user.organization_id,
        Some(user.id),
        origin,
        "requestPasswordReset",
        true,
    )
    .await;
    mailer
        .send(
            email,
            "Reset your Entmoot password",
            format!(
                "Someone asked to reset the password of this account. If it was you, use this token (valid for {ACCOUNT_TOKEN_HOURS} hours, usable once):\n\n{}\n\nIf not, ignore this message.\n",
                token.expose()
            ),
        )
        .await
        .map_err(AccountError::Mail)
}

/// Ends every unused reset token of `email`: a new one was issued, or the person's
/// memberships changed, which a token issued before must not outlive.
pub(crate) async fn end_pending_resets(
    database: &DatabaseConnection,
    email: &str,
) -> Result<(), DbErr> {
    account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(Utc::now()))
        .filter(account_tokens::Column::Email.eq(email.to_owned()))
        .filter(account_tokens::Column::Purpose.eq(PASSWORD_RESET))
        .filter(account_tokens::Column::UsedAt.is_null())
        .exec(database)
        .await?;
    Ok(())
}

/// An admin issues a reset for a member (e-mailed, or handed back without SMTP).
pub async fn issue_password_reset(
    app: &AppContext,
    caller: &Caller,
    email: &str,
) -> Result<IssuedAccountToken, AccountError> {
    if !caller.is_admin() {
        return Err(AccountError::Forbidden);
    }
    let email = normalised_email(email)?;
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.clone()))
        .one(&app.database)
        .await?
        .ok_or(AccountError::InvalidEmail(email.clone()))?;
    let role = membership_role(&app.database, user.id, caller.organization_id)
        .await?
        // Not a member here: the same answer as for an unknown email.
        .ok_or(AccountError::InvalidEmail(email.clone()))?;
    if app.mailer.is_none() {
        // The token would come back to this admin, who would then control an account
        // that also reaches other organizations.
        let elsewhere = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user.id))
            .filter(memberships::Column::OrganizationId.ne(caller.organization_id))
            .one(&app.database)
            .await?;
        if elsewhere.is_some() {
            return Err(AccountError::MemberElsewhere);
        }
    }
    let (token, expires_at) =
        issue_account_token(app, caller.organization_id, &email, role, PASSWORD_RESET).await?;
    let token = deliver(
        app,
        &email,
        "Reset your Entmoot password",
        |secret| {
            format!(
                "An administrator issued a password reset for your account. Your token (valid for {ACCOUNT_TOKEN_HOURS} hours, usable once):\n\n{secret}\n"
            )
        },
        token,
    )
    .await?;
    Ok(IssuedAccountToken {
        email,
        role,
        expires_at,
        token,
    })
}

/// Sets a new password with a reset token and ends every session of the user. The
/// token belongs to the organization that issued it: it is refused (and spent) when
/// the person is no longer a member there, or joined or changed role anywhere after it
/// was issued, since the token's holder vouched for nothing beyond that organization.
pub async fn reset_password(
    app: &AppContext,
    token: &str,
    new_password: &str,
    origin: &AttemptOrigin,
) -> Result<(), AccountError> {
    within_limits(
        app,
        &[(
            format!("reset-password:address:{}", origin.address_key()),
            ATTEMPTS_PER_ACCOUNT_AND_ADDRESS,
        )],
    )
    .await?;
    let password = Password::parse(new_password)?;
    let reset = redeem(&app.database, token, PASSWORD_RESET).await?;
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(reset.email.clone()))
        .one(&app.database)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let still_member = membership_role(&app.database, user.id, reset.organization_id)
        .await?
        .is_some();
    let joined_since = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .filter(memberships::Column::CreatedAt.gt(reset.created_at))
        .one(&app.database)
        .await?
        .is_some();
    if !still_member || joined_since {
        audit_account(
            &app.database,
            reset.organization_id,
            Some(user.id),
            origin,
            "resetPassword",
            false,
        )
        .await;
        return Err(AccountError::InvalidToken);
    }
    set_password(&app.database, user.id, &password).await?;
    app.sessions.end_all_of_user(user.id).await?;
    audit_account(
        &app.database,
        reset.organization_id,
        Some(user.id),
        origin,
        "resetPassword",
        true,
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let password = Password::parse("correct horse battery").expect("long enough");
        let hash = hash_password(&password).expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "wrong horse battery"));
        assert!(Password::parse("short").is_err());
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password(DUMMY_HASH, "anything at all"));
    }
}
