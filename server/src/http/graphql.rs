//! /graphql per the GraphQL-over-HTTP specification: POST with
//! `application/json`, GET with query parameters (queries only), content negotiation
//! between `application/graphql-response+json` and `application/json`, request
//! errors without `data` and with status 400, and GraphiQL for a browser. Websocket
//! subscriptions on the same path (`graphql-transport-ws` and the legacy `graphql-ws`)
//! never reach actix-web: `websocket.rs` serves them.
//!
//! The stock async-graphql responder does not follow all of these (the `graphql-http`
//! audit in `tests/node/` checks them), so this module owns the transport and hands only
//! a parsed `Request` to the schema.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError, Variables};
use serde_json::{Map, Value, json};

use entmoot_schema::{ClientAddress, RequestIdentifier};

use crate::adapters::rate_limit::Decision;
use crate::http::HttpState;
use crate::http::authentication::{self, Credential};
use crate::http::request_id::RequestId;
use crate::http::rulebook::operation_type;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// Largest request body accepted by POST /graphql (uploads have their own limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Which media type the client accepts for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMediaType {
    GraphqlResponseJson,
    Json,
}

impl ResponseMediaType {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept`; `None` means nothing acceptable (406).
/// Without an Accept header the spec's legacy default, application/json, applies.
fn negotiate(request: &HttpRequest) -> Option<ResponseMediaType> {
    let Some(accept) = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
    else {
        return Some(ResponseMediaType::Json);
    };
    let mut best: Option<(f32, ResponseMediaType)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let media = pieces
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let quality = pieces
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => Some(ResponseMediaType::GraphqlResponseJson),
            JSON => Some(ResponseMediaType::Json),
            "application/*" | "*/*" => Some(ResponseMediaType::Json),
            _ => None,
        };
        if let Some(candidate) = candidate
            && quality > 0.0
            && best.is_none_or(|(best_quality, best_type)| {
                quality > best_quality
                    || (quality == best_quality
                        && candidate == ResponseMediaType::GraphqlResponseJson
                        && best_type != ResponseMediaType::GraphqlResponseJson)
            })
        {
            best = Some((quality, candidate));
        }
    }
    best.map(|(_, media)| media)
}

/// An error body with the code clients switch on, found from the HTTP status.
fn error_body(status: StatusCode, message: &str) -> Value {
    let code = match status {
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => "LIMIT_EXCEEDED",
        StatusCode::INTERNAL_SERVER_ERROR => "INTERNAL_SERVER_ERROR",
        _ => "BAD_REQUEST",
    };
    json!({"errors": [{"message": message, "extensions": {"code": code}}]})
}

/// A response to a request that never reached execution: no `data` key.
fn request_error(media: ResponseMediaType, status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(media.content_type())
        .body(error_body(status, message).to_string())
}

/// 429 with Retry-After: a rate limit is a property of the HTTP exchange, not of a
/// field, so it is answered before any GraphQL runs.
fn limited(media: ResponseMediaType, retry_after_seconds: u64, what: &str) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()))
        .content_type(media.content_type())
        .body(
            json!({"errors": [{
                "message": format!("rate limit exceeded for this {what}; retry in {retry_after_seconds} s"),
                "extensions": {"code": "LIMIT_EXCEEDED"},
            }]})
            .to_string(),
        )
}

/// The client address rate limits and the audit log use.
pub fn client_address(state: &HttpState, request: &HttpRequest) -> Option<String> {
    client_address_of(
        state.rate_limits.trust_forwarded_headers,
        request.headers(),
        request.peer_addr(),
    )
}

/// The client's address from a request's headers and peer (for the websocket's upgrade
/// request, which never becomes an `HttpRequest`).
pub fn client_address_of(
    trust_forwarded_headers: bool,
    headers: &header::HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Option<String> {
    if trust_forwarded_headers {
        // The last entry is the one our own load balancer appended; earlier ones are
        // whatever the client claimed.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .last()
            .map(str::to_owned);
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|address| address.ip().to_string())
}

async fn address_limit(
    state: &HttpState,
    request: &HttpRequest,
    media: ResponseMediaType,
) -> Option<HttpResponse> {
    let address = client_address(state, request)?;
    match state
        .rate_limiter
        .hit(&format!("address:{address}"), state.rate_limits.per_address)
        .await
    {
        Decision::Allowed => None,
        Decision::Limited {
            retry_after_seconds,
        } => Some(limited(media, retry_after_seconds, "address")),
    }
}

/// Request errors (parse, validation, variable coercion) have no path and leave no
/// data; field errors always carry a path.
fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|error: &ServerError| error.path.is_empty())
}

fn render(media: ResponseMediaType, response: Response) -> HttpResponse {
    let request_failed = is_request_error(&response);
    let mut body = Map::new();
    if !request_failed {
        body.insert(
            "data".into(),
            serde_json::to_value(&response.data).unwrap_or(Value::Null),
        );
    }
    if !response.errors.is_empty() {
        body.insert(
            "errors".into(),
            serde_json::to_value(&response.errors).unwrap_or(Value::Null),
        );
    }
    if !response.extensions.is_empty() {
        body.insert(
            "extensions".into(),
            serde_json::to_value(&response.extensions).unwrap_or(Value::Null),
        );
    }
    // A limit is a limit whichever rule hit it (an attempt limit inside a resolver
    // included): 429 with Retry-After, so clients back off the same way for all.
    if let Some(retry_after_seconds) = retry_after(&response) {
        return HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()))
            .content_type(media.content_type())
            .body(Value::Object(body).to_string());
    }
    // application/json keeps 200 for every well-formed GraphQL response (the legacy
    // watershed); graphql-response+json reports request errors with 400.
    let status = if request_failed && media == ResponseMediaType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status)
        .content_type(media.content_type())
        .body(Value::Object(body).to_string())
}

/// The longest wait any rate-limited error of the response asks for.
fn retry_after(response: &Response) -> Option<u64> {
    response
        .errors
        .iter()
        .filter_map(|error| error.extensions.as_ref())
        .filter_map(|extensions| extensions.get(entmoot_schema::errors::RETRY_AFTER_EXTENSION))
        .filter_map(|value| match value {
            async_graphql::Value::Number(number) => number.as_u64(),
            _ => None,
        })
        .max()
}

/// The parts of a GraphQL request, before they become an async-graphql `Request`.
struct Parameters {
    query: String,
    operation_name: Option<String>,
    variables: Option<Value>,
    extensions: Option<Value>,
}

fn parameters_from_json(body: Value) -> Result<Parameters, String> {
    let Value::Object(mut object) = body else {
        return Err("the request body must be a JSON object (batching is not supported)".into());
    };
    let query = match object.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("`query` is required".into()),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string".into()),
    };
    let variables = match object.remove("variables") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(value),
        Some(_) => return Err("`variables` must be an object".into()),
    };
    let extensions = match object.remove("extensions") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(value),
        Some(_) => return Err("`extensions` must be an object".into()),
    };
    Ok(Parameters {
        query,
        operation_name,
        variables,
        extensions,
    })
}

fn parameters_from_query_string(query_string: &str) -> Result<Parameters, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query_string)
        .map_err(|error| format!("malformed query string: {error}"))?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let parse_object = |key: &str| -> Result<Option<Value>, String> {
        match get(key) {
            None => Ok(None),
            Some(text) if text.is_empty() => Ok(None),
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(value @ Value::Object(_)) => Ok(Some(value)),
                Ok(Value::Null) => Ok(None),
                _ => Err(format!("`{key}` must be a JSON object")),
            },
        }
    };
    Ok(Parameters {
        query: get("query").ok_or_else(|| "`query` is required".to_owned())?,
        operation_name: get("operationName").filter(|name| !name.is_empty()),
        variables: parse_object("variables")?,
        extensions: parse_object("extensions")?,
    })
}

fn into_request(parameters: Parameters) -> Request {
    let mut request = Request::new(parameters.query);
    if let Some(name) = parameters.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = parameters.variables {
        request = request.variables(Variables::from_json(variables));
    }
    if let Some(Value::Object(extensions)) = parameters.extensions {
        for (key, value) in extensions {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(key, value);
            }
        }
    }
    request
}

pub async fn graphql_post(
    state: web::Data<HttpState>,
    http_request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let Some(media) = negotiate(&http_request) else {
        return HttpResponse::NotAcceptable()
            .content_type("text/plain; charset=utf-8")
            .body("accept application/graphql-response+json or application/json");
    };
    if let Some(refused) = address_limit(&state, &http_request, media).await {
        return refused;
    }
    let full_content_type = http_request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let content_type = full_content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        JSON => {}
        MULTIPART => {
            return multipart(&state, &http_request, media, &full_content_type, payload).await;
        }
        // Simple content types (text/plain, form posts) are what a CSRF attack can send
        // from a browser without a preflight; they are refused.
        _ => {
            return HttpResponse::UnsupportedMediaType()
                .content_type(media.content_type())
                .body(
                    error_body(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "POST /graphql needs Content-Type: application/json (or multipart/form-data for uploads)",
                    )
                    .to_string(),
                );
        }
    }
    let body = match read_limited(payload, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(response) => return response(media),
    };
    let parameters = match serde_json::from_slice::<Value>(&body)
        .map_err(|error| format!("the body is not JSON: {error}"))
        .and_then(parameters_from_json)
    {
        Ok(parameters) => parameters,
        Err(message) => return request_error(media, StatusCode::BAD_REQUEST, &message),
    };
    execute(
        &state,
        &http_request,
        media,
        into_request(parameters),
        Transport::Post,
    )
    .await
}

type DeferredResponse = Box<dyn FnOnce(ResponseMediaType) -> HttpResponse>;

/// The body, or the response that refuses it (too large, or the client went away).
async fn read_limited(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, DeferredResponse> {
    use futures::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| -> DeferredResponse {
            let message = format!("reading the request body failed: {error}");
            Box::new(move |media| request_error(media, StatusCode::BAD_REQUEST, &message))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(Box::new(move |media| {
                request_error(
                    media,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the request body exceeds {limit} bytes"),
                )
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Headers a browser only sends after a CORS preflight; one of them must come with a
/// multipart request, which is otherwise a "simple" request a hostile page could send.
const PREFLIGHT_HEADERS: [&str; 3] = [
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "graphql-preflight",
];

/// A multipart request (GraphQL multipart request spec): files are streamed to
/// temporary files, each limited by MAX_FILE_SIZE_MB, before the operation runs.
async fn multipart(
    state: &HttpState,
    http_request: &HttpRequest,
    media: ResponseMediaType,
    content_type: &str,
    payload: web::Payload,
) -> HttpResponse {
    let has_preflight_header = PREFLIGHT_HEADERS.iter().any(|name| {
        http_request
            .headers()
            .get(*name)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| !value.trim().is_empty())
    });
    if !has_preflight_header {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "multipart requests need a non-empty `Apollo-Require-Preflight` (or `GraphQL-Preflight`) header, so that a browser checks CORS first",
        );
    }
    // Files are only for callers: an anonymous request is refused before its body is
    // read, so it costs neither memory nor temporary disk.
    if !matches!(
        authentication::credential_of(http_request),
        Credential::Bearer(_)
    ) {
        return request_error(
            media,
            StatusCode::UNAUTHORIZED,
            "uploads need `Authorization: Bearer <API key or session token>`",
        );
    }
    let request = match receive_multipart(state, content_type, payload).await {
        Ok(request) => request,
        Err((status, message)) => return request_error(media, status, &message),
    };
    execute(state, http_request, media, request, Transport::Post).await
}

/// Reads a GraphQL multipart request: `operations` and `map` are held in memory up to
/// the JSON body's limit (MAX_BODY_BYTES), files are streamed to temporary files up to
/// MAX_FILE_SIZE_MB each, at most MAX_FILES_PER_REQUEST of them.
async fn receive_multipart(
    state: &HttpState,
    content_type: &str,
    payload: web::Payload,
) -> Result<Request, (StatusCode, String)> {
    use std::io::{Seek, Write};
    let malformed = |error: &dyn std::fmt::Display| {
        (
            StatusCode::BAD_REQUEST,
            format!("the multipart request is malformed: {error}"),
        )
    };
    let max_file_bytes = state.app.files.max_upload_bytes;
    let limit_mb = max_file_bytes / (1024 * 1024);
    let boundary = multer::parse_boundary(content_type).map_err(|error| malformed(&error))?;
    let json_limit = MAX_BODY_BYTES as u64;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .per_field(max_file_bytes)
            .for_field("operations", json_limit)
            .for_field("map", json_limit)
            .whole_stream(
                max_file_bytes
                    .saturating_mul(MAX_FILES_PER_REQUEST as u64)
                    .saturating_add(2 * json_limit),
            ),
    );
    let too_large = |error: multer::Error| match error {
        multer::Error::FieldSizeExceeded { field_name, .. }
            if matches!(field_name.as_deref(), Some("operations" | "map")) =>
        {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the `{}` part exceeds {MAX_BODY_BYTES} bytes",
                    field_name.unwrap_or_default()
                ),
            )
        }
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("an uploaded file exceeds MAX_FILE_SIZE_MB ({limit_mb} MiB)"),
        ),
        other => malformed(&other),
    };
    // actix's payload is tied to this thread; the parser wants a Send stream. A small
    // bounded channel bridges the two and keeps memory flat for large files.
    let (sender, receiver) = futures::channel::mpsc::channel::<std::io::Result<web::Bytes>>(8);
    actix_web::rt::spawn(async move {
        use futures::StreamExt;
        let mut payload = payload;
        let mut sender = sender;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(std::io::Error::other);
            let failed = chunk.is_err();
            if futures::SinkExt::send(&mut sender, chunk).await.is_err() || failed {
                break;
            }
        }
    });
    let mut multipart = multer::Multipart::with_constraints(receiver, boundary, constraints);
    let mut operations: Option<Value> = None;
    let mut map: Option<std::collections::HashMap<String, Vec<String>>> = None;
    let mut files = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("operations") => {
                let bytes = field.bytes().await.map_err(too_large)?;
                operations = Some(serde_json::from_slice(&bytes).map_err(|error| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("the `operations` part is not JSON: {error}"),
                    )
                })?);
            }
            Some("map") => {
                let bytes = field.bytes().await.map_err(too_large)?;
                map = Some(serde_json::from_slice(&bytes).map_err(|error| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("the `map` part is not a JSON object of arrays of paths: {error}"),
                    )
                })?);
            }
            Some(name) => {
                if files.len() >= MAX_FILES_PER_REQUEST {
                    return Err((
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("at most {MAX_FILES_PER_REQUEST} files per request"),
                    ));
                }
                let name = name.to_owned();
                let filename = field.file_name().unwrap_or(&name).to_owned();
                let file_type = field.content_type().map(ToString::to_string);
                let mut file = tempfile::tempfile().map_err(|error| {
                    tracing::error!(%error, "creating a temporary file for an upload failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "storing the upload failed".to_owned(),
                    )
                })?;
                while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                    file.write_all(&chunk).map_err(|error| {
                        tracing::error!(%error, "writing an upload to a temporary file failed");
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "storing the upload failed".to_owned(),
                        )
                    })?;
                }
                file.rewind().map_err(|error| malformed(&error))?;
                files.push((name, filename, file_type, file));
            }
            None => {}
        }
    }
    let operations = operations.ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "the multipart request has no `operations` part".to_owned(),
        )
    })?;
    let mut map = map.ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "the multipart request has no `map` part".to_owned(),
        )
    })?;
    let mut request = into_request(
        parameters_from_json(operations).map_err(|message| (StatusCode::BAD_REQUEST, message))?,
    );
    for (name, filename, file_type, content) in files {
        let Some(paths) = map.remove(&name) else {
            continue;
        };
        let upload = async_graphql::UploadValue {
            filename,
            content_type: file_type,
            content,
        };
        for path in paths {
            let copy = upload.try_clone().map_err(|error| malformed(&error))?;
            request.set_upload(&path, copy);
        }
    }
    if let Some(missing) = map.keys().next() {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("the `map` names the file part `{missing}`, which the request does not have"),
        ));
    }
    Ok(request)
}

const MULTIPART: &str = "multipart/form-data";
const MAX_FILES_PER_REQUEST: usize = 10;

/// How the request came: GET may not carry a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Get,
    Post,
}

/// Checks the document's limits (before authentication: an anonymous document costs
/// at most one linear pass), authenticates, and runs the request. Rate limits per key,
/// the audit log and the metrics are the rulebook's (`rulebook`), as on the websocket.
async fn execute(
    state: &HttpState,
    http_request: &HttpRequest,
    media: ResponseMediaType,
    mut request: Request,
    transport: Transport,
) -> HttpResponse {
    if let Err(refused) =
        entmoot_schema::limits::check_request(&mut request, &state.document_limits)
    {
        return render(media, Response::from_errors(vec![refused]));
    }
    let operation_name = request.operation_name.clone();
    let operation_kind = match request.parsed_query() {
        Ok(document) => operation_type(document, operation_name.as_deref()),
        Err(refused) => return render(media, Response::from_errors(vec![refused])),
    };
    // Mutations change state and must not ride on GET (caches, prefetch, CSRF).
    if transport == Transport::Get && operation_kind == Some(OperationType::Mutation) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, Method::POST.as_str()))
            .content_type(media.content_type())
            .body(
                error_body(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "mutations are only accepted over POST",
                )
                .to_string(),
            );
    }
    let credential = authentication::credential_of(http_request);
    let authentication = authentication::authenticate(&state.app, &credential).await;
    let response = state
        .schema
        .execute(with_origin(
            state,
            http_request,
            authentication::add_to_request(request, &credential, &authentication),
        ))
        .await;
    render(media, response)
}

/// The client address and request id, for attempt limits and the audit log.
fn with_origin(state: &HttpState, http_request: &HttpRequest, request: Request) -> Request {
    let request = request.data(ClientAddress(
        client_address(state, http_request).unwrap_or_default(),
    ));
    match http_request.extensions().get::<RequestId>() {
        Some(id) => request.data(RequestIdentifier(id.0.clone())),
        None => request,
    }
}

pub async fn graphql_get(state: web::Data<HttpState>, http_request: HttpRequest) -> HttpResponse {
    let query_string = http_request.query_string();
    if query_string.is_empty() && wants_html(&http_request) && state.graphiql {
        return crate::http::console::graphiql_page();
    }
    let Some(media) = negotiate(&http_request) else {
        return HttpResponse::NotAcceptable()
            .content_type("text/plain; charset=utf-8")
            .body("accept application/graphql-response+json or application/json");
    };
    if let Some(refused) = address_limit(&state, &http_request, media).await {
        return refused;
    }
    let parameters = match parameters_from_query_string(query_string) {
        Ok(parameters) => parameters,
        Err(message) => return request_error(media, StatusCode::BAD_REQUEST, &message),
    };
    execute(
        &state,
        &http_request,
        media,
        into_request(parameters),
        Transport::Get,
    )
    .await
}

fn wants_html(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn negotiated(accept: Option<&str>) -> Option<ResponseMediaType> {
        let mut request = TestRequest::default();
        if let Some(accept) = accept {
            request = request.insert_header((header::ACCEPT, accept));
        }
        negotiate(&request.to_http_request())
    }

    #[test]
    fn content_negotiation_follows_the_spec() {
        assert_eq!(negotiated(None), Some(ResponseMediaType::Json));
        assert_eq!(
            negotiated(Some("application/json")),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(
            negotiated(Some("application/graphql-response+json, application/json")),
            Some(ResponseMediaType::GraphqlResponseJson)
        );
        assert_eq!(
            negotiated(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(negotiated(Some("text/plain")), None);
    }

    #[test]
    fn mutations_are_recognised_by_operation() {
        let parse = |source: &str| async_graphql::parser::parse_query(source).expect("parses");
        let document = &parse(
            "query A { apiVersion } mutation B { createProject(input: {name: \"x\"}) { id } }",
        );
        assert_eq!(
            operation_type(document, Some("A")),
            Some(OperationType::Query)
        );
        assert_eq!(
            operation_type(document, Some("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(
            operation_type(&parse("{ apiVersion }"), None),
            Some(OperationType::Query)
        );
    }
}
