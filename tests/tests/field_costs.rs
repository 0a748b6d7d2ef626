//! Field costs: a page counts its size times what each item selects, and fields that
//! compute (buildable area, edit checks, exports) carry a charge, so one request cannot
//! ask for a page of pages of pages, or for a hundred geometry computations. The
//! console's own largest page still fits, and a refusal is LIMIT_EXCEEDED before any
//! resolver runs.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    TestServer, create_project, create_site, embedded_env, error_code, graphql_ok,
    rural_demo_boundary,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_computed_fields_are_charged_before_they_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "Costs").await;
    create_site(&server, &project, "Costed parcel", rural_demo_boundary()).await;

    // The console's project list: 100 projects with up to 100 sites each.
    let console_page = "query { projects(first: 100) { edges { node { id name description \
        createdAt updatedAt sites(first: 100) { edges { node { id name } } \
        pageInfo { hasNextPage } } } } pageInfo { hasNextPage endCursor } } }";
    let data = graphql_ok(&server, console_page, json!({})).await;
    assert_eq!(
        data["projects"]["edges"][0]["node"]["sites"]["edges"][0]["node"]["name"],
        "Costed parcel"
    );

    // A page of pages of pages: a million jobs asked for in 100 bytes.
    let nested = server
        .graphql(
            "query { projects(first: 100) { edges { node { sites(first: 100) { edges { node { \
             jobs(first: 100) { edges { node { id } } } } } } } } } }",
            json!({}),
        )
        .await
        .expect("nested pages");
    assert_eq!(error_code(&nested), "LIMIT_EXCEEDED", "{nested}");
    assert!(
        nested.get("data").is_none_or(serde_json::Value::is_null),
        "{nested}"
    );
    let message = nested["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("costs more than"), "{message}");

    // A computed field is charged per item: 40 buildable areas fit, 100 do not, though
    // both documents are the same size and have no alias.
    let buildable = |first: u32| {
        format!(
            "query {{ projects(first: 1) {{ edges {{ node {{ sites(first: {first}) {{ edges {{ \
             node {{ buildableArea {{ areaM2 }} }} }} }} }} }} }} }}"
        )
    };
    let forty = graphql_ok(&server, &buildable(40), json!({})).await;
    let area = forty["projects"]["edges"][0]["node"]["sites"]["edges"][0]["node"]["buildableArea"]
        ["areaM2"]
        .as_f64()
        .expect("an area");
    assert!(area > 0.0, "{forty}");
    let hundred = server
        .graphql(&buildable(100), json!({}))
        .await
        .expect("a hundred buildable areas");
    assert_eq!(error_code(&hundred), "LIMIT_EXCEEDED", "{hundred}");

    // The cost of a page follows its variables, not only its literals.
    let by_variable = server
        .graphql(
            "query($n: Int) { projects(first: 1) { edges { node { sites(first: $n) { edges { \
             node { buildableArea { areaM2 } } } } } } } }",
            json!({"n": 100}),
        )
        .await
        .expect("variables");
    assert_eq!(error_code(&by_variable), "LIMIT_EXCEEDED", "{by_variable}");
}
