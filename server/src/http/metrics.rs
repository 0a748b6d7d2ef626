//! The HTTP metrics middleware and GET /metrics (Prometheus text format).
//!
//! `/metrics` is served on the API port (to an admin token, or to anyone with
//! ENTMOOT_PUBLIC_OPERATIONS=true), or only on PROMETHEUS_PORT when that is set (to
//! anyone; see `http::start_operations`), and not at all with PROMETHEUS_ENABLED=false.
//! Each scrape first refreshes the gauges sampled from the database, the pool and the
//! file system (at most every few seconds; see `metrics_registry`).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::OpsState;

/// Decrements the in-flight gauge however the request ends.
struct InFlight(&'static crate::metrics_registry::Metrics);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.http_requests_in_flight.dec();
    }
}

/// Middleware: counts and times every request by its route *pattern*, so that ids in
/// paths do not explode the label cardinality.
pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let metrics = crate::metrics_registry::get();
    let _in_flight = metrics.map(|metrics| {
        metrics.http_requests_in_flight.inc();
        InFlight(metrics)
    });
    let response = next.call(request).await;
    if let Some(metrics) = metrics {
        let status = match &response {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        let status = status.as_u16().to_string();
        metrics
            .http_requests_total
            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
            .inc();
        metrics
            .http_request_duration_seconds
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    response
}

/// GET /metrics.
pub async fn metrics(state: web::Data<OpsState>, request: HttpRequest) -> HttpResponse {
    if !state.serve_metrics {
        return HttpResponse::NotFound().body(if state.metrics_port.is_some() {
            "metrics are served on PROMETHEUS_PORT"
        } else {
            "metrics are disabled (PROMETHEUS_ENABLED=false)"
        });
    }
    // Global counts are the operator's: on the API port they need an admin token.
    if !crate::http::health::may_see_details(&state, &request).await {
        return HttpResponse::Unauthorized().body(
            "metrics on the API port need an admin token (or PROMETHEUS_PORT, or ENTMOOT_PUBLIC_OPERATIONS=true)",
        );
    }
    state
        .metrics
        .sample(&state.app.database, &state.data_dir)
        .await;
    match state.metrics.encode() {
        Ok(buffer) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(buffer),
        Err(error) => {
            tracing::error!(%error, "encoding metrics failed");
            HttpResponse::InternalServerError().body("encoding metrics failed")
        }
    }
}
