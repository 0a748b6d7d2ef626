//! The GraphQL transport against the attacks graphql-cop runs and the
//! GraphQL-over-HTTP rules a frontend relies on.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{TestServer, embedded_env};
use serde_json::{Value, json};

async fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("server");
    (dir, server)
}

async fn post_json(server: &TestServer, accept: &str, body: Value) -> (u16, Value) {
    let response = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

fn first_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn graphql_cop_attacks_are_refused() {
    let (_dir, server) = server().await;
    let accept = "application/graphql-response+json";

    let aliases: String = (0..101).map(|i| format!("a{i}: apiVersion ")).collect();
    let (status, body) = post_json(
        &server,
        accept,
        json!({"query": format!("{{ {aliases} }}")}),
    )
    .await;
    assert_eq!(
        (status, first_code(&body)),
        (400, "LIMIT_EXCEEDED"),
        "{body}"
    );
    assert!(
        body.get("data").is_none(),
        "request errors carry no data: {body}"
    );

    let duplicated = "apiVersion ".repeat(500);
    let (status, body) = post_json(
        &server,
        accept,
        json!({"query": format!("{{ {duplicated} }}")}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(first_code(&body), "LIMIT_EXCEEDED");

    let directives = "@include(if: true) ".repeat(60);
    let (status, body) = post_json(
        &server,
        accept,
        json!({"query": format!("{{ projects(first: 1) {directives} {{ edges {{ cursor }} }} }}")}),
    )
    .await;
    assert_eq!(status, 400, "directive overloading on a real field: {body}");

    let circular =
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let (status, body) = post_json(&server, accept, json!({"query": circular})).await;
    assert_eq!(
        (status, first_code(&body)),
        (400, "LIMIT_EXCEEDED"),
        "{body}"
    );

    let (status, body) = post_json(
        &server,
        accept,
        json!([{"query": "{ apiVersion }"}, {"query": "{ apiVersion }"}]),
    )
    .await;
    assert_eq!(status, 400, "batching is refused: {body}");

    let response = server
        .client
        .get(format!("{}/graphql", server.base_url))
        .query(&[(
            "query",
            "mutation { createProject(input: {name: \"via GET\"}) { id } }",
        )])
        .header("accept", accept)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 405, "mutations over GET are refused");
    assert_eq!(response.headers()["allow"], "POST");

    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = server
            .client
            .post(format!("{}/graphql", server.base_url))
            .header("content-type", content_type)
            .body(r#"{"query":"mutation { createProject(input: {name: \"csrf\"}) { id } }"}"#)
            .send()
            .await
            .expect("POST");
        // Multipart is how uploads arrive, so it is accepted, but only with a header
        // that a browser sends after a CORS preflight; without one it is refused.
        let expected = if content_type.starts_with("multipart/") {
            400
        } else {
            415
        };
        assert_eq!(
            response.status(),
            expected,
            "CSRF with {content_type} is refused"
        );
    }
    // Nothing above created anything.
    let (_, body) = post_json(
        &server,
        accept,
        json!({"query": "{ projects { edges { node { id } } } }"}),
    )
    .await;
    assert_eq!(body["data"]["projects"]["edges"], json!([]), "{body}");
}

#[tokio::test]
async fn the_transport_follows_graphql_over_http() {
    let (_dir, server) = server().await;

    // A parse error: 400 with graphql-response+json, 200 with legacy application/json.
    let (status, body) = post_json(
        &server,
        "application/graphql-response+json",
        json!({"query": "{"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.get("data").is_none() && body["errors"].is_array(),
        "{body}"
    );
    let (status, body) = post_json(&server, "application/json", json!({"query": "{"})).await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_none(), "{body}");

    // A field error keeps status 200 and carries data.
    let (status, body) = post_json(
        &server,
        "application/graphql-response+json",
        json!({"query": "{ apiVersion project(id: \"bm9wZQ\") { id } }"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(first_code(&body), "BAD_USER_INPUT");

    // GET runs queries; an unacceptable Accept is 406.
    let response = server
        .client
        .get(format!("{}/graphql", server.base_url))
        .query(&[("query", "{ apiVersion }")])
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let response = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("accept", "text/plain")
        .json(&json!({"query": "{ apiVersion }"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 406);

    // Page sizes are bounded.
    let (_, body) = post_json(
        &server,
        "application/json",
        json!({"query": "{ projects(first: 101) { edges { cursor } } }"}),
    )
    .await;
    assert_eq!(first_code(&body), "BAD_USER_INPUT", "{body}");
}
