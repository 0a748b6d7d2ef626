//! What browsers are told: CORS from ALLOWED_ORIGINS (when CORS_ENABLED) and the
//! security headers every response carries. The API authenticates with bearer tokens,
//! not cookies, so CORS never allows credentials.

use actix_cors::Cors;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

/// For API responses, which a browser should never render or frame.
pub const API_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers added to every response that does not set its own.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CONTENT_SECURITY_POLICY, API_CONTENT_SECURITY_POLICY))
        .add(("Cross-Origin-Resource-Policy", "same-site"))
}

/// CORS for the configured origins; with CORS disabled, or no origins, browsers on
/// other origins are refused (a preflight gets no allow headers).
pub fn cors(enabled: bool, allowed_origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-request-id"),
            // The preflight headers multipart uploads need (graphql.rs), so that a
            // browser on an allowed origin can upload at all.
            header::HeaderName::from_static("apollo-require-preflight"),
            header::HeaderName::from_static("x-apollo-operation-name"),
            header::HeaderName::from_static("graphql-preflight"),
        ])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(3600);
    if !enabled {
        return cors;
    }
    for origin in allowed_origins {
        if origin == "*" {
            cors = cors.send_wildcard().allow_any_origin();
        } else {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}
