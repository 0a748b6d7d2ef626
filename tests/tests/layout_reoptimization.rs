//! Saving a planner's edits and re-optimizing from them: a valid edit is stored as a
//! new layout that becomes the site's latest, an invalid one is refused with its
//! violations and stores nothing, and a job seeded from the saved layout keeps the
//! pinned assets exactly where the planner left them while placing the rest.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{
    TestServer, asset_centres, create_project, create_site, embedded_env,
    first_layout_when_succeeded, json_fixture, rural_demo_boundary, submit_three_buildings,
};
use serde_json::{Value, json};

const SAVE: &str = "mutation($id: ID!, $edits: [LayoutEditInput!]!) { saveLayoutEdits(layoutId: $id, edits: $edits) { id placedCount geojson editedFrom { id } job { id } } }";
const CREATE_JOB: &str = "mutation($input: CreateJobInput!) { createJob(input: $input) { id keptAssets seedLayout { id } objectiveWeights } }";

fn first_error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
}

/// Waits for `job` to succeed and returns its best layout's GeoJSON.
async fn best_layout_geojson(server: &TestServer, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = server
            .graphql(
                "query($id: ID!) { job(id: $id) { status error layouts { geojson } } }",
                json!({"id": job}),
            )
            .await
            .expect("job");
        match body["data"]["job"]["status"].as_str() {
            Some("SUCCEEDED") => return body["data"]["job"]["layouts"][0]["geojson"].clone(),
            Some("FAILED") | Some("CANCELLED") => panic!("the seeded job ended: {body}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "no result within 60 s: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn same_place(a: [f64; 2], b: [f64; 2]) -> bool {
    // 1e-7 degrees is about a centimetre.
    (a[0] - b[0]).abs() < 1e-7 && (a[1] - b[1]).abs() < 1e-7
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_edits_seed_a_reoptimization_that_keeps_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "Re-optimization").await;
    let site = create_site(&server, &project, "Edited", rural_demo_boundary()).await;
    let job = submit_three_buildings(&server, &site).await;
    let original = first_layout_when_succeeded(&server, &job).await;
    let original_id = original["id"].as_str().expect("id").to_owned();
    let centre = asset_centres(&original["geojson"]);
    assert_eq!(centre.len(), 3, "{original}");

    // An invalid edit (one building onto another) is refused, with the violations,
    // and stores nothing.
    let refused = server
        .graphql(
            SAVE,
            json!({"id": original_id, "edits": [
                {"kind": "MOVE", "assetId": "building-2", "position": centre["building-3"]}
            ]}),
        )
        .await
        .expect("save");
    assert_eq!(first_error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let violations = &refused["errors"][0]["extensions"]["violations"];
    assert!(
        violations
            .as_array()
            .is_some_and(|list| list.iter().any(|v| v["rule"] == "overlap")),
        "{refused}"
    );
    let latest = || {
        let server = &server;
        let site = site.clone();
        async move {
            server
                .graphql(
                    "query($id: ID!) { node(id: $id) { ... on Site { latestLayout { id editedFrom { id } } } } }",
                    json!({"id": site}),
                )
                .await
                .expect("latestLayout")["data"]["node"]["latestLayout"]
                .clone()
        }
    };
    assert_eq!(latest().await["id"], original_id.as_str());

    // A valid edit: building-3 taken out, building-1 moved to where it was.
    let saved = server
        .graphql(
            SAVE,
            json!({"id": original_id, "edits": [
                {"kind": "REMOVE", "assetId": "building-3"},
                {"kind": "MOVE", "assetId": "building-1", "position": centre["building-3"]}
            ]}),
        )
        .await
        .expect("save");
    let saved = &saved["data"]["saveLayoutEdits"];
    assert_eq!(saved["placedCount"], 2, "{saved}");
    assert_eq!(saved["editedFrom"]["id"], original_id.as_str());
    assert_eq!(saved["job"]["id"], job.as_str());
    let saved_id = saved["id"].as_str().expect("saved id").to_owned();
    let saved_centre = asset_centres(&saved["geojson"]);
    assert!(same_place(saved_centre["building-1"], centre["building-3"]));
    // It is the site's latest layout now, but not one of the job's alternatives.
    let now_latest = latest().await;
    assert_eq!(now_latest["id"], saved_id.as_str(), "{now_latest}");
    let alternatives = server
        .graphql(
            "query($id: ID!) { job(id: $id) { layouts { id } } }",
            json!({"id": job}),
        )
        .await
        .expect("job");
    assert!(
        !alternatives.to_string().contains(&saved_id),
        "{alternatives}"
    );

    // Re-optimize from it, with the seed's program: building-1 and building-2 stay
    // exactly where the planner has them, building-3 is placed again.
    let seeded = server
        .graphql(
            CREATE_JOB,
            json!({"input": {"siteId": site, "seedLayoutId": saved_id,
                             "objectiveWeights": {"cost": 10.0, "aesthetics": 0.0}}}),
        )
        .await
        .expect("createJob");
    let seeded = &seeded["data"]["createJob"];
    let mut kept: Vec<String> = serde_json::from_value(seeded["keptAssets"].clone()).unwrap();
    kept.sort();
    assert_eq!(kept, ["building-1", "building-2"], "{seeded}");
    assert_eq!(seeded["seedLayout"]["id"], saved_id.as_str());
    assert_eq!(seeded["objectiveWeights"]["cost"], 10.0, "{seeded}");
    assert_eq!(seeded["objectiveWeights"]["aesthetics"], 0.0);
    assert_eq!(seeded["objectiveWeights"]["buildable_area"], 30.0);
    let result = best_layout_geojson(&server, seeded["id"].as_str().expect("job id")).await;
    let result_centre = asset_centres(&result);
    assert_eq!(result_centre.len(), 3, "{result}");
    for kept in ["building-1", "building-2"] {
        assert!(
            same_place(result_centre[kept], saved_centre[kept]),
            "{kept} moved: {:?} → {:?}",
            saved_centre[kept],
            result_centre[kept]
        );
    }
    assert!(
        result["features"]
            .as_array()
            .expect("features")
            .iter()
            .any(|feature| feature["properties"]["kind"] == "road"),
        "the merged layout has no roads: {result}"
    );

    // Only some kept: building-2 stays, the others are the strategy's to place.
    let partly = server
        .graphql(
            CREATE_JOB,
            json!({"input": {"siteId": site, "seedLayoutId": saved_id, "keepAssets": ["building-2"]}}),
        )
        .await
        .expect("createJob");
    assert_eq!(
        partly["data"]["createJob"]["keptAssets"],
        json!(["building-2"]),
        "{partly}"
    );
    let result = best_layout_geojson(
        &server,
        partly["data"]["createJob"]["id"].as_str().expect("job id"),
    )
    .await;
    let result_centre = asset_centres(&result);
    assert_eq!(result_centre.len(), 3, "{result}");
    assert!(same_place(
        result_centre["building-2"],
        saved_centre["building-2"]
    ));

    // Bad seeds are named.
    for (input, expected) in [
        (
            json!({"siteId": site, "seedLayoutId": saved_id, "keepAssets": ["building-3"]}),
            "keepAssets[0]",
        ),
        (
            json!({"siteId": site, "keepAssets": ["building-1"],
                    "program": json_fixture("programs/three_buildings_ft.json")}),
            "keepAssets: needs seedLayoutId",
        ),
        (json!({"siteId": site}), "program: required"),
        (
            json!({"siteId": site, "seedLayoutId": saved_id, "objectiveWeights": {"cost": -1.0}}),
            "objectiveWeights.cost",
        ),
    ] {
        let body = server
            .graphql(CREATE_JOB, json!({"input": input}))
            .await
            .expect("createJob");
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(expected), "{expected}: {body}");
    }
    let other_site = create_site(&server, &project, "Other", rural_demo_boundary()).await;
    let body = server
        .graphql(
            CREATE_JOB,
            json!({"input": {"siteId": other_site, "seedLayoutId": saved_id}}),
        )
        .await
        .expect("createJob");
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body.to_string().contains("another site"), "{body}");
}
