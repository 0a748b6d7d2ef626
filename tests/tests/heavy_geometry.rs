//! Heavy geometry never stalls the request threads: two 200,000-vertex parcel uploads
//! in flight at once are refused (too many vertices, counted before any parsing) while
//! `/health/live` keeps answering within 100 ms, and a createSite boundary over the
//! vertex limit is refused with LIMIT_EXCEEDED before its polygons are read.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{
    MULTIPART_CONTENT_TYPE, TestServer, create_project, embedded_env, graphql_multipart_body,
};
use serde_json::{Value, json};

/// A KML parcel: one ring of `vertices` corners around the rural demo site.
fn kml_ring(vertices: usize) -> Vec<u8> {
    let mut coordinates = String::new();
    for index in 0..=vertices {
        let angle = std::f64::consts::TAU * (index % vertices) as f64 / vertices as f64;
        let radius = 0.002 * (1.0 + 0.05 * (37.0 * angle).sin());
        coordinates.push_str(&format!(
            "{:.9},{:.9},0 ",
            -103.4 + radius * angle.cos(),
            39.35 + radius * angle.sin()
        ));
    }
    format!(
        "<?xml version=\"1.0\"?><kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><Placemark><name>parcel</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coordinates}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_geometry_is_refused_without_stalling_liveness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("API_WORKERS".into(), "2".into());
    env.insert("MAX_FILE_SIZE_MB".into(), "50".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Heavy").await;

    let probing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let prober = {
        let probing = probing.clone();
        let url = format!("{}/health/live", server.base_url);
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("client");
            let mut latencies = Vec::new();
            while probing.load(std::sync::atomic::Ordering::SeqCst) || latencies.len() < 100 {
                let started = Instant::now();
                let answered = client.get(&url).send().await.is_ok();
                latencies.push(if answered {
                    started.elapsed()
                } else {
                    Duration::from_secs(2)
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            latencies
        })
    };

    let parcel = kml_ring(200_000);
    let mut uploads = Vec::new();
    for _ in 0..2 {
        let body = graphql_multipart_body(
            "mutation($project: ID!, $file: Upload!) { uploadParcel(projectId: $project, file: $file) { format } }",
            json!({"project": project, "file": null}),
            "file",
            "huge.kml",
            &parcel,
        );
        let request = server
            .client
            .post(format!("{}/graphql", server.base_url))
            .header("Content-Type", MULTIPART_CONTENT_TYPE)
            .header("Apollo-Require-Preflight", "true")
            .body(body);
        uploads.push(tokio::spawn(async move {
            let started = Instant::now();
            let answer: Value = request
                .send()
                .await
                .expect("POST")
                .json()
                .await
                .expect("json");
            (started.elapsed(), answer)
        }));
    }
    for upload in uploads {
        let (elapsed, answer) = upload.await.expect("upload");
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
            "{answer}"
        );
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .is_some_and(|message| message.contains("200001 vertices")),
            "{answer}"
        );
        assert!(
            elapsed < Duration::from_secs(30),
            "answered after {elapsed:?}"
        );
    }

    // createSite: a boundary over the limit is refused before it is read.
    let ring: Vec<Value> = (0..=8_000)
        .map(|index| {
            let angle = std::f64::consts::TAU * (index % 8_000) as f64 / 8_000.0;
            json!([-103.4 + 0.002 * angle.cos(), 39.35 + 0.002 * angle.sin()])
        })
        .collect();
    let site = server
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
            json!({"input": {"projectId": project, "name": "Huge", "boundary": {"type": "Polygon", "coordinates": [ring]}}}),
        )
        .await
        .expect("createSite");
    assert_eq!(
        site["errors"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED",
        "{}",
        &site.to_string()[..300.min(site.to_string().len())]
    );

    probing.store(false, std::sync::atomic::Ordering::SeqCst);
    let mut latencies = prober.await.expect("prober");
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
    assert!(
        p99 < Duration::from_millis(100),
        "/health/live p99 was {p99:?} over {} probes while huge uploads ran",
        latencies.len()
    );

    // A parcel of ordinary size still goes through.
    let body = graphql_multipart_body(
        "mutation($project: ID!, $file: Upload!) { uploadParcel(projectId: $project, file: $file) { format } }",
        json!({"project": project, "file": null}),
        "file",
        "small.kml",
        &kml_ring(200),
    );
    let small: Value = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("Content-Type", MULTIPART_CONTENT_TYPE)
        .header("Apollo-Require-Preflight", "true")
        .body(body)
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(small["data"]["uploadParcel"]["format"], "kml", "{small}");
}
