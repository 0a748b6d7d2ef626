//! API keys: issuing, listing and revoking them, and turning a bearer token into the
//! `Caller` every domain operation takes.
//!
//! A key reads `emk_<prefix>_<secret>`. The prefix (12 characters) is stored in clear
//! and finds the row; the whole token is stored only as its SHA-256. A slow password
//! hash would buy nothing here: the secret is 256 random bits, which no one guesses,
//! and a fast hash keeps every request's authentication to one indexed read.

use std::fmt;

use chrono::{DateTime, Utc};
use entmoot_entities::{api_keys, memberships, users};
use rand::RngExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::caller::{Caller, Role};
use crate::secrets::{random_secret, sha256_hex};

const TOKEN_START: &str = "emk_";
const PREFIX_CHARS: usize = 12;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const MAX_KEY_NAME_CHARS: usize = 100;
/// `last_used_at` is written at most this often per key, so reads stay reads.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

/// A key's secret, shown once when the key is issued. Its `Debug` and `Display` never
/// print it, so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyToken(String);

impl ApiKeyToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeyToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ApiKeyToken(<redacted>)")
    }
}

/// What may be shown about a key after it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySummary {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
    /// The visible part of the token (`emk_<prefix>_…`), to recognise a key by.
    pub prefix: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A key just issued: the only time its token exists outside the caller's hands.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKeySummary,
    pub token: ApiKeyToken,
}

/// A validated request for a key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    /// The most the key may do; a key tied to a user never exceeds the user's role.
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
    pub user_id: Option<Uuid>,
}

impl NewApiKey {
    pub fn parse(
        name: &str,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
        user_id: Option<Uuid>,
    ) -> Result<Self, ApiKeyError> {
        let trimmed = name.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > MAX_KEY_NAME_CHARS || trimmed.chars().any(char::is_control) {
            return Err(ApiKeyError::InvalidName(format!(
                "a key name has 1 to {MAX_KEY_NAME_CHARS} printable characters"
            )));
        }
        if let Some(expiry) = expires_at
            && expiry <= Utc::now()
        {
            return Err(ApiKeyError::ExpiryInThePast(expiry));
        }
        Ok(Self {
            name: trimmed.to_owned(),
            role,
            expires_at,
            user_id,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("invalid key name: {0}")]
    InvalidName(String),
    #[error("the expiry {0} is in the past")]
    ExpiryInThePast(DateTime<Utc>),
    #[error("no such user in this organization")]
    UnknownUser,
    #[error("a key of user {email} cannot have role {wanted}: the user is {actual}")]
    RoleAboveUser {
        email: String,
        wanted: &'static str,
        actual: &'static str,
    },
    #[error("no key with this id or prefix in this organization")]
    NotFound,
    #[error("storing the key failed")]
    Database(#[from] DbErr),
}

/// Why a bearer token was not accepted. The messages are safe to show the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticationError {
    #[error("authentication required: send `Authorization: Bearer <API key or session token>`")]
    Missing,
    #[error("the bearer token is not an Entmoot API key or session token")]
    Malformed,
    #[error("the API key is not valid")]
    Unknown,
    #[error("the API key was revoked")]
    Revoked,
    #[error("the API key expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the API key's user is no longer a member of its organization")]
    UserNoLongerMember,
    #[error(transparent)]
    Session(#[from] crate::accounts::SessionError),
    #[error("checking the API key failed")]
    Database(#[from] DbErr),
}

fn random_prefix() -> String {
    let mut random = rand::rng();
    (0..PREFIX_CHARS)
        .map(|_| PREFIX_ALPHABET[random.random_range(0..PREFIX_ALPHABET.len())] as char)
        .collect()
}

/// The prefix of a well-formed token.
fn prefix_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_START)?;
    let (prefix, secret) = rest.split_once('_')?;
    let well_formed = prefix.len() == PREFIX_CHARS
        && prefix.bytes().all(|byte| PREFIX_ALPHABET.contains(&byte))
        && !secret.is_empty();
    well_formed.then_some(prefix)
}

fn role_of(model: &api_keys::Model) -> Role {
    // Scopes hold the role the key grants; an unreadable scope list grants the least.
    model
        .scopes
        .as_array()
        .and_then(|scopes| scopes.iter().filter_map(|scope| scope.as_str()).next())
        .and_then(|scope| Role::parse(scope).ok())
        .unwrap_or(Role::Viewer)
}

fn summary_of(model: api_keys::Model) -> ApiKeySummary {
    ApiKeySummary {
        role: role_of(&model),
        id: model.id,
        organization_id: model.organization_id,
        user_id: model.user_id,
        name: model.name,
        prefix: format!("{TOKEN_START}{}", model.prefix),
        expires_at: model.expires_at,
        revoked_at: model.revoked_at,
        last_used_at: model.last_used_at,
        created_at: model.created_at,
    }
}

/// Issues a key for `organization_id`. Operators reach this through `entmoot admin`.
pub async fn issue_api_key(
    database: &DatabaseConnection,
    organization_id: Uuid,
    new_key: NewApiKey,
) -> Result<IssuedApiKey, ApiKeyError> {
    if let Some(user_id) = new_key.user_id {
        let user = users::Entity::find_by_id(user_id)
            .one(database)
            .await?
            .ok_or(ApiKeyError::UnknownUser)?;
        // The role the person has in this organization, not in their first one.
        let user_role = membership_role(database, user_id, organization_id)
            .await?
            .ok_or(ApiKeyError::UnknownUser)?;
        if new_key.role > user_role {
            return Err(ApiKeyError::RoleAboveUser {
                email: user.email,
                wanted: new_key.role.as_str(),
                actual: user_role.as_str(),
            });
        }
    }
    let prefix = random_prefix();
    let token = ApiKeyToken(format!("{TOKEN_START}{prefix}_{}", random_secret()));
    let model = api_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        user_id: Set(new_key.user_id),
        name: Set(new_key.name),
        prefix: Set(prefix),
        key_hash: Set(sha256_hex(token.expose())),
        scopes: Set(serde_json::json!([new_key.role.as_str()])),
        expires_at: Set(new_key.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(database)
    .await?;
    Ok(IssuedApiKey {
        key: summary_of(model),
        token,
    })
}

/// The first start of the embedded default: when the organization has no key yet,
/// issues an admin key (which the caller prints once). `None` on every later start.
pub async fn issue_first_admin_key(
    database: &DatabaseConnection,
    organization_id: Uuid,
) -> Result<Option<IssuedApiKey>, ApiKeyError> {
    let existing = api_keys::Entity::find()
        .filter(api_keys::Column::OrganizationId.eq(organization_id))
        .count(database)
        .await?;
    if existing > 0 {
        return Ok(None);
    }
    let new_key = NewApiKey::parse("local admin (first start)", Role::Admin, None, None)?;
    issue_api_key(database, organization_id, new_key)
        .await
        .map(Some)
}

pub async fn list_api_keys(
    database: &DatabaseConnection,
    organization_id: Uuid,
) -> Result<Vec<ApiKeySummary>, ApiKeyError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::OrganizationId.eq(organization_id))
        .order_by_asc(api_keys::Column::CreatedAt)
        .all(database)
        .await?
        .into_iter()
        .map(summary_of)
        .collect())
}

/// Revokes the key with this id or visible prefix (`emk_<prefix>`). Revoking twice is
/// harmless and keeps the first revocation time.
pub async fn revoke_api_key(
    database: &DatabaseConnection,
    organization_id: Uuid,
    id_or_prefix: &str,
) -> Result<ApiKeySummary, ApiKeyError> {
    let query =
        api_keys::Entity::find().filter(api_keys::Column::OrganizationId.eq(organization_id));
    let found = match Uuid::parse_str(id_or_prefix) {
        Ok(id) => {
            query
                .filter(api_keys::Column::Id.eq(id))
                .one(database)
                .await?
        }
        Err(_) => {
            let prefix = id_or_prefix
                .strip_prefix(TOKEN_START)
                .unwrap_or(id_or_prefix)
                .trim_end_matches('_');
            query
                .filter(api_keys::Column::Prefix.eq(prefix))
                .one(database)
                .await?
        }
    };
    let model = found.ok_or(ApiKeyError::NotFound)?;
    if model.revoked_at.is_some() {
        return Ok(summary_of(model));
    }
    let mut active: api_keys::ActiveModel = model.into();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(summary_of(active.update(database).await?))
}

/// A user's role in an organization, from `memberships`.
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

/// Turns the token of an `Authorization: Bearer` header into a caller.
pub async fn authenticate_api_key(
    database: &DatabaseConnection,
    token: &str,
) -> Result<Caller, AuthenticationError> {
    verify_api_key(database, token)
        .await
        .map(|verified| verified.caller)
}

/// `authenticate_api_key` through the process's memory of recently verified keys
/// (`verified_keys`): what the API does on every request.
pub async fn authenticate_api_key_remembered(
    keys: &crate::verified_keys::VerifiedKeys,
    database: &DatabaseConnection,
    token: &str,
) -> Result<Caller, AuthenticationError> {
    let digest = crate::verified_keys::digest_of(token);
    if let Some(caller) = keys.recall(&digest) {
        return Ok(caller);
    }
    let read_at = keys.generation();
    let verified = verify_api_key(database, token).await?;
    keys.remember(
        read_at,
        digest,
        verified.caller.clone(),
        verified.expires_at,
    );
    Ok(verified.caller)
}

struct VerifiedApiKey {
    caller: Caller,
    expires_at: Option<DateTime<Utc>>,
}

async fn verify_api_key(
    database: &DatabaseConnection,
    token: &str,
) -> Result<VerifiedApiKey, AuthenticationError> {
    let prefix = prefix_of(token).ok_or(AuthenticationError::Malformed)?;
    let model = api_keys::Entity::find()
        .filter(api_keys::Column::Prefix.eq(prefix))
        .one(database)
        .await?
        .ok_or(AuthenticationError::Unknown)?;
    let matches: bool = sha256_hex(token)
        .as_bytes()
        .ct_eq(model.key_hash.as_bytes())
        .into();
    if !matches {
        return Err(AuthenticationError::Unknown);
    }
    if model.revoked_at.is_some() {
        return Err(AuthenticationError::Revoked);
    }
    let now = Utc::now();
    if let Some(expiry) = model.expires_at
        && expiry <= now
    {
        return Err(AuthenticationError::Expired(expiry));
    }
    let mut role = role_of(&model);
    if let Some(user_id) = model.user_id {
        // A key never outranks its user's membership in the key's organization, read
        // on every request: a role lowered or a membership ended takes effect at once.
        let member_role = membership_role(database, user_id, model.organization_id)
            .await?
            .ok_or(AuthenticationError::UserNoLongerMember)?;
        role = role.min(member_role);
    }
    let stale = now - chrono::Duration::seconds(LAST_USED_RESOLUTION_SECONDS);
    if model.last_used_at.is_none_or(|used| used < stale) {
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::LastUsedAt, Expr::value(now))
            .filter(api_keys::Column::Id.eq(model.id))
            .exec(database)
            .await?;
    }
    Ok(VerifiedApiKey {
        caller: Caller {
            organization_id: model.organization_id,
            role,
            api_key_id: Some(model.id),
            user_id: model.user_id,
        },
        expires_at: model.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognised_by_their_shape() {
        assert_eq!(prefix_of("emk_abcdefghij12_secret"), Some("abcdefghij12"));
        assert_eq!(prefix_of("emk_ABCDEFGHIJ12_secret"), None);
        assert_eq!(prefix_of("emk_short_secret"), None);
        assert_eq!(prefix_of("emk_abcdefghij12_"), None);
        assert_eq!(prefix_of("Bearer xyz"), None);
    }

    #[test]
    fn issued_tokens_are_random_and_never_printed() {
        let one = format!("{TOKEN_START}{}_{}", random_prefix(), random_secret());
        let two = format!("{TOKEN_START}{}_{}", random_prefix(), random_secret());
        assert_ne!(one, two);
        assert!(prefix_of(&one).is_some());
        let token = ApiKeyToken(one.clone());
        assert!(!format!("{token:?}").contains(&one));
        assert_eq!(sha256_hex(&one).len(), 64);
    }
}
