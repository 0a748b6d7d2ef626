//! One rulebook for every operation, whatever the transport (HTTP or websocket): an
//! async-graphql extension that authenticates websocket operations one by one (from
//! the credential the socket presented, so a revoked key, an ended session or a
//! lowered role take effect on an open socket), applies the per-key and per-address
//! rate limits, writes callers' mutations to the audit log and counts every operation
//! in the metrics. Open subscriptions re-check their credential every
//! `SUBSCRIPTION_RECHECK` and end when it is no longer accepted.
//!
//! The HTTP handler authenticates itself (it needs the answer before the schema runs)
//! and puts the outcome in the request; everything else happens here, once.

use std::any::TypeId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextSubscribe,
    NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult};
use futures::StreamExt;
use futures::stream::BoxStream;

use entmoot_domain::audit::{AuditEntry, record_mutations};
use entmoot_domain::{AppContext, Caller};
use entmoot_schema::{ClientAddress, RequestIdentifier};

use crate::adapters::rate_limit::{Decision, RateLimiter};
use crate::http::RateLimits;
use crate::http::authentication::{self, Credential};

/// How often an open subscription checks that its credential is still accepted.
pub const SUBSCRIPTION_RECHECK: Duration = Duration::from_secs(5);

/// The credential a websocket presented (upgrade header or `connection_init`); kept in
/// the connection's data so that every operation on the socket is authenticated anew.
#[derive(Debug, Clone)]
pub struct SocketCredential(pub Credential);

/// What the rules need to know about the operation, found once from the parsed
/// document.
#[derive(Debug, Clone)]
struct OperationFacts {
    kind: &'static str,
    /// `(response key, field name)` of each root field of a mutation.
    mutation_fields: Vec<(String, String)>,
}

/// The extension factory, built once per process by `serve`.
pub struct Rulebook {
    /// Shared, not cloned: every operation's extension, and every subscription's
    /// credential recheck, holds it for as long as it lives.
    pub app: Arc<AppContext>,
    pub rate_limiter: Arc<RateLimiter>,
    pub rate_limits: RateLimits,
    /// Whether callers without an accepted credential may introspect (development
    /// only: the schema is a map for an attacker).
    pub anonymous_introspection: bool,
}

impl ExtensionFactory for Rulebook {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Rules {
            app: self.app.clone(),
            rate_limiter: self.rate_limiter.clone(),
            rate_limits: self.rate_limits,
            anonymous_introspection: self.anonymous_introspection,
        })
    }
}

struct Rules {
    app: Arc<AppContext>,
    rate_limiter: Arc<RateLimiter>,
    rate_limits: RateLimits,
    anonymous_introspection: bool,
}

/// A rate-limit refusal: LIMIT_EXCEEDED with the seconds to wait, which the HTTP
/// transport answers with 429 and Retry-After.
pub fn rate_limit_error(retry_after_seconds: u64, what: &str) -> ServerError {
    let mut error = ServerError::new(
        format!("rate limit exceeded for this {what}; retry in {retry_after_seconds} s"),
        None,
    );
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "LIMIT_EXCEEDED");
    extensions.set(
        entmoot_schema::errors::RETRY_AFTER_EXTENSION,
        retry_after_seconds,
    );
    error.extensions = Some(extensions);
    error
}

fn request_data<T: 'static>(request: &Request) -> Option<&T> {
    request
        .data
        .get(&TypeId::of::<T>())
        .and_then(|value| value.downcast_ref::<T>())
}

/// The operation a parsed document would run with this operation name.
pub fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
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

/// Mutations `domain::accounts` writes to the audit log itself (they run without a
/// token, so it is the domain that knows which organization they concern).
const AUDITED_BY_THE_DOMAIN: [&str; 4] = [
    "signIn",
    "acceptInvitation",
    "requestPasswordReset",
    "resetPassword",
];

/// `(response key, field name)` of each root field of the mutation that would run,
/// except the ones the domain audits itself.
fn mutation_fields(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Vec<(String, String)> {
    use async_graphql::parser::types::Selection;
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) => operations.values().next(),
    };
    let Some(operation) =
        operation.filter(|operation| operation.node.ty == OperationType::Mutation)
    else {
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
        .filter(|(_, name)| !AUDITED_BY_THE_DOMAIN.contains(&name.as_str()))
        .collect()
}

impl Rules {
    async fn limit(&self, bucket: String, per_minute: u32, what: &str) -> ServerResult<()> {
        match self.rate_limiter.hit(&bucket, per_minute).await {
            Decision::Allowed => Ok(()),
            Decision::Limited {
                retry_after_seconds,
            } => Err(rate_limit_error(retry_after_seconds, what)),
        }
    }
}

#[async_trait::async_trait]
impl Extension for Rules {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(SocketCredential(credential)) = ctx.data_opt::<SocketCredential>() {
            // HTTP requests met the address limit before their body was read; a
            // socket's operations meet it here, with the socket's own address.
            if let Some(ClientAddress(address)) = ctx.data_opt::<ClientAddress>()
                && !address.is_empty()
            {
                self.limit(
                    format!("address:{address}"),
                    self.rate_limits.per_address,
                    "address",
                )
                .await?;
            }
            let outcome = authentication::authenticate(&self.app, credential).await;
            request = authentication::add_to_request(request, credential, &outcome);
        }
        if !self.anonymous_introspection && request_data::<Caller>(&request).is_none() {
            request = request.disable_introspection();
        }
        if let Some(Caller {
            api_key_id: Some(key),
            ..
        }) = request_data::<Caller>(&request)
        {
            self.limit(format!("key:{key}"), self.rate_limits.per_key, "API key")
                .await?;
        }
        let operation_name = request.operation_name.clone();
        let document = request.parsed_query()?;
        let kind = match operation_type(document, operation_name.as_deref()) {
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            _ => "query",
        };
        let facts = OperationFacts {
            kind,
            mutation_fields: mutation_fields(document, operation_name.as_deref()),
        };
        request.data.insert(facts);
        next.run(ctx, request).await
    }

    /// Validation errors get the code clients switch on, like every other error.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| match error.message.as_str() {
                    // async-graphql's own cost and depth limits: a limit, like the
                    // document limits, with a message that says what to change.
                    "Query is too complex." => entmoot_schema::limits::limit_error(format!(
                        "the operation costs more than {} (a page counts its size times what each \
                         item selects; computed fields such as buildableArea, checkLayoutEdits \
                         and exportLayout count more): ask for smaller pages or fewer computed fields",
                        entmoot_schema::costs::MAX_COMPLEXITY
                    )),
                    "Query is nested too deep." => entmoot_schema::limits::limit_error(
                        "the operation is nested too deep; select fewer levels".to_owned(),
                    ),
                    _ => entmoot_schema::limits::with_code(error, "GRAPHQL_VALIDATION_FAILED"),
                })
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let Some(facts) = ctx.data_opt::<OperationFacts>() else {
            return response;
        };
        crate::metrics_registry::graphql_operation(
            facts.kind,
            response.errors.is_empty(),
            started.elapsed(),
        );
        if let Some(caller) = ctx.data_opt::<Caller>()
            && !facts.mutation_fields.is_empty()
        {
            audit(
                &self.app,
                caller,
                &facts.mutation_fields,
                ctx.data_opt::<RequestIdentifier>(),
                ctx.data_opt::<ClientAddress>(),
                &response,
            )
            .await;
        }
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let inner = next.run(ctx, stream);
        let Some(SocketCredential(credential)) = ctx.data_opt::<SocketCredential>().cloned() else {
            return inner;
        };
        let app = self.app.clone();
        enum Event {
            Item(Response),
            Ended,
            Refused(String),
            Accepted,
        }
        let rechecks = futures::stream::unfold((app, credential), |(app, credential)| async move {
            tokio::time::sleep(SUBSCRIPTION_RECHECK).await;
            // Boxed: the check's state exists only while it runs, not in every idle
            // subscription (the stream holds this future inline between checks).
            let event = match Box::pin(authentication::authenticate(&app, &credential)).await {
                Ok(_) => Event::Accepted,
                Err(refused) => Event::Refused(refused.to_string()),
            };
            Some((event, (app, credential)))
        });
        let items = inner
            .map(Event::Item)
            .chain(futures::stream::once(async { Event::Ended }));
        futures::stream::select(items, rechecks)
            .scan(false, |ended, event| {
                let next = if *ended {
                    None
                } else {
                    match event {
                        Event::Item(response) => Some(Some(response)),
                        Event::Accepted => Some(None),
                        Event::Ended => None,
                        Event::Refused(reason) => {
                            *ended = true;
                            let mut error =
                                ServerError::new(format!("the subscription ended: {reason}"), None);
                            let mut extensions = async_graphql::ErrorExtensionValues::default();
                            extensions.set("code", "UNAUTHENTICATED");
                            error.extensions = Some(extensions);
                            Some(Some(Response::from_errors(vec![error])))
                        }
                    }
                };
                futures::future::ready(next)
            })
            .filter_map(futures::future::ready)
            .boxed()
    }
}

async fn audit(
    app: &AppContext,
    caller: &Caller,
    fields: &[(String, String)],
    request_id: Option<&RequestIdentifier>,
    client_address: Option<&ClientAddress>,
    response: &Response,
) {
    use async_graphql::PathSegment;
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
        .iter()
        .map(|(key, name)| AuditEntry {
            succeeded: !nothing_ran && !failed_keys.contains(&key.as_str()),
            action: name.clone(),
            request_id: request_id.map(|id| id.0.clone()),
            client_address: client_address
                .map(|address| address.0.clone())
                .filter(|address| !address.is_empty()),
        })
        .collect();
    if let Err(error) = record_mutations(&app.database, caller, entries).await {
        tracing::error!(%error, "writing the audit log failed");
    }
}
