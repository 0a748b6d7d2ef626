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

/// The rural demo parcel with a stock pond in its north-west, as one GeoJSON file.
fn parcel_with_pond() -> Value {
    serde_json::json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Parcel boundary"},
         "geometry": entmoot_tests::rural_demo_boundary()},
        {"type": "Feature", "properties": {"name": "Stock pond"},
         "geometry": {"type": "Polygon", "coordinates": [[
            [-103.4015, 39.3525], [-103.4000, 39.3525], [-103.4000, 39.3535],
            [-103.4015, 39.3535], [-103.4015, 39.3525]]]}}
    ]})
}

fn in_pond(centre: [f64; 2]) -> bool {
    (-103.4015..=-103.4000).contains(&centre[0]) && (39.3525..=39.3535).contains(&centre[1])
}

fn solve_summary(dir: &std::path::Path, args: &[&str]) -> Result<Value, String> {
    let mut full = vec!["solve"];
    full.extend_from_slice(args);
    let output = run_entmoot(dir, &embedded_env(dir), &full);
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("JSON summary"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn solve_applies_the_exclusions_named_in_the_site_file_and_reads_every_import_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site.geojson");
    std::fs::write(&site, parcel_with_pond().to_string()).expect("site");
    let program = dir.path().join("program.json");
    std::fs::write(
        &program,
        r#"{"units":"ft","setback":20,"min_spacing":10,"max_coverage":0.4,
            "assets":[{"name":"Warehouse","type":"building","width":60,"length":80,"quantity":60}]}"#,
    )
    .expect("program");
    let out = dir.path().join("layout.geojson");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--site",
            site.to_str().expect("path"),
            "--program",
            program.to_str().expect("path"),
            "--out",
            out.to_str().expect("path"),
        ];
        args.extend_from_slice(extra);
        let summary = solve_summary(dir.path(), &args).expect("solves");
        let layout: Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("layout")).expect("JSON");
        let centres = entmoot_tests::asset_centres(&layout);
        (summary, centres)
    };

    // By default the pond, named so, is an exclusion: listed, and no pad on it.
    let (summary, centres) = run(&[]);
    let exclusions = summary["exclusions"].as_array().expect("exclusions");
    assert_eq!(exclusions.len(), 1, "{summary}");
    assert_eq!(exclusions[0]["name"], "Stock pond");
    assert_eq!(exclusions[0]["kind"], "wetland");
    assert_eq!(summary["site_file_candidates"][0]["kind"], "wetland");
    assert!(!centres.is_empty());
    assert!(
        centres.values().all(|c| !in_pond(*c)),
        "no pad on the pond: {centres:?}"
    );

    // Turned off, pads land on it (so the default above is what kept them off).
    let (summary, centres) = run(&["--exclusions", "none"]);
    assert_eq!(summary["exclusions"].as_array().expect("list").len(), 0);
    assert!(summary["site_file_candidates"][0]["kind"].is_null());
    assert!(centres.values().any(|c| in_pond(*c)), "{centres:?}");

    // Picked with another kind and a buffer.
    let (summary, _) = run(&["--exclusion", "Stock pond=floodplain:10"]);
    assert_eq!(summary["exclusions"][0]["kind"], "floodplain");
    assert_eq!(summary["exclusions"][0]["buffer_m"], 10.0);
    let error = solve_summary(
        dir.path(),
        &[
            "--site",
            site.to_str().expect("path"),
            "--program",
            program.to_str().expect("path"),
            "--out",
            out.to_str().expect("path"),
            "--exclusion",
            "Duck pond",
        ],
    )
    .expect_err("no such candidate");
    assert!(error.contains("no such candidate"), "{error}");

    // A DXF (no CRS of its own) is read with --crs, as `import` reads it.
    let dxf = dir.path().join("site.dxf");
    entmoot_tests::gis::run_tool(
        "ogr2ogr",
        &[
            "-f",
            "DXF",
            "-t_srs",
            "EPSG:32613",
            dxf.to_str().expect("path"),
            site.to_str().expect("path"),
        ],
        "gdal-bin",
    );
    let summary = solve_summary(
        dir.path(),
        &[
            "--site",
            dxf.to_str().expect("path"),
            "--crs",
            "EPSG:32613",
            "--program",
            fixture("programs/three_buildings_ft.json")
                .to_str()
                .expect("path"),
            "--out",
            out.to_str().expect("path"),
        ],
    )
    .expect("a DXF solves with --crs");
    assert_eq!(summary["placed"], 3);
    assert!(
        summary["site"]["source_crs"]
            .as_str()
            .expect("crs")
            .contains("32613")
    );
    let error = solve_summary(
        dir.path(),
        &[
            "--site",
            dxf.to_str().expect("path"),
            "--program",
            program.to_str().expect("path"),
            "--out",
            out.to_str().expect("path"),
        ],
    )
    .expect_err("a DXF needs a CRS");
    assert!(error.contains("declare one"), "{error}");
}

#[test]
fn when_nothing_can_be_placed_the_summary_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = dir.path().join("program.json");
    // A building wider than the parcel.
    std::fs::write(
        &program,
        r#"{"units":"m","setback":5,"min_spacing":3,"max_coverage":0.9,
            "assets":[{"name":"Hangar","type":"building","width":500,"length":500,"quantity":1}]}"#,
    )
    .expect("program");
    let out = dir.path().join("layout.geojson");
    let summary = solve_summary(
        dir.path(),
        &[
            "--site",
            fixture("rural_demo.kml").to_str().expect("path"),
            "--program",
            program.to_str().expect("path"),
            "--out",
            out.to_str().expect("path"),
        ],
    )
    .expect("solves, placing nothing");
    assert_eq!(summary["placed"], 0);
    let why = summary["unplaced"]["building-1"]
        .as_str()
        .expect("a reason");
    assert!(why.contains("largest buildable part"), "{why}");
}
