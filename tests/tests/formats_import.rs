//! Parcel import through `entmoot import`, on files written by an independent writer
//! (GDAL's `ogr2ogr`: KML, KMZ, zipped Shapefiles in UTM and in State Plane feet, DXF)
//! and on hostile files, which must be refused with the problem and its place named,
//! never with a panic.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use entmoot_tests::gis::run_tool;
use entmoot_tests::{embedded_env, fixture, run_entmoot};
use serde_json::Value;

/// A parcel with a hole, a pond and an easement inside it.
const SOURCE: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"name":"Parcel boundary","apn":"12-34"},"geometry":{"type":"Polygon","coordinates":[
  [[-103.402,39.350],[-103.397,39.350],[-103.397,39.354],[-103.402,39.354],[-103.402,39.350]],
  [[-103.4005,39.3530],[-103.4005,39.3535],[-103.4000,39.3535],[-103.4000,39.3530],[-103.4005,39.3530]]]}},
 {"type":"Feature","properties":{"name":"North Pond"},"geometry":{"type":"Polygon","coordinates":[
  [[-103.399,39.352],[-103.398,39.352],[-103.398,39.353],[-103.399,39.353],[-103.399,39.352]]]}},
 {"type":"Feature","properties":{"name":"Gas easement"},"geometry":{"type":"Polygon","coordinates":[
  [[-103.4015,39.3505],[-103.3975,39.3505],[-103.3975,39.3508],[-103.4015,39.3508],[-103.4015,39.3505]]]}}]}"#;

fn import(dir: &Path, args: &[&str]) -> Result<Value, String> {
    let mut full = vec!["import"];
    full.extend_from_slice(args);
    let output = run_entmoot(dir, &embedded_env(dir), &full);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "entmoot panicked: {stderr}");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("JSON summary"))
    } else {
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        Err(stderr)
    }
}

fn ogr2ogr(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let source = dir.join("source.geojson");
    if !source.exists() {
        std::fs::write(&source, SOURCE).unwrap();
    }
    let target = dir.join(out);
    let mut full: Vec<&str> = args.to_vec();
    let target_text = target.to_str().unwrap().to_owned();
    let source_text = source.to_str().unwrap().to_owned();
    full.push(&target_text);
    full.push(&source_text);
    run_tool("ogr2ogr", &full, "gdal-bin");
    target
}

fn area(summary: &Value) -> f64 {
    summary["boundary"]["area_m2"].as_f64().unwrap()
}

fn holes(summary: &Value) -> usize {
    summary["boundary"]["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .len()
        - 1
}

fn suggested(summary: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = summary["exclusion_candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["suggested_kind"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds
}

#[test]
fn reads_what_gdal_writes_and_converts_the_crs() {
    let dir = tempfile::tempdir().unwrap();
    let reference = {
        let source = dir.path().join("reference.geojson");
        std::fs::write(&source, SOURCE).unwrap();
        import(dir.path(), &[source.to_str().unwrap()]).unwrap()
    };
    assert_eq!(reference["format"], "geojson");
    assert_eq!(
        reference["boundary"]["reason"],
        "its name marks it as the parcel boundary"
    );
    assert_eq!(holes(&reference), 1);
    assert_eq!(suggested(&reference), ["easement", "wetland"]);
    let expected = area(&reference);
    assert!((expected - 190_000.0).abs() < 10_000.0, "{expected}");

    let cases: Vec<(&str, PathBuf, Vec<&str>, &str, bool)> = vec![
        (
            "KML",
            ogr2ogr(dir.path(), "parcel.kml", &["-f", "KML"]),
            vec![],
            "kml",
            true,
        ),
        (
            "KMZ",
            ogr2ogr(dir.path(), "parcel.kmz", &["-f", "LIBKML"]),
            vec![],
            "kmz",
            true,
        ),
        (
            "Shapefile in UTM",
            ogr2ogr(
                dir.path(),
                "utm.shp.zip",
                &["-f", "ESRI Shapefile", "-t_srs", "EPSG:32613"],
            ),
            vec![],
            "shapefile_zip",
            true,
        ),
        (
            "Shapefile in State Plane feet",
            ogr2ogr(
                dir.path(),
                "stateplane.shp.zip",
                &["-f", "ESRI Shapefile", "-t_srs", "EPSG:2232"],
            ),
            vec![],
            "shapefile_zip",
            true,
        ),
        (
            "DXF in UTM",
            ogr2ogr(
                dir.path(),
                "parcel.dxf",
                &["-f", "DXF", "-t_srs", "EPSG:32613"],
            ),
            vec!["--crs", "EPSG:32613"],
            "dxf",
            false,
        ),
    ];
    for (label, path, extra, format, named) in cases {
        let mut args = vec![path.to_str().unwrap()];
        args.extend(extra);
        let summary = import(dir.path(), &args).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(summary["format"], format, "{label}");
        let got = area(&summary);
        assert!(
            (got - expected).abs() / expected < 0.002,
            "{label}: boundary area {got} m², expected {expected} m²"
        );
        assert_eq!(holes(&summary), 1, "{label}: the hole is kept");
        assert_eq!(
            summary["exclusion_candidates"].as_array().unwrap().len(),
            2,
            "{label}"
        );
        if named {
            assert_eq!(suggested(&summary), ["easement", "wetland"], "{label}");
        }
    }

    // The user can override the boundary choice, by name or by index.
    let kml = dir.path().join("parcel.kml");
    let pond = import(
        dir.path(),
        &[kml.to_str().unwrap(), "--boundary", "North Pond"],
    )
    .unwrap();
    assert!(area(&pond) < 10_000.0);
    let error = import(dir.path(), &[kml.to_str().unwrap(), "--boundary", "7"]).unwrap_err();
    assert!(error.contains("polygon 7 does not exist"), "{error}");
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn hostile_and_broken_files_are_refused_with_the_problem_and_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let refused = |path: &Path, extra: &[&str]| -> String {
        let mut args = vec![path.to_str().unwrap()];
        args.extend_from_slice(extra);
        import(dir.path(), &args).expect_err("must be refused")
    };

    let error = refused(&fixture("malformed.kml"), &[]);
    assert!(
        error.contains("KML is not well-formed XML at byte"),
        "{error}"
    );

    let polygon = |coordinates: &str| {
        format!(
            "<kml><Placemark><name>Lot</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coordinates}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"
        )
    };
    let nan = write("nan.kml", polygon("0,0 1,0 nan,1 0,1 0,0").as_bytes());
    let error = refused(&nan, &[]);
    assert!(
        error.contains("Placemark \"Lot\" (#1), exterior ring, position 2")
            && error.contains("NaN"),
        "{error}"
    );

    let bowtie = write(
        "bowtie.geojson",
        br#"{"type":"Polygon","coordinates":[[[0,0],[0.001,0.001],[0.001,0],[0,0.001],[0,0]]]}"#,
    );
    let error = refused(&bowtie, &[]);
    assert!(
        error.contains("geometry: ") && error.contains("self-intersection"),
        "{error}"
    );

    let empty = write(
        "empty.geojson",
        br#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[1,1],[1,1],[1,1],[1,1]]]}}"#,
    );
    let error = refused(&empty, &[]);
    assert!(
        error.contains("feature, exterior ring") && error.contains("empty"),
        "{error}"
    );

    let entities = write(
        "bomb.kml",
        br#"<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><kml><Placemark><name>&b;</name></Placemark></kml>"#,
    );
    let error = refused(&entities, &[]);
    assert!(error.contains("DOCTYPE"), "{error}");

    let traversal = write(
        "traversal.kmz",
        &zip_of(&[("../../doc.kml", polygon("0,0 1,0 1,1 0,0").as_bytes())]),
    );
    let error = refused(&traversal, &[]);
    assert!(
        error.contains("KMZ archive refused") && error.contains("path traversal"),
        "{error}"
    );

    let zeros = vec![b' '; 260 * 1024 * 1024];
    let bomb = write("bomb.kmz", &zip_of(&[("doc.kml", &zeros)]));
    drop(zeros);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 * 1024 * 1024);
    let error = refused(&bomb, &[]);
    assert!(error.contains("zip bomb"), "{error}");

    // A Shapefile whose .prj names a datum we cannot convert.
    let shapefile = ogr2ogr(
        dir.path(),
        "tokyo.shp.zip",
        &["-f", "ESRI Shapefile", "-t_srs", "EPSG:32613"],
    );
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&shapefile).unwrap()).unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        let name = file.name().unwrap().into_owned();
        if name.ends_with(".prj") {
            bytes = br#"GEOGCS["Tokyo",DATUM["Tokyo",SPHEROID["Bessel 1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]"#.to_vec();
        }
        entries.push((name, bytes));
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let tokyo = write("tokyo2.shp.zip", &zip_of(&refs));
    let error = refused(&tokyo, &[]);
    assert!(
        error.contains("source.prj: unknown coordinate reference system")
            && error.contains("Tokyo"),
        "{error}"
    );

    let dxf = ogr2ogr(
        dir.path(),
        "nocrs.dxf",
        &["-f", "DXF", "-t_srs", "EPSG:32613"],
    );
    let error = refused(&dxf, &[]);
    assert!(error.contains("declare one"), "{error}");
    let error = refused(&dxf, &["--crs", "EPSG:99999"]);
    assert!(error.contains("EPSG:99999 is not supported"), "{error}");

    let unknown = write("notes.txt", b"just some text");
    let error = refused(&unknown, &[]);
    assert!(error.contains("unrecognised file content"), "{error}");
}

#[test]
fn a_geotiff_dem_is_described_not_taken_as_a_parcel() {
    let dir = tempfile::tempdir().unwrap();
    // An independent GeoTIFF: GDAL turns an ASCII grid in UTM 13N into a Float32 GeoTIFF.
    let grid = dir.path().join("dem.asc");
    std::fs::write(
        &grid,
        "ncols 4\nnrows 3\nxllcorner 637600\nyllcorner 4356970\ncellsize 10\nNODATA_value -9999\n\
         1 2 3 4\n5 -9999 7 8\n9 10 11 12\n",
    )
    .unwrap();
    let tiff = dir.path().join("dem.tif");
    run_tool(
        "gdal_translate",
        &[
            "-q",
            "-of",
            "GTiff",
            "-ot",
            "Float32",
            "-a_srs",
            "EPSG:32613",
            grid.to_str().unwrap(),
            tiff.to_str().unwrap(),
        ],
        "gdal-bin",
    );
    let summary = import(dir.path(), &[tiff.to_str().unwrap()]).unwrap();
    assert_eq!(summary["format"], "geotiff");
    let dem = &summary["dem"];
    assert_eq!(dem["width"], 4);
    assert_eq!(dem["height"], 3);
    assert_eq!(dem["epsg"], 32613);
    assert_eq!(dem["nodata_pixels"], 1);
    assert_eq!(dem["min_elevation_m"], 1.0);
    assert_eq!(dem["max_elevation_m"], 12.0);
    assert_eq!(dem["bounds"][0], 637_600.0);
    assert_eq!(dem["bounds"][3], 4_357_000.0);
}
