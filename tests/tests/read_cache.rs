//! The read cache: a site's buildable area computed on one API instance is served from
//! Redis to another, and the hits and misses reach /metrics.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    FreshPostgres, TestServer, production_like_env, run_entmoot, rural_demo_boundary,
};
use serde_json::json;

async fn counter(server: &TestServer, name: &str) -> f64 {
    let text = server
        .get("/metrics")
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let prefix = format!("{name}{{cache=\"site_buildable_area\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |value| value.trim().parse().expect("number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buildable_area_computed_on_one_instance_is_served_from_redis_to_another() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, dir.path());
    assert!(
        run_entmoot(dir.path(), &env, &["migrate", "up"])
            .status
            .success()
    );
    let first = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("api 1");
    let second = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("api 2");
    let project = first
        .graphql(
            "mutation { createProject(input: {name: \"Cache\"}) { id } }",
            json!({}),
        )
        .await
        .expect("project")["data"]["createProject"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let site = first
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id areaM2 } }",
            json!({"input": {"projectId": project, "name": "Cached", "boundary": rural_demo_boundary()}}),
        )
        .await
        .expect("site");
    let parcel_area = site["data"]["createSite"]["areaM2"].as_f64().expect("area");
    let site = site["data"]["createSite"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let query = "query($id: ID!, $setback: Float!) { node(id: $id) { ... on Site { buildableArea(setbackMetres: $setback) { areaM2 geometry } } } }";

    let computed = first
        .graphql(query, json!({"id": site, "setback": 10.0}))
        .await
        .expect("buildable area");
    let area = &computed["data"]["node"]["buildableArea"];
    assert_eq!(area["geometry"]["type"], "MultiPolygon", "{computed}");
    let inset = area["areaM2"].as_f64().expect("area");
    assert!(
        inset > 0.5 * parcel_area && inset < parcel_area,
        "a 10 m setback removes a strip: {inset} of {parcel_area} m²"
    );
    assert_eq!(counter(&first, "entmoot_cache_misses_total").await, 1.0);

    // The other instance gets the same answer from Redis, without computing it.
    let served = second
        .graphql(query, json!({"id": site, "setback": 10.0}))
        .await
        .expect("buildable area");
    assert_eq!(served["data"]["node"]["buildableArea"], *area);
    assert_eq!(counter(&second, "entmoot_cache_hits_total").await, 1.0);
    assert_eq!(counter(&second, "entmoot_cache_misses_total").await, 0.0);

    // Another setback is another entry.
    let wider = second
        .graphql(query, json!({"id": site, "setback": 30.0}))
        .await
        .expect("buildable area");
    let wider_area = wider["data"]["node"]["buildableArea"]["areaM2"]
        .as_f64()
        .expect("area");
    assert!(wider_area < inset, "{wider_area} < {inset}");
    assert_eq!(counter(&second, "entmoot_cache_misses_total").await, 1.0);

    let refused = first
        .graphql(query, json!({"id": site, "setback": -1.0}))
        .await
        .expect("buildable area");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}
