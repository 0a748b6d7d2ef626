//! Changing a site after it was made (`updateSite`: its name, exclusion zones and
//! entrances) and reading its slope map (`Site.slopeClasses`) from a linked DEM: what the
//! console's site screen draws and edits. A change is seen by the next buildable-area
//! read and the next job; bad input is refused with the field it concerns and changes
//! nothing; viewers and other organizations cannot change a site.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_plugin_sdk::fixtures::rural_demo_dem;
use entmoot_tests::{
    TestServer, create_project, create_site, data_of, embedded_env, error_code, graphql_ok,
    graphql_upload, graphql_with_token, run_entmoot, rural_demo_boundary, submit_three_buildings,
};
use serde_json::{Value, json};

const UPDATE: &str = "mutation($input: UpdateSiteInput!) { updateSite(input: $input) { id name entrances exclusionZones { kind name bufferM } } }";
const READ: &str = "query($id: ID!) { site(id: $id) { name updatedAt entrances exclusionZones { kind name bufferM geometry } buildableArea { areaM2 } } }";

/// The parcel's south-west quarter, as an exclusion zone.
fn south_west_quarter() -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [-103.4020, 39.3500], [-103.3995, 39.3500], [-103.3995, 39.3520],
        [-103.4020, 39.3520], [-103.4020, 39.3500]
    ]]})
}

fn small_pond() -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [-103.3980, 39.3530], [-103.3975, 39.3530], [-103.3975, 39.3535],
        [-103.3980, 39.3535], [-103.3980, 39.3530]
    ]]})
}

fn key(
    dir: &std::path::Path,
    server_env: &std::collections::HashMap<String, String>,
    args: &[&str],
) -> String {
    let output = run_entmoot(dir, server_env, args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let issued: Value = serde_json::from_slice(&output.stdout).expect("key json");
    issued["token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_is_renamed_and_its_exclusions_and_entrances_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Changes").await;
    let site = create_site(&server, &project, "Rural demo", rural_demo_boundary()).await;
    let before = data_of(
        server
            .graphql(READ, json!({"id": site}))
            .await
            .expect("read"),
    );
    let full_area = before["site"]["buildableArea"]["areaM2"].as_f64().unwrap();
    assert_eq!(before["site"]["exclusionZones"], json!([]));

    // Two zones, in order, and an entrance on the west edge.
    let changed = data_of(
        server
            .graphql(
                UPDATE,
                json!({"input": {
                    "siteId": site,
                    "name": "  Rural demo, surveyed  ",
                    "exclusions": [
                        {"kind": "wetland", "bufferM": 5, "geometry": south_west_quarter(), "name": "Marsh"},
                        {"kind": "custom", "geometry": {"type": "Feature", "properties": {}, "geometry": small_pond()}}
                    ],
                    "entrances": [[-103.4020, 39.3530]]
                }}),
            )
            .await
            .expect("updateSite"),
    );
    let updated = &changed["updateSite"];
    assert_eq!(updated["name"], "Rural demo, surveyed");
    assert_eq!(updated["entrances"], json!([[-103.4020, 39.3530]]));
    assert_eq!(
        updated["exclusionZones"],
        json!([
            {"kind": "wetland", "name": "Marsh", "bufferM": 5.0},
            {"kind": "custom", "name": null, "bufferM": 0.0}
        ])
    );
    // The buildable area read after the change is not the cached one from before.
    let after = data_of(
        server
            .graphql(READ, json!({"id": site}))
            .await
            .expect("read"),
    );
    let reduced = after["site"]["buildableArea"]["areaM2"].as_f64().unwrap();
    assert!(
        reduced < full_area * 0.8,
        "a quarter of the parcel is excluded, yet the buildable area went from {full_area} to {reduced} m²"
    );
    assert_ne!(after["site"]["updatedAt"], before["site"]["updatedAt"]);

    // The next job sees the zones and the entrance.
    let job = submit_three_buildings(&server, &site).await;
    let layout = entmoot_tests::first_layout_when_succeeded(&server, &job).await;
    let features = layout["geojson"]["features"].as_array().expect("features");
    let exclusions = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "exclusion")
        .count();
    assert_eq!(exclusions, 2, "{}", layout["geojson"]);
    let entrance = features
        .iter()
        .find(|f| f["properties"]["kind"] == "entrance")
        .expect("an entrance feature");
    let lon = entrance["geometry"]["coordinates"][0].as_f64().unwrap();
    assert!(
        (lon + 103.4020).abs() < 1e-4,
        "the entrance is not the one given on the west edge: {entrance}"
    );

    // Only what is given changes: a rename keeps the zones; an empty list removes them.
    let renamed = data_of(
        server
            .graphql(
                UPDATE,
                json!({"input": {"siteId": site, "name": "Renamed"}}),
            )
            .await
            .expect("updateSite"),
    );
    assert_eq!(
        renamed["updateSite"]["exclusionZones"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        renamed["updateSite"]["entrances"],
        json!([[-103.4020, 39.3530]])
    );
    let cleared = data_of(
        server
            .graphql(
                UPDATE,
                json!({"input": {"siteId": site, "exclusions": [], "entrances": []}}),
            )
            .await
            .expect("updateSite"),
    );
    assert_eq!(cleared["updateSite"]["exclusionZones"], json!([]));
    assert_eq!(cleared["updateSite"]["entrances"], json!([]));
    assert_eq!(cleared["updateSite"]["name"], "Renamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_changes_name_their_field_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Refusals").await;
    let site = create_site(&server, &project, "Kept", rural_demo_boundary()).await;
    let zone = json!({"kind": "wetland", "geometry": small_pond()});
    data_of(
        server
            .graphql(
                UPDATE,
                json!({"input": {"siteId": site, "exclusions": [zone]}}),
            )
            .await
            .expect("updateSite"),
    );
    let before = data_of(
        server
            .graphql(READ, json!({"id": site}))
            .await
            .expect("read"),
    );

    let refusals = [
        (
            json!({"siteId": site, "name": "   "}),
            "BAD_USER_INPUT",
            "name",
        ),
        (
            json!({"siteId": site, "exclusions": [zone, {"kind": "lava", "geometry": small_pond()}]}),
            "BAD_USER_INPUT",
            "input.exclusions[1].kind",
        ),
        (
            json!({"siteId": site, "exclusions": [{"kind": "wetland", "geometry": {"type": "Point", "coordinates": [0, 0]}}]}),
            "BAD_USER_INPUT",
            "input.exclusions[0].geometry",
        ),
        (
            json!({"siteId": site, "exclusions": [{"kind": "wetland", "bufferM": -3, "geometry": small_pond()}]}),
            "BAD_USER_INPUT",
            "exclusions[0].buffer_m",
        ),
        (
            json!({"siteId": site, "entrances": [[-103.4, 39.35], [1.0]]}),
            "BAD_USER_INPUT",
            "input.entrances[1]",
        ),
        (
            json!({"siteId": site, "entrances": [[-203.4, 39.35]]}),
            "BAD_USER_INPUT",
            "entrances[0]",
        ),
        (
            json!({"siteId": project, "name": "Wrong kind of id"}),
            "BAD_USER_INPUT",
            "Site",
        ),
    ];
    for (input, code, names) in refusals {
        let body = server
            .graphql(UPDATE, json!({"input": input}))
            .await
            .expect("updateSite");
        assert_eq!(error_code(&body), code, "{input}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(names),
            "{input}: `{message}` does not name {names}"
        );
    }
    let after = data_of(
        server
            .graphql(READ, json!({"id": site}))
            .await
            .expect("read"),
    );
    assert_eq!(after, before, "a refused change changed the site");

    // A viewer cannot change a site; another organization does not find it.
    let viewer = key(
        dir.path(),
        &env,
        &[
            "admin", "keys", "create", "--json", "--name", "viewer", "--role", "viewer",
        ],
    );
    let body = graphql_with_token(
        &server,
        Some(&viewer),
        UPDATE,
        json!({"input": {"siteId": site, "name": "Mine"}}),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let created = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "organizations",
            "create",
            "--name",
            "Rival",
            "--slug",
            "rival",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let rival = key(
        dir.path(),
        &env,
        &[
            "admin",
            "keys",
            "create",
            "--json",
            "--organization",
            "rival",
            "--name",
            "rival",
            "--role",
            "admin",
        ],
    );
    let body = graphql_with_token(
        &server,
        Some(&rival),
        UPDATE,
        json!({"input": {"siteId": site, "exclusions": [], "entrances": [], "name": "Taken"}}),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let after = data_of(
        server
            .graphql(READ, json!({"id": site}))
            .await
            .expect("read"),
    );
    assert_eq!(after, before, "a refused caller changed the site");
}

/// Where the climb starts, in metres east of the parcel's western edge.
const RAMP_STARTS_M: f64 = 215.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slope_map_classes_the_parcel_by_grade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Slopes").await;
    let site = create_site(&server, &project, "Hillside", rural_demo_boundary()).await;
    const SLOPES: &str = "query($id: ID!, $breaks: [Float!]) { site(id: $id) { areaM2 slopeClasses(breaksPercent: $breaks) { abovePercent atMostPercent areaM2 geometry } } }";
    const DEFAULT_SLOPES: &str =
        "query($id: ID!) { site(id: $id) { slopeClasses { abovePercent atMostPercent areaM2 } } }";

    // No terrain: no slope map, rather than a guess.
    let none = graphql_ok(&server, DEFAULT_SLOPES, json!({"id": site})).await;
    assert!(none["site"]["slopeClasses"].is_null(), "{none}");

    // Flat west of the ramp, 30 % east of it.
    let (tif, _) = rural_demo_dem(|x, _| {
        if x < RAMP_STARTS_M {
            0.0
        } else {
            0.3 * (x - RAMP_STARTS_M)
        }
    });
    let uploaded = graphql_upload(
        &server,
        "mutation($projectId: ID!, $file: Upload!) { uploadTerrain(projectId: $projectId, file: $file) { file { id } } }",
        json!({"projectId": project, "file": null}),
        "slope.tif",
        &tif,
    )
    .await;
    let terrain = uploaded["data"]["uploadTerrain"]["file"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{uploaded}"))
        .to_owned();
    graphql_ok(
        &server,
        "mutation($site: ID!, $file: ID) { setSiteTerrain(siteId: $site, fileId: $file) { id } }",
        json!({"site": site, "file": terrain}),
    )
    .await;

    let classes = graphql_ok(&server, DEFAULT_SLOPES, json!({"id": site})).await;
    let classes = classes["site"]["slopeClasses"]
        .as_array()
        .expect("classes")
        .clone();
    let bounds: Vec<(f64, Option<f64>)> = classes
        .iter()
        .map(|c| {
            (
                c["abovePercent"].as_f64().unwrap(),
                c["atMostPercent"].as_f64(),
            )
        })
        .collect();
    assert_eq!(
        bounds,
        [
            (0.0, Some(5.0)),
            (5.0, Some(10.0)),
            (10.0, Some(15.0)),
            (15.0, Some(25.0)),
            (25.0, None)
        ]
    );

    let read = graphql_ok(&server, SLOPES, json!({"id": site, "breaks": [20]})).await;
    let parcel = read["site"]["areaM2"].as_f64().unwrap();
    let two = read["site"]["slopeClasses"].as_array().expect("classes");
    assert_eq!(two.len(), 2, "{read}");
    let gentle = two[0]["areaM2"].as_f64().unwrap();
    let steep = two[1]["areaM2"].as_f64().unwrap();
    // The whole parcel is classed (UTM planar against geodesic: well within 1 %), the
    // flat west in the first class and the climb in the second, each near half of it
    // (the ramp starts 215 m into a parcel about 430 m wide).
    assert!(
        ((gentle + steep) / parcel - 1.0).abs() < 0.01,
        "{gentle} + {steep} against {parcel}"
    );
    assert!(
        (gentle / parcel - 0.5).abs() < 0.05,
        "flat share {}",
        gentle / parcel
    );
    assert!(
        (steep / parcel - 0.5).abs() < 0.05,
        "steep share {}",
        steep / parcel
    );
    // The steep class lies east of the flat one.
    let west_edge_of = |class: &Value| {
        let mut least = f64::INFINITY;
        for polygon in class["geometry"]["coordinates"]
            .as_array()
            .expect("MultiPolygon")
        {
            for ring in polygon.as_array().unwrap() {
                for position in ring.as_array().unwrap() {
                    least = least.min(position[0].as_f64().unwrap());
                }
            }
        }
        least
    };
    assert!(
        west_edge_of(&two[1]) > west_edge_of(&two[0]) + 0.002,
        "{read}"
    );
    assert_eq!(two[0]["geometry"]["type"], "MultiPolygon");

    for breaks in [
        json!([]),
        json!([10, 5]),
        json!([-1]),
        json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
    ] {
        let body = server
            .graphql(SLOPES, json!({"id": site, "breaks": breaks}))
            .await
            .expect("slopeClasses");
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{breaks}: {body}");
        assert!(body.to_string().contains("breaksPercent"), "{body}");
    }
}

/// A closed square in a DXF, which never declares a coordinate system (UTM 13N metres).
fn dxf_square() -> Vec<u8> {
    let corners = [
        [637_800, 4_356_000],
        [638_100, 4_356_000],
        [638_100, 4_356_300],
        [637_800, 4_356_300],
    ];
    let vertices: String = corners
        .iter()
        .map(|[x, y]| format!("10\n{x}\n20\n{y}\n"))
        .collect();
    format!("0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n8\nPARCEL\n90\n4\n70\n1\n{vertices}0\nENDSEC\n0\nEOF\n")
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_a_crs_is_refused_with_the_field_to_ask_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Drawings").await;
    let dxf = dxf_square();
    let upload = |crs: Option<&str>| {
        graphql_upload(
            &server,
            "mutation($projectId: ID!, $file: Upload!, $crs: String) { uploadParcel(projectId: $projectId, file: $file, crs: $crs) { format sourceCrs } }",
            json!({"projectId": project, "file": null, "crs": crs}),
            "parcel.dxf",
            &dxf,
        )
    };
    for crs in [None, Some("EPSG:not-a-code")] {
        let refused = upload(crs).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{crs:?}: {refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], "crs",
            "{crs:?}: {refused}"
        );
    }
    let read = upload(Some("EPSG:32613")).await;
    assert_eq!(read["data"]["uploadParcel"]["format"], "dxf", "{read}");
}
