//! Bearer tokens, from the `Authorization` header of an HTTP request or from the
//! `connection_init` payload of a websocket, turned into what the GraphQL resolvers
//! read: a `Caller`, or the reason none was accepted (an UNAUTHENTICATED field error,
//! so the transport stays per spec).

use actix_web::HttpRequest;
use actix_web::http::header;
use entmoot_domain::access::{AuthenticationError, authenticate_api_key_remembered};
use entmoot_domain::accounts::{SESSION_TOKEN_START, SessionError, authenticate_session};
use entmoot_domain::{AppContext, Caller};
use entmoot_schema::{AuthenticationRefused, SessionCredential};
use serde_json::Value;

/// What a request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Absent,
    Bearer(String),
    /// An Authorization value that is not `Bearer <token>` (Basic, empty, …).
    NotBearer,
}

fn credential_from_value(value: &str) -> Credential {
    let mut parts = value.trim().splitn(2, ' ');
    match (parts.next(), parts.next()) {
        (Some(scheme), Some(token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Credential::NotBearer
            } else {
                Credential::Bearer(token.to_owned())
            }
        }
        _ => Credential::NotBearer,
    }
}

pub fn credential_of(request: &HttpRequest) -> Credential {
    credential_of_headers(request.headers())
}

/// The credential of a request's headers (for the websocket's upgrade request, which
/// never becomes an `HttpRequest`).
pub fn credential_of_headers(headers: &header::HeaderMap) -> Credential {
    match headers.get(header::AUTHORIZATION) {
        None => Credential::Absent,
        Some(value) => value
            .to_str()
            .map(credential_from_value)
            .unwrap_or(Credential::NotBearer),
    }
}

/// `connection_init` payloads differ by client: graphql-ws and Apollo send headers-like
/// `{"Authorization": "Bearer …"}`, others `{"authToken": "…"}` or `{"token": "…"}`.
pub fn credential_of_init_payload(payload: &Value) -> Credential {
    let Some(fields) = payload.as_object() else {
        return Credential::Absent;
    };
    for (key, value) in fields {
        let Some(text) = value.as_str() else { continue };
        if key.eq_ignore_ascii_case("authorization") {
            return credential_from_value(text);
        }
        if ["authtoken", "token", "apikey"].contains(&key.to_ascii_lowercase().as_str()) {
            return credential_from_value(&format!("Bearer {text}"));
        }
    }
    if let Some(headers) = fields.get("headers") {
        return credential_of_init_payload(headers);
    }
    Credential::Absent
}

pub async fn authenticate(
    app: &AppContext,
    credential: &Credential,
) -> Result<Caller, AuthenticationError> {
    match credential {
        Credential::Absent => Err(AuthenticationError::Missing),
        Credential::NotBearer => Err(AuthenticationError::Malformed),
        Credential::Bearer(token) if token.starts_with(SESSION_TOKEN_START) => {
            Ok(authenticate_session(app, token).await?)
        }
        Credential::Bearer(token) => {
            authenticate_api_key_remembered(&app.verified_keys, &app.database, token).await
        }
    }
}

/// Why a credential was refused, as the client may see it. A database failure is
/// reported without its details; they go to the log.
fn refusal_of(refused: &AuthenticationError) -> AuthenticationRefused {
    match refused {
        AuthenticationError::Session(SessionError::Store(error)) => {
            tracing::error!(%error, "the session store failed");
            AuthenticationRefused("authentication is unavailable right now; try again".to_owned())
        }
        AuthenticationError::Session(SessionError::Database(error))
        | AuthenticationError::Database(error) => {
            tracing::error!(%error, "authenticating a request failed");
            AuthenticationRefused("authentication is unavailable right now; try again".to_owned())
        }
        other => {
            tracing::debug!(reason = %other, "request not authenticated");
            AuthenticationRefused(other.to_string())
        }
    }
}

/// Adds the outcome to a GraphQL request's data.
pub fn add_to_request(
    request: async_graphql::Request,
    credential: &Credential,
    outcome: &Result<Caller, AuthenticationError>,
) -> async_graphql::Request {
    let request = match outcome {
        Ok(caller) => request.data(caller.clone()),
        Err(refused) => request.data(refusal_of(refused)),
    };
    match (credential, outcome) {
        (Credential::Bearer(token), Ok(_)) if token.starts_with(SESSION_TOKEN_START) => {
            request.data(SessionCredential(token.clone()))
        }
        _ => request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_tokens_are_found_where_clients_put_them() {
        assert_eq!(
            credential_from_value("Bearer emk_x"),
            Credential::Bearer("emk_x".into())
        );
        assert_eq!(
            credential_from_value("bearer  emk_x "),
            Credential::Bearer("emk_x".into())
        );
        assert_eq!(
            credential_from_value("Basic dXNlcg=="),
            Credential::NotBearer
        );
        assert_eq!(credential_from_value("Bearer "), Credential::NotBearer);
        assert_eq!(
            credential_of_init_payload(&json!({"Authorization": "Bearer emk_y"})),
            Credential::Bearer("emk_y".into())
        );
        assert_eq!(
            credential_of_init_payload(&json!({"authToken": "emk_z"})),
            Credential::Bearer("emk_z".into())
        );
        assert_eq!(
            credential_of_init_payload(&json!({"headers": {"authorization": "Bearer emk_w"}})),
            Credential::Bearer("emk_w".into())
        );
        assert_eq!(credential_of_init_payload(&json!({})), Credential::Absent);
        assert_eq!(credential_of_init_payload(&json!(null)), Credential::Absent);
    }
}
