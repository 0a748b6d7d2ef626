//! Files through the API: a parcel uploaded as a GraphQL multipart request (with the
//! CSRF preflight header, within MAX_FILE_SIZE_MB), a site and a job made from it, the
//! layout exported through the `exportLayout` mutation, and the file downloaded by its
//! signed link, by bearer token, and refused to everyone else.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    MULTIPART_CONTENT_TYPE, TestServer, create_project, create_site, embedded_env,
    first_layout_when_succeeded, graphql_multipart_body, required_env, run_entmoot,
    submit_three_buildings,
};
use serde_json::{Value, json};

const UPLOAD: &str = "mutation($projectId: ID!, $file: Upload!) { uploadParcel(projectId: $projectId, file: $file) { file { id filename sizeBytes expiresAt } format boundary boundaryReason exclusionCandidates { name } } }";

async fn upload(
    server: &TestServer,
    project: &str,
    file_name: &str,
    file: &[u8],
    preflight: bool,
) -> (u16, Value) {
    let mut request = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("Content-Type", MULTIPART_CONTENT_TYPE)
        .body(graphql_multipart_body(
            UPLOAD,
            json!({"projectId": project, "file": null}),
            "file",
            file_name,
            file,
        ));
    if preflight {
        request = request.header("Apollo-Require-Preflight", "true");
    }
    let response = request.send().await.expect("POST multipart");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parcel_goes_in_by_upload_and_its_layout_comes_out_by_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("MAX_FILE_SIZE_MB".into(), "1".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Uploads").await;
    let kml = std::fs::read(entmoot_tests::fixture("rural_demo.kml")).expect("fixture");

    // Without the preflight header a browser could have sent it cross-site: refused.
    let (status, body) = upload(&server, &project, "parcel.kml", &kml, false).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("Apollo-Require-Preflight")
    );

    // Over MAX_FILE_SIZE_MB: refused by size, with the variable named.
    let big = vec![b' '; 2 * 1024 * 1024];
    let (status, body) = upload(&server, &project, "big.kml", &big, true).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.to_string().contains("MAX_FILE_SIZE_MB"), "{body}");

    // A file that is not a parcel is refused by content, whatever its name.
    let (status, body) = upload(
        &server,
        &project,
        "parcel.kml",
        b"hello, not a parcel",
        true,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // The real parcel.
    let (status, body) = upload(&server, &project, "rural_demo.kml", &kml, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let uploaded = &body["data"]["uploadParcel"];
    assert_eq!(uploaded["format"], "kml");
    assert_eq!(uploaded["file"]["sizeBytes"], kml.len());
    assert!(
        uploaded["file"]["expiresAt"].is_string(),
        "uploads are temporary"
    );
    assert!(matches!(
        uploaded["boundary"]["type"].as_str(),
        Some("Polygon" | "MultiPolygon")
    ));

    // A site from the uploaded boundary, a job, its layout exported.
    let site = create_site(
        &server,
        &project,
        "From upload",
        uploaded["boundary"].clone(),
    )
    .await;
    let layout = finished_layout(&server, &site).await;
    let exported = server
        .graphql(
            "mutation($id: ID!) { exportLayout(layoutId: $id, format: KML) { url expiresAt file { id filename contentType } } }",
            json!({"id": layout}),
        )
        .await
        .expect("export");
    assert!(exported.get("errors").is_none(), "{exported}");
    let download = &exported["data"]["exportLayout"];
    let link = download["url"].as_str().expect("url");
    assert!(
        link.starts_with("/files/"),
        "local disk has no presigned URLs: {link}"
    );

    // The signed link works without a token; a tampered one does not.
    let fetched = reqwest::get(format!("{}{link}", server.base_url))
        .await
        .expect("GET link");
    assert_eq!(fetched.status(), 200);
    assert!(
        fetched.headers()["content-disposition"]
            .to_str()
            .expect("disposition")
            .contains(".kml")
    );
    let text = fetched.text().await.expect("body");
    assert!(text.contains("<kml"), "{text}");
    let tampered = link.replace("signature=", "signature=0");
    let refused = reqwest::get(format!("{}{tampered}", server.base_url))
        .await
        .expect("GET tampered");
    assert_eq!(refused.status(), 403);

    // Without a link: the bearer token of the organization, and nobody else.
    let bare = link.split('?').next().expect("path").to_owned();
    let with_token = server
        .client
        .get(format!("{}{bare}", server.base_url))
        .send()
        .await
        .expect("GET with token");
    assert_eq!(with_token.status(), 200);
    let anonymous = reqwest::get(format!("{}{bare}", server.base_url))
        .await
        .expect("GET anonymous");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let other = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "organizations",
            "create",
            "--name",
            "Other",
            "--slug",
            "other",
        ],
    );
    assert!(other.status.success());
    let issued = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "keys",
            "create",
            "--organization",
            "other",
            "--name",
            "x",
            "--role",
            "admin",
            "--json",
        ],
    );
    let other_key: Value = serde_json::from_slice(&issued.stdout).expect("key json");
    let stranger = reqwest::Client::new()
        .get(format!("{}{bare}", server.base_url))
        .header(
            "Authorization",
            format!("Bearer {}", other_key["token"].as_str().expect("token")),
        )
        .send()
        .await
        .expect("GET as stranger");
    assert_eq!(stranger.status(), 404);

    // A fresh link for the same file.
    let again = server
        .graphql(
            "query($id: ID!) { fileDownload(id: $id) { url file { filename } } }",
            json!({"id": download["file"]["id"]}),
        )
        .await
        .expect("fileDownload");
    assert_eq!(
        again["data"]["fileDownload"]["file"]["filename"],
        download["file"]["filename"]
    );
}

/// The layout of a finished job of `site`, once the job has succeeded.
async fn finished_layout(server: &TestServer, site: &str) -> String {
    let job = submit_three_buildings(server, site).await;
    first_layout_when_succeeded(server, &job).await["id"]
        .as_str()
        .expect("layout id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_uploads_stream_to_the_bucket_and_exports_download_by_presigned_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    for (name, value) in [
        ("STORAGE_PROVIDER", "aws".to_owned()),
        ("AWS_S3_BUCKET", required_env("ENTMOOT_TEST_S3_BUCKET")),
        ("AWS_ENDPOINT_URL", required_env("ENTMOOT_TEST_S3_ENDPOINT")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        (
            "SECRET_KEY",
            "a-test-secret-key-that-is-long-enough-0123456789".to_owned(),
        ),
    ] {
        env.insert(name.into(), value);
    }
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "On S3").await;
    let kml = std::fs::read(entmoot_tests::fixture("rural_demo.kml")).expect("fixture");
    let (status, body) = upload(&server, &project, "rural_demo.kml", &kml, true).await;
    assert_eq!(status, 200, "{body}");
    let uploaded = &body["data"]["uploadParcel"];
    assert_eq!(uploaded["file"]["sizeBytes"], kml.len(), "{body}");
    let site = create_site(&server, &project, "S3 parcel", uploaded["boundary"].clone()).await;
    let layout = finished_layout(&server, &site).await;
    let exported = server
        .graphql(
            "mutation($id: ID!) { exportLayout(layoutId: $id, format: GEOJSON) { url file { sizeBytes } } }",
            json!({"id": layout}),
        )
        .await
        .expect("export");
    let url = exported["data"]["exportLayout"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{exported}"));
    let endpoint = required_env("ENTMOOT_TEST_S3_ENDPOINT");
    assert!(
        url.starts_with(&endpoint),
        "S3 offers presigned URLs, so the link points at the bucket: {url}"
    );
    // Straight from the object store, without the API and without a token.
    let fetched = reqwest::get(url).await.expect("GET presigned");
    assert_eq!(fetched.status(), 200);
    let geojson: serde_json::Value = fetched.json().await.expect("GeoJSON");
    assert_eq!(geojson["type"], "FeatureCollection");
    assert!(
        !geojson["features"].as_array().expect("features").is_empty(),
        "{geojson}"
    );
}

/// A two-part parcel with a pond and a gas easement, as one GeoJSON upload.
const PARCEL_WITH_CANDIDATES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"Name":"Parcel boundary"},"geometry":{"type":"MultiPolygon","coordinates":[
  [[[-103.402,39.350],[-103.397,39.350],[-103.397,39.354],[-103.402,39.354],[-103.402,39.350]]],
  [[[-103.396,39.350],[-103.393,39.350],[-103.393,39.353],[-103.396,39.353],[-103.396,39.350]]]]}},
 {"type":"Feature","properties":{"Name":"North Pond"},"geometry":{"type":"Polygon","coordinates":[
  [[-103.399,39.352],[-103.398,39.352],[-103.398,39.353],[-103.399,39.353],[-103.399,39.352]]]}},
 {"type":"Feature","properties":{"Name":"Gas easement"},"geometry":{"type":"Polygon","coordinates":[
  [[-103.4015,39.3505],[-103.3975,39.3505],[-103.3975,39.3508],[-103.4015,39.3508],[-103.4015,39.3505]]]}}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_is_created_from_an_upload_with_the_candidates_the_planner_picks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "Picked").await;
    let (status, body) = upload(
        &server,
        &project,
        "parcel.geojson",
        PARCEL_WITH_CANDIDATES.as_bytes(),
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let uploaded = &body["data"]["uploadParcel"];
    assert_eq!(uploaded["boundary"]["type"], "MultiPolygon", "both parts");
    let names: Vec<&str> = uploaded["exclusionCandidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["North Pond", "Gas easement"]);

    let created = server
        .graphql(
            "mutation($input: CreateSiteFromUploadInput!) { createSiteFromUpload(input: $input) {
               site { id exclusionZones { kind bufferM name } }
               candidates { name kind bufferM reason } } }",
            json!({"input": {
                "fileId": uploaded["file"]["id"],
                "name": "Picked site",
                "exclusions": [{"candidate": 0, "kind": "wetland", "bufferM": 15.0}],
            }}),
        )
        .await
        .expect("create");
    assert!(created.get("errors").is_none(), "{created}");
    let result = &created["data"]["createSiteFromUpload"];
    let zones = result["site"]["exclusionZones"].as_array().expect("zones");
    assert_eq!(zones.len(), 1, "only the picked candidate: {result}");
    assert_eq!(zones[0]["kind"], "wetland");
    assert_eq!(zones[0]["bufferM"], 15.0);
    assert_eq!(zones[0]["name"], "North Pond");
    assert_eq!(result["candidates"][1]["kind"], Value::Null);
    assert_eq!(result["candidates"][1]["reason"], "it was not picked");

    // A candidate that does not exist, or a negative buffer, is refused with its place.
    let refused = server
        .graphql(
            "mutation($input: CreateSiteFromUploadInput!) { createSiteFromUpload(input: $input) { site { id } } }",
            json!({"input": {
                "fileId": uploaded["file"]["id"],
                "name": "Bad",
                "exclusions": [{"candidate": 5}],
            }}),
        )
        .await
        .expect("refused");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("exclusion 0: no such candidate"),
        "{refused}"
    );
}

/// A GeoPackage, as GIS users exchange parcels today (written here by GDAL), goes in like
/// any other parcel file: sniffed by content, its parts and candidates found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_geopackage_written_by_gdal_is_uploaded_like_any_parcel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "GeoPackage").await;
    let source = dir.path().join("parcel.geojson");
    std::fs::write(&source, PARCEL_WITH_CANDIDATES).expect("write");
    let package = dir.path().join("parcel.gpkg");
    entmoot_tests::gis::run_tool(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            "-t_srs",
            "EPSG:32613",
            package.to_str().expect("path"),
            source.to_str().expect("path"),
        ],
        "gdal-bin",
    );
    let bytes = std::fs::read(&package).expect("read");
    let (status, body) = upload(&server, &project, "parcel.gpkg", &bytes, true).await;
    assert_eq!(status, 200, "{body}");
    let uploaded = &body["data"]["uploadParcel"];
    assert_eq!(uploaded["format"], "geopackage", "{body}");
    assert_eq!(uploaded["boundary"]["type"], "MultiPolygon", "both parts");
    let names: Vec<&str> = uploaded["exclusionCandidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["North Pond", "Gas easement"]);
}
