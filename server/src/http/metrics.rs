//! Prometheus metrics of the HTTP layer and the GET /metrics endpoint.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::http::HttpState;

pub struct HttpMetrics {
    pub registry: Registry,
    requests_total: IntCounterVec,
    request_duration_seconds: HistogramVec,
}

#[derive(Debug, thiserror::Error)]
#[error("registering metric {name}: {source}")]
pub struct MetricsError {
    name: &'static str,
    source: prometheus::Error,
}

impl HttpMetrics {
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let requests_total = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )
        .map_err(|source| MetricsError {
            name: "http_requests_total",
            source,
        })?;
        let request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route pattern",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )
        .map_err(|source| MetricsError {
            name: "http_request_duration_seconds",
            source,
        })?;
        registry
            .register(Box::new(requests_total.clone()))
            .map_err(|source| MetricsError {
                name: "http_requests_total",
                source,
            })?;
        registry
            .register(Box::new(request_duration_seconds.clone()))
            .map_err(|source| MetricsError {
                name: "http_request_duration_seconds",
                source,
            })?;
        Ok(Self {
            registry,
            requests_total,
            request_duration_seconds,
        })
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
    let metrics = request
        .app_data::<web::Data<HttpState>>()
        .map(|state| state.metrics.clone());
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        let status = response.status().as_u16().to_string();
        metrics
            .requests_total
            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
            .inc();
        metrics
            .request_duration_seconds
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

pub async fn metrics(state: web::Data<HttpState>) -> HttpResponse {
    if !state.serve_metrics {
        return HttpResponse::NotFound().body("metrics are disabled (PROMETHEUS_ENABLED=false)");
    }
    let mut families = state.metrics.registry.gather();
    families.extend(prometheus::gather());
    let mut buffer = Vec::new();
    match TextEncoder::new().encode(&families, &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(buffer),
        Err(error) => {
            tracing::error!(%error, "encoding metrics failed");
            HttpResponse::InternalServerError().body("encoding metrics failed")
        }
    }
}
