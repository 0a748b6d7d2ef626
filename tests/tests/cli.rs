//! The command-line contracts: `entmoot solve` (docs/program.md in, docs/layout-geojson.md
//! out) and `entmoot plugins list`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{embedded_env, fixture, run_entmoot};
use serde_json::Value;

#[test]
fn solve_places_the_rural_demo_program_and_writes_the_layout_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("layout.geojson");
    let output = run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &[
            "solve",
            "--site",
            fixture("rural_demo.kml").to_str().expect("path"),
            "--program",
            fixture("programs/three_buildings_ft.json")
                .to_str()
                .expect("path"),
            "--seed",
            "7",
            "--out",
            out.to_str().expect("path"),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON summary");
    assert_eq!(summary["requested"], 3);
    assert_eq!(summary["placed"], 3);
    assert_eq!(summary["violations"], 0);
    assert!(summary["elapsed_ms"].as_f64().expect("elapsed") > 0.0);
    assert!(
        summary["metrics"]["footprint_m2"]
            .as_f64()
            .expect("footprint")
            > 1300.0
    );

    let layout: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("layout written"))
            .expect("JSON");
    assert_eq!(layout["type"], "FeatureCollection");
    let assets: Vec<&Value> = layout["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|feature| feature["properties"]["kind"] == "asset")
        .collect();
    assert_eq!(assets.len(), 3);
    for asset in &assets {
        let properties = &asset["properties"];
        for key in [
            "asset_id",
            "name",
            "asset_type",
            "width",
            "length",
            "rotation",
        ] {
            assert!(
                !properties[key].is_null(),
                "asset feature lacks {key}: {properties}"
            );
        }
        // WGS84: inside the parcel's longitude/latitude box.
        for corner in asset["geometry"]["coordinates"][0]
            .as_array()
            .expect("ring")
        {
            let (lon, lat) = (
                corner[0].as_f64().expect("lon"),
                corner[1].as_f64().expect("lat"),
            );
            assert!((-103.4020..=-103.3970).contains(&lon) && (39.3500..=39.3540).contains(&lat));
        }
    }
}

#[test]
fn solve_reports_a_bad_program_with_its_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = dir.path().join("program.json");
    std::fs::write(
        &program,
        r#"{"units":"ft","assets":[{"name":"A","type":"building","width":-3,"length":10}]}"#,
    )
    .expect("write");
    let output = run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &[
            "solve",
            "--site",
            fixture("rural_demo.kml").to_str().expect("path"),
            "--program",
            program.to_str().expect("path"),
            "--out",
            dir.path().join("x.geojson").to_str().expect("path"),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("assets[0].width"), "{stderr}");
    assert!(
        !dir.path().join("x.geojson").exists(),
        "nothing written on failure"
    );
}

#[test]
fn solve_refuses_the_malformed_fixture_without_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &[
            "solve",
            "--site",
            fixture("malformed.kml").to_str().expect("path"),
            "--program",
            fixture("programs/three_buildings_ft.json")
                .to_str()
                .expect("path"),
            "--out",
            dir.path().join("x.geojson").to_str().expect("path"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("KML is not well-formed XML at byte"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn plugins_list_shows_the_built_in_strategy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &["plugins", "list", "--json"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = listing["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .map(|strategy| strategy["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"greedy"), "{listing}");
}
