//! Terrain through the API: a GeoTIFF DEM generated here (a flat west, a 30 % climb in
//! the east) is uploaded, linked to a site with `setSiteTerrain`, and the site's next
//! job keeps its buildings off the steep ground and reports measured earthwork, where
//! the same job without terrain reports earthwork as unknown.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_plugin_sdk::fixtures::{rural_demo_dem, rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_tests::{
    TestServer, asset_centres, create_project, create_site, embedded_env, graphql_upload,
    json_fixture, rural_demo_boundary,
};
use serde_json::{Value, json};

/// Where the climb starts, in metres east of the parcel's western edge.
const RAMP_STARTS_M: f64 = 215.0;

/// Flat west of the ramp, rising 30 % east of it; also the parcel's western edge in UTM
/// metres.
fn dem_over_rural_demo() -> (Vec<u8>, f64) {
    let (tif, [west_edge_m, _]) = rural_demo_dem(|x, _| {
        if x < RAMP_STARTS_M {
            0.0
        } else {
            0.3 * (x - RAMP_STARTS_M)
        }
    });
    (tif, west_edge_m)
}

async fn upload(
    server: &TestServer,
    mutation: &str,
    project: &str,
    name: &str,
    bytes: &[u8],
) -> Value {
    graphql_upload(
        server,
        mutation,
        json!({"projectId": project, "file": null}),
        name,
        bytes,
    )
    .await
}

/// Runs the three-building program (roads may climb 35 %, so that the flat west stays
/// reachable from the entrance in the east) and returns the best layout.
async fn solve(server: &TestServer, site: &str) -> Value {
    let mut program = json_fixture("programs/three_buildings_ft.json");
    program["roads"] = json!({"max_grade_percent": 35});
    let created = server
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": site, "program": program, "seed": 7}}),
        )
        .await
        .expect("createJob");
    let job = created["data"]["createJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let body = server
            .graphql(
                "query($id: ID!) { job(id: $id) { status error layouts { earthwork cost metrics geojson } } }",
                json!({"id": job}),
            )
            .await
            .expect("job");
        match body["data"]["job"]["status"].as_str() {
            Some("SUCCEEDED") => return body["data"]["job"]["layouts"][0].clone(),
            Some("FAILED") | Some("CANCELLED") => panic!("the job ended: {body}"),
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no result within 60 s: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_dem_keeps_buildings_off_steep_ground_and_measures_earthwork() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "Terrain").await;
    let flat_site = create_site(&server, &project, "No terrain", rural_demo_boundary()).await;
    let hilly_site = create_site(&server, &project, "With terrain", rural_demo_boundary()).await;

    let (tif, west_edge_m) = dem_over_rural_demo();
    let uploaded = upload(
        &server,
        "mutation($projectId: ID!, $file: Upload!) { uploadTerrain(projectId: $projectId, file: $file) { file { id kind expiresAt } } }",
        &project,
        "slope.tif",
        &tif,
    )
    .await;
    let terrain = uploaded["data"]["uploadTerrain"]["file"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{uploaded}"))
        .to_owned();

    // A parcel upload is not terrain.
    let kml = std::fs::read(entmoot_tests::fixture("rural_demo.kml")).expect("fixture");
    let parcel = upload(
        &server,
        "mutation($projectId: ID!, $file: Upload!) { uploadParcel(projectId: $projectId, file: $file) { file { id } } }",
        &project,
        "parcel.kml",
        &kml,
    )
    .await;
    let parcel = parcel["data"]["uploadParcel"]["file"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const LINK: &str = "mutation($site: ID!, $file: ID) { setSiteTerrain(siteId: $site, fileId: $file) { terrainFile { id kind expiresAt } } }";
    let refused = server
        .graphql(LINK, json!({"site": hilly_site, "file": parcel}))
        .await
        .expect("setSiteTerrain");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    assert!(
        refused.to_string().contains("not a terrain upload"),
        "{refused}"
    );

    let linked = server
        .graphql(LINK, json!({"site": hilly_site, "file": terrain}))
        .await
        .expect("setSiteTerrain");
    let file = &linked["data"]["setSiteTerrain"]["terrainFile"];
    assert_eq!(file["id"], terrain.as_str(), "{linked}");
    assert_eq!(file["kind"], "terrain");
    // Linked terrain is kept: it no longer expires like other uploads.
    assert!(file["expiresAt"].is_null(), "{linked}");

    let without = solve(&server, &flat_site).await;
    assert_eq!(
        without["earthwork"]["status"], "unknown",
        "{}",
        without["earthwork"]
    );

    let with = solve(&server, &hilly_site).await;
    let earthwork = &with["earthwork"];
    assert!(earthwork["cut_m3"].as_f64().is_some(), "{earthwork}");
    assert!(earthwork["fill_yd3"].as_f64().is_some(), "{earthwork}");
    assert_eq!(
        with["metrics"]["earthwork_status"], "measured",
        "{}",
        with["metrics"]
    );
    // Every building stands west of the climb: the steep east was not buildable.
    let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(1)).unwrap();
    let projector = problem.projection.projector().unwrap();
    let centres = asset_centres(&with["geojson"]);
    assert_eq!(centres.len(), 3, "{}", with["geojson"]);
    for (asset, [lon, lat]) in &centres {
        let metres = projector
            .to_metres(entmoot_plugin_sdk::geo::Coord { x: *lon, y: *lat })
            .unwrap();
        assert!(
            metres.x - west_edge_m < RAMP_STARTS_M,
            "{asset} stands {:.1} m east of the western edge, on the climb",
            metres.x - west_edge_m
        );
    }
    let flat_centres = asset_centres(&without["geojson"]);
    assert_ne!(
        format!("{flat_centres:?}"),
        format!("{centres:?}"),
        "the terrain did not change the layout"
    );

    // Unlinked again: no terrain.
    let unlinked = server
        .graphql(LINK, json!({"site": hilly_site, "file": null}))
        .await
        .expect("setSiteTerrain");
    assert!(
        unlinked["data"]["setSiteTerrain"]["terrainFile"].is_null(),
        "{unlinked}"
    );
}

#[test]
fn entmoot_solve_takes_the_dem_with_terrain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tif, _) = dem_over_rural_demo();
    std::fs::write(dir.path().join("slope.tif"), tif).expect("write DEM");
    let mut program = json_fixture("programs/three_buildings_ft.json");
    program["roads"] = json!({"max_grade_percent": 35});
    std::fs::write(dir.path().join("program.json"), program.to_string()).expect("write program");
    let site = entmoot_tests::fixture("rural_demo.kml");
    let out = entmoot_tests::run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &[
            "solve",
            "--site",
            site.to_str().unwrap(),
            "--program",
            "program.json",
            "--terrain",
            "slope.tif",
            "--out",
            "layout.geojson",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(
        summary["metrics"]["earthwork_status"], "measured",
        "{summary}"
    );
    assert!(
        summary["metrics"]["cost"]["earthwork"].as_f64().is_some(),
        "{summary}"
    );

    // A file that is not a GeoTIFF is named in the error.
    std::fs::write(dir.path().join("bad.tif"), b"not a tiff").expect("write");
    let refused = entmoot_tests::run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &[
            "solve",
            "--site",
            site.to_str().unwrap(),
            "--program",
            "program.json",
            "--terrain",
            "bad.tif",
            "--out",
            "layout.geojson",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--terrain bad.tif"));
}
