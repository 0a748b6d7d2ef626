//! The committed JSON Schemas (`docs/schemas/`) are the ones the types generate, every
//! fixture program satisfies the program schema (and parses and prepares), the schema
//! refuses what the parser refuses, and a layout and its GeoJSON satisfy theirs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use entmoot_plugin_sdk::fixtures::rural_demo_site;
use entmoot_plugin_sdk::geo::Centroid;
use entmoot_plugin_sdk::geojson_out::layout_to_geojson;
use entmoot_plugin_sdk::json_schema::{
    SCHEMA_FILES, layout_geojson_schema, layout_schema, program_schema, to_file_text,
};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{Layout, PlacedAsset, Program, Road};
use serde_json::{Value, json};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator(schema: entmoot_plugin_sdk::json_schema::Schema) -> jsonschema::Validator {
    jsonschema::validator_for(schema.as_value()).expect("the generated schema is a valid schema")
}

/// The schema's complaints about `instance`, one line each (empty when it is valid).
fn complaints(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// The fixture programs, by path.
fn fixture_programs() -> Vec<(PathBuf, String)> {
    let directory = repository_root().join("tests/fixtures/programs");
    let mut programs: Vec<(PathBuf, String)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    programs.sort();
    assert!(
        programs.len() >= 2,
        "expected the fixture programs in {}",
        directory.display()
    );
    programs
}

#[test]
fn committed_schemas_are_the_generated_ones() {
    for (file_name, make) in SCHEMA_FILES {
        let path = repository_root().join("docs/schemas").join(file_name);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(
            committed == to_file_text(&make()),
            "docs/schemas/{file_name} is stale: run `cargo run -p entmoot-plugin-sdk --example write_json_schemas` and commit the result"
        );
    }
}

#[test]
fn every_fixture_program_satisfies_the_schema_parses_and_prepares() {
    let schema = validator(program_schema());
    for (path, text) in fixture_programs() {
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            complaints(&schema, &value),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
        let program = Program::from_json_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        prepare_problem(&rural_demo_site(), &program)
            .unwrap_or_else(|error| panic!("{} on the rural demo: {error}", path.display()));
    }
}

#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let schema = validator(program_schema());
    let asset = json!({"name": "Barn", "type": "building", "width": 20, "length": 30});
    let with = |key: &str, value: Value| {
        let mut program = json!({"assets": [asset.clone()]});
        program[key] = value;
        program
    };
    let with_asset = |key: &str, value: Value| {
        let mut one = asset.clone();
        one[key] = value;
        json!({"assets": [one]})
    };
    let refused = [
        with("units", json!("yd")),
        with("setback", json!(-1)),
        with("max_coverage", json!(40)),
        with("max_coverage", json!(0)),
        with("unknown", json!(1)),
        with("side_setbacks", json!({"up": 5})),
        with("side_setbacks", json!({"north": -5})),
        with("entrance", json!([200, 10])),
        with(
            "exclusions",
            json!([{"kind": "swamp", "geometry": {"type": "Point", "coordinates": [0, 0]}}]),
        ),
        with(
            "exclusions",
            json!([{"kind": "wetland", "geometry": {"type": "Point", "coordinates": [0]}}]),
        ),
        with("objectives", json!({"cost": -1})),
        with("roads", json!({"main_width": 0})),
        with(
            "spacing_overrides",
            json!([{"between": ["building"], "spacing": 5}]),
        ),
        json!({"assets": []}),
        with_asset("type", json!("castle")),
        with_asset("quantity", json!(0)),
        with_asset("quantity", json!(100_001)),
        with_asset("footprint", json!("hexagon")),
        with_asset("footprint", json!([[0, 0], [1, 1]])),
        with_asset("rotations", json!("any")),
        with_asset("name", json!("")),
        with_asset("widht", json!(3)),
    ];
    for program in refused {
        let text = program.to_string();
        assert!(
            Program::from_json_str(&text).is_err(),
            "the parser accepts {text}"
        );
        assert!(
            !complaints(&schema, &program).is_empty(),
            "the schema accepts {text}"
        );
    }
}

/// The mixed fixture's assets placed side by side (not a valid layout: the schemas describe
/// shape, not placement rules) with one road.
fn demo_layout() -> (entmoot_plugin_sdk::Problem, Layout) {
    let path = repository_root().join("tests/fixtures/programs/mixed_site_m.json");
    let program = Program::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let centre = problem.buildable_m.centroid().unwrap();
    let assets = problem
        .assets
        .iter()
        .enumerate()
        .map(|(i, asset)| PlacedAsset {
            asset_id: asset.asset_id.clone(),
            name: asset.name.clone(),
            asset_type: asset.asset_type,
            center: [centre.x() - 150.0 + 40.0 * i as f64, centre.y()],
            width_m: asset.width_m,
            length_m: asset.length_m,
            rotation_deg: if i % 2 == 0 { 0.0 } else { 90.0 },
            shape: asset.shape.clone(),
        })
        .collect();
    let road = Road::new(
        vec![problem.entrances_m[0], [centre.x(), centre.y() - 40.0]],
        6.0,
    );
    (
        problem,
        Layout {
            assets,
            roads: vec![road],
        },
    )
}

#[test]
fn a_layout_and_its_geojson_satisfy_their_schemas() {
    let (problem, layout) = demo_layout();
    let layout_value = serde_json::to_value(&layout).unwrap();
    assert_eq!(
        complaints(&validator(layout_schema()), &layout_value),
        Vec::<String>::new()
    );
    let kinds: Vec<&str> = layout.assets.iter().map(|a| a.shape.kind()).collect();
    for kind in ["rectangle", "circle", "polygon"] {
        assert!(kinds.contains(&kind), "the demo has a {kind}: {kinds:?}");
    }

    let geojson = layout_to_geojson(&problem, &layout).unwrap();
    let mut value = serde_json::to_value(&geojson).unwrap();
    let schema = validator(layout_geojson_schema());
    assert_eq!(complaints(&schema, &value), Vec::<String>::new());
    // The export adds a foreign member; the schema allows it.
    value["entmoot"] = json!({"title": "Demo"});
    assert_eq!(complaints(&schema, &value), Vec::<String>::new());

    // And it is not a schema that accepts anything.
    let asset_index = value["features"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["properties"]["kind"] == "asset")
        .unwrap();
    let mut unknown_kind = value.clone();
    unknown_kind["features"][asset_index]["properties"]["kind"] = json!("tree");
    assert!(!complaints(&schema, &unknown_kind).is_empty());
    let mut no_rotation = value.clone();
    no_rotation["features"][asset_index]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("rotation");
    assert!(!complaints(&schema, &no_rotation).is_empty());
    let mut projected = value.clone();
    projected["features"][asset_index]["geometry"]["coordinates"][0][0] =
        json!([637_900.0, 4_357_000.0]);
    assert!(
        !complaints(&schema, &projected).is_empty(),
        "UTM metres are not WGS84"
    );
}
