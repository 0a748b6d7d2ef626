//! Request ids, request logs, panics and 5xx reporting.
//!
//! Every request gets an id: the caller's `X-Request-ID` when it is a sensible token
//! (1–128 visible ASCII characters, no quotes or backslashes), otherwise a new UUID.
//! The id is
//! - returned in the `X-Request-ID` response header, also on errors and panics;
//! - a field of the `http_request` span, so every log line written while serving the
//!   request carries it (`span.request_id` in JSON logs), and of the request log line
//!   written when the response leaves (`request_id` at the top level);
//! - the `request_id` tag of the request's Sentry scope, so a panic or a 5xx reported
//!   to Sentry names it.
//!
//! A panicking handler does not take its worker thread down: the panic is caught here
//! and answered with a 500 (Sentry's panic hook has already reported it, with this
//! request's scope). Every other 5xx is reported here, once (the `sentry_actix`
//! middleware only supplies the per-request hub and request context; its own capture
//! is off), except 503, which is how /health reports a dependency that is down.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use futures::FutureExt;
use serde_json::json;
use tracing::Instrument;

/// The header read and written.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LENGTH: usize = 128;

/// The id of the request being served; in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn is_acceptable(value: &str) -> bool {
    (1..=MAX_LENGTH).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// The caller's id when acceptable, otherwise a fresh one.
pub fn choose(headers: &HeaderMap) -> String {
    headers
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| is_acceptable(value))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Probes and scrapes are logged at DEBUG so that they do not drown the request log.
fn is_probe(route: &str) -> bool {
    route.starts_with("/health") || route == "/metrics"
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = choose(request.headers());
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().as_str().to_owned();
    let path = request.path().to_owned();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    sentry::configure_scope(|scope| scope.set_tag("request_id", &id));
    let span =
        tracing::info_span!("http_request", request_id = %id, method = %method, route = %route);
    // No clone of the request here: the router needs the only reference to it
    // (HttpRequest::match_info_mut panics on a shared request).

    let outcome = AssertUnwindSafe(next.call(request))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let result: Result<ServiceResponse<BoxBody>, actix_web::Error> = match outcome {
        Ok(Ok(mut response)) => {
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(HEADER, value);
            }
            let status = response.status();
            if reportable(status) {
                match response.response().error() {
                    Some(error) => {
                        sentry::capture_error(error);
                    }
                    None => {
                        sentry::capture_message(
                            &format!("HTTP {} on {method} {route}", status.as_u16()),
                            sentry::Level::Error,
                        );
                    }
                }
            }
            Ok(response.map_into_boxed_body())
        }
        // An error from an inner middleware or extractor: reported, then answered
        // with its own response plus the id.
        Ok(Err(error)) => {
            let mut response = error.error_response();
            if reportable(response.status()) {
                sentry::capture_error(&error);
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(HEADER, value);
            }
            Err(InternalError::from_response(error.to_string(), response).into())
        }
        Err(payload) => {
            // Sentry's panic hook reported it already, with this request's scope.
            let message = panic_message(payload.as_ref());
            span.in_scope(|| {
                tracing::error!(request_id = %id, %method, %route, panic = %message, "request handler panicked");
            });
            Err(InternalError::from_response(
                "request handler panicked",
                HttpResponse::InternalServerError()
                    .insert_header((HEADER, id.as_str()))
                    .json(json!({
                        "errors": [{
                            "message": "internal server error",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": id},
                        }]
                    })),
            )
            .into())
        }
    };

    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status_code = status.as_u16();
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(request_id = %id, %method, %route, %path, status = status_code, duration_ms, "request");
        } else if is_probe(&route) {
            tracing::debug!(request_id = %id, %method, %route, %path, status = status_code, duration_ms, "request");
        } else {
            tracing::info!(request_id = %id, %method, %route, %path, status = status_code, duration_ms, "request");
        }
    });
    result
}

/// 5xx are reported to Sentry, except 503: that is how /health reports a dependency
/// that is down, and an outage must not flood Sentry.
fn reportable(status: StatusCode) -> bool {
    status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;

    fn headers(value: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = value {
            map.insert(HEADER, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn a_sensible_caller_id_is_kept_and_anything_else_replaced() {
        assert_eq!(choose(&headers(Some("abc-123_x.y:z"))), "abc-123_x.y:z");
        let generated = choose(&headers(None));
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
        let too_long = "a".repeat(MAX_LENGTH + 1);
        assert_ne!(choose(&headers(Some(&too_long))), too_long);
        assert_ne!(choose(&headers(Some("has space"))), "has space");
        assert_ne!(choose(&headers(Some("quote\"d"))), "quote\"d");
    }
}
