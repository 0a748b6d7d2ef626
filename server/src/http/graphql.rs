//! POST and GET /graphql, and GraphiQL for a browser that asks for HTML.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};

use crate::http::HttpState;

pub async fn graphql_post(state: web::Data<HttpState>, request: GraphQLRequest) -> GraphQLResponse {
    let request = request.into_inner().data(state.default_caller.clone());
    state.schema.execute(request).await.into()
}

pub async fn graphql_get(
    state: web::Data<HttpState>,
    http_request: HttpRequest,
    request: Option<GraphQLRequest>,
) -> HttpResponse {
    let wants_html = http_request
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    match request {
        Some(request) if !wants_html => {
            let request = request.into_inner().data(state.default_caller.clone());
            let response: GraphQLResponse = state.schema.execute(request).await.into();
            actix_web::Responder::respond_to(response, &http_request).map_into_boxed_body()
        }
        _ => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .title("Entmoot GraphiQL")
                    .finish(),
            ),
    }
}
