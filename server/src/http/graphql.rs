//! /graphql per the GraphQL-over-HTTP specification: POST with
//! `application/json`, GET with query parameters (queries only), content negotiation
//! between `application/graphql-response+json` and `application/json`, request
//! errors without `data` and with status 400, websocket subscriptions on the same
//! path (both `graphql-transport-ws` and the legacy `graphql-ws` subprotocols), and
//! GraphiQL for a browser.
//!
//! The stock async-graphql responder does not follow all of these (the `graphql-http`
//! audit in `tests/node/` checks them), so this module owns the transport and hands only
//! a parsed `Request` to the schema.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Request, Response, ServerError, Variables};
use async_graphql_actix_web::GraphQLSubscription;
use serde_json::{Map, Value, json};

use entmoot_domain::Caller;
use entmoot_domain::audit::{AuditEntry, record_mutations};
use entmoot_schema::ClientAddress;

use crate::adapters::rate_limit::Decision;
use crate::http::HttpState;
use crate::http::authentication::{self, Credential};
use crate::http::request_id::RequestId;

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

fn error_body(message: &str) -> Value {
    json!({"errors": [{"message": message}]})
}

/// A response to a request that never reached execution: no `data` key.
fn request_error(media: ResponseMediaType, status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(media.content_type())
        .body(error_body(message).to_string())
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
    if state.rate_limits.trust_forwarded_headers {
        // The last entry is the one our own load balancer appended; earlier ones are
        // whatever the client claimed.
        let forwarded = request
            .headers()
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
    request.peer_addr().map(|address| address.ip().to_string())
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

/// The operation the request would run, if the document parses.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| operation.node.ty)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .values()
            .next()
            .map(|operation| operation.node.ty),
        _ => None,
    }
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
    execute(&state, &http_request, media, into_request(parameters)).await
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
    mut payload: web::Payload,
) -> HttpResponse {
    use futures::{StreamExt, TryStreamExt};
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
    // actix's payload is tied to this thread; the parser wants a Send reader. A small
    // bounded channel bridges the two and keeps memory flat for large files.
    let (sender, receiver) = futures::channel::mpsc::channel::<std::io::Result<web::Bytes>>(8);
    actix_web::rt::spawn(async move {
        let mut sender = sender;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(std::io::Error::other);
            let failed = chunk.is_err();
            if futures::SinkExt::send(&mut sender, chunk).await.is_err() || failed {
                break;
            }
        }
    });
    let reader = receiver.into_async_read();
    let options = async_graphql::http::MultipartOptions::default()
        .max_file_size(usize::try_from(state.app.files.max_upload_bytes).unwrap_or(usize::MAX))
        .max_num_files(MAX_FILES_PER_REQUEST);
    let request = match async_graphql::http::receive_body(Some(content_type), reader, options).await
    {
        Ok(request) => request,
        Err(error) => {
            let limit_mb = state.app.files.max_upload_bytes / (1024 * 1024);
            let (status, message) = match error {
                async_graphql::ParseRequestError::PayloadTooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("an uploaded file exceeds MAX_FILE_SIZE_MB ({limit_mb} MiB)"),
                ),
                other => (
                    StatusCode::BAD_REQUEST,
                    format!("the multipart request is malformed: {other}"),
                ),
            };
            return request_error(media, status, &message);
        }
    };
    execute(state, http_request, media, request).await
}

const MULTIPART: &str = "multipart/form-data";
const MAX_FILES_PER_REQUEST: usize = 10;

/// Authenticates and runs a request, records it in the GraphQL metrics and, for a
/// mutation by a caller, in the audit log.
async fn execute(
    state: &HttpState,
    http_request: &HttpRequest,
    media: ResponseMediaType,
    request: Request,
) -> HttpResponse {
    let operation_kind = operation_type(&request.query, request.operation_name.as_deref());
    let operation = match operation_kind {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    };
    let credential = authentication::credential_of(http_request);
    let authentication = authentication::authenticate(&state.app, &credential).await;
    if let Ok(Caller {
        api_key_id: Some(key),
        ..
    }) = &authentication
        && let Decision::Limited {
            retry_after_seconds,
        } = state
            .rate_limiter
            .hit(&format!("key:{key}"), state.rate_limits.per_key)
            .await
    {
        return limited(media, retry_after_seconds, "API key");
    }
    let audited_fields = match (&authentication, operation_kind) {
        (Ok(_), Some(OperationType::Mutation)) => {
            mutation_fields(&request.query, request.operation_name.as_deref())
        }
        _ => Vec::new(),
    };
    let started = std::time::Instant::now();
    let response = state
        .schema
        .execute(
            authentication::add_to_request(request, &credential, &authentication).data(
                ClientAddress(client_address(state, http_request).unwrap_or_default()),
            ),
        )
        .await;
    crate::metrics_registry::graphql_operation(
        operation,
        response.errors.is_empty(),
        started.elapsed(),
    );
    if let (Ok(caller), false) = (&authentication, audited_fields.is_empty()) {
        audit(state, http_request, caller, audited_fields, &response).await;
    }
    render(media, response)
}

/// `(response key, field name)` of each root field of the mutation that would run.
fn mutation_fields(query: &str, operation_name: Option<&str>) -> Vec<(String, String)> {
    use async_graphql::parser::types::Selection;
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Vec::new();
    };
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) => operations.values().next(),
    };
    let Some(operation) = operation else {
        return Vec::new();
    };
    operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => (
                field.node.response_key().node.to_string(),
                field.node.name.node.to_string(),
            ),
            // Fragments on the mutation root are rare; they are logged as such.
            _ => ("…".to_owned(), "(fragment)".to_owned()),
        })
        .collect()
}

async fn audit(
    state: &HttpState,
    http_request: &HttpRequest,
    caller: &Caller,
    fields: Vec<(String, String)>,
    response: &Response,
) {
    use async_graphql::PathSegment;
    let request_id = http_request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone());
    let client_address = client_address(state, http_request);
    let failed_keys: Vec<&str> = response
        .errors
        .iter()
        .filter_map(|error| match error.path.first() {
            Some(PathSegment::Field(key)) => Some(key.as_str()),
            _ => None,
        })
        .collect();
    // An error without a path (validation, limits) means nothing ran.
    let nothing_ran = response.errors.iter().any(|error| error.path.is_empty());
    let entries = fields
        .into_iter()
        .map(|(key, name)| AuditEntry {
            succeeded: !nothing_ran && !failed_keys.contains(&key.as_str()),
            action: name,
            request_id: request_id.clone(),
            client_address: client_address.clone(),
        })
        .collect();
    if let Err(error) = record_mutations(&state.app.database, caller, entries).await {
        tracing::error!(%error, "writing the audit log failed");
    }
}

pub async fn graphql_get(
    state: web::Data<HttpState>,
    http_request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if is_websocket_upgrade(&http_request) {
        // The token may come with the upgrade request (non-browser clients) or in the
        // connection_init payload (browsers cannot set headers on a websocket).
        let header_credential = authentication::credential_of(&http_request);
        let app = state.app.clone();
        return GraphQLSubscription::new(state.schema.clone())
            .on_connection_init(move |payload| async move {
                let credential = match authentication::credential_of_init_payload(&payload) {
                    Credential::Absent => header_credential,
                    from_payload => from_payload,
                };
                let outcome = authentication::authenticate(&app, &credential).await;
                Ok(authentication::into_data(&outcome))
            })
            .start(&http_request, payload)
            .unwrap_or_else(HttpResponse::from_error);
    }
    let query_string = http_request.query_string();
    if query_string.is_empty() && wants_html(&http_request) {
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
    // Mutations change state and must not ride on GET (caches, prefetch, CSRF).
    if operation_type(&parameters.query, parameters.operation_name.as_deref())
        == Some(OperationType::Mutation)
    {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, Method::POST.as_str()))
            .content_type(media.content_type())
            .body(error_body("mutations are only accepted over POST").to_string());
    }
    execute(&state, &http_request, media, into_request(parameters)).await
}

fn is_websocket_upgrade(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
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
        let document =
            "query A { apiVersion } mutation B { createProject(input: {name: \"x\"}) { id } }";
        assert_eq!(
            operation_type(document, Some("A")),
            Some(OperationType::Query)
        );
        assert_eq!(
            operation_type(document, Some("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(
            operation_type("{ apiVersion }", None),
            Some(OperationType::Query)
        );
    }
}
