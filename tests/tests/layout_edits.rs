//! Manual edits of a stored layout, validated on the server: moving a building onto
//! another is an overlap, out of the parcel is outside the buildable area, removing and
//! adding back is valid, and bad edits name the edit at fault.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    TestServer, asset_centres as centres, create_project, create_site, embedded_env,
    first_layout_when_succeeded, rural_demo_boundary, submit_three_buildings,
};
use serde_json::{Value, json};

const CHECK: &str = "query($id: ID!, $edits: [LayoutEditInput!]!) { checkLayoutEdits(layoutId: $id, edits: $edits) { valid placedCount requestedCount violations { rule assetIds message } geojson } }";

fn rules(check: &Value) -> Vec<String> {
    check["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|violation| violation["rule"].as_str().expect("rule").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_validated_like_strategy_layouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "Edits").await;
    let site = create_site(&server, &project, "Edited", rural_demo_boundary()).await;
    let job = submit_three_buildings(&server, &site).await;
    let first = first_layout_when_succeeded(&server, &job).await;
    let (layout, geojson) = (
        first["id"].as_str().expect("layout").to_owned(),
        first["geojson"].clone(),
    );
    let centre = centres(&geojson);
    assert_eq!(centre.len(), 3, "{geojson}");
    let check = |edits: Value| {
        let server = &server;
        let layout = layout.clone();
        async move {
            server
                .graphql(CHECK, json!({"id": layout, "edits": edits}))
                .await
                .expect("check")
        }
    };

    // As stored: valid.
    let untouched = check(json!([])).await;
    let untouched = &untouched["data"]["checkLayoutEdits"];
    assert_eq!(untouched["valid"], true, "{untouched}");
    assert_eq!(untouched["placedCount"], 3);

    // One building onto another: an overlap naming both.
    let stacked = check(json!([
        {"kind": "MOVE", "assetId": "building-2", "position": centre["building-3"]}
    ]))
    .await;
    let stacked = &stacked["data"]["checkLayoutEdits"];
    assert_eq!(stacked["valid"], false);
    assert!(rules(stacked).contains(&"overlap".to_owned()), "{stacked}");
    assert!(
        stacked["violations"].to_string().contains("building-2"),
        "{stacked}"
    );

    // Out of the parcel: outside the buildable area.
    let away = check(json!([
        {"kind": "MOVE", "assetId": "building-1", "position": [-103.45, 39.30]}
    ]))
    .await;
    assert!(
        rules(&away["data"]["checkLayoutEdits"]).contains(&"outside_buildable".to_owned()),
        "{away}"
    );

    // Removed, then added back where it was: valid again, and the count follows.
    let removed = check(json!([{"kind": "REMOVE", "assetId": "building-1"}])).await;
    assert_eq!(
        removed["data"]["checkLayoutEdits"]["placedCount"], 2,
        "{removed}"
    );
    let rotation = geojson["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|feature| feature["properties"]["asset_id"] == "building-1")
        .map(|feature| {
            feature["properties"]["rotation"]
                .as_f64()
                .expect("rotation")
        })
        .expect("building-1");
    let restored = check(json!([
        {"kind": "REMOVE", "assetId": "building-1"},
        {"kind": "ADD", "assetId": "building-1", "position": centre["building-1"], "rotationDeg": rotation}
    ]))
    .await;
    let restored = &restored["data"]["checkLayoutEdits"];
    assert_eq!(restored["placedCount"], 3, "{restored}");
    assert!(
        !rules(restored).contains(&"overlap".to_owned())
            && !rules(restored).contains(&"outside_buildable".to_owned()),
        "{restored}"
    );

    // Bad edits name the edit at fault.
    let unknown = check(json!([
        {"kind": "ROTATE", "assetId": "building-1", "rotationDeg": 90.0},
        {"kind": "MOVE", "assetId": "silo-9", "position": [0.0, 0.0]}
    ]))
    .await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{unknown}"
    );
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("edits[1]"),
        "{unknown}"
    );
    let twice = check(json!([
        {"kind": "ADD", "assetId": "building-2", "position": centre["building-2"]}
    ]))
    .await;
    assert!(
        twice["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("already placed")
    );
}
