//! Parcel import through `entmoot import`, on files written by an independent writer
//! (GDAL's `ogr2ogr`: KML, KMZ, zipped Shapefiles in UTM and in State Plane feet,
//! GeoPackages, DXF)
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
            "GeoPackage in UTM",
            ogr2ogr(
                dir.path(),
                "parcel.gpkg",
                &["-f", "GPKG", "-t_srs", "EPSG:32613"],
            ),
            vec![],
            "geopackage",
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

/// A two-part parcel (the west part holed) and a stock pond inside the west part.
const MULTI_PART: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"name":"Parcel"},"geometry":{"type":"MultiPolygon","coordinates":[
  [[[-103.402,39.350],[-103.397,39.350],[-103.397,39.354],[-103.402,39.354],[-103.402,39.350]],
   [[-103.4005,39.3530],[-103.4005,39.3535],[-103.4000,39.3535],[-103.4000,39.3530],[-103.4005,39.3530]]],
  [[[-103.396,39.350],[-103.393,39.350],[-103.393,39.353],[-103.396,39.353],[-103.396,39.350]]]]}},
 {"type":"Feature","properties":{"name":"Stock pond"},"geometry":{"type":"Polygon","coordinates":[
  [[-103.399,39.351],[-103.398,39.351],[-103.398,39.352],[-103.399,39.352],[-103.399,39.351]]]}}]}"#;

/// The parcel's area as GDAL computes it: planar, in a Lambert azimuthal equal-area
/// projection centred on the parcel (so equal to the ellipsoidal area).
fn gdal_parcel_area(dir: &Path, source: &Path) -> f64 {
    let laea = dir.join("laea.geojson");
    let _ = std::fs::remove_file(&laea);
    run_tool(
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            "-t_srs",
            "+proj=laea +lat_0=39.352 +lon_0=-103.397 +datum=WGS84",
            laea.to_str().unwrap(),
            source.to_str().unwrap(),
        ],
        "gdal-bin",
    );
    let text = run_tool(
        "ogrinfo",
        &[
            "-ro",
            "-q",
            "-sql",
            "SELECT OGR_GEOM_AREA AS a FROM multi WHERE name = 'Parcel'",
            laea.to_str().unwrap(),
        ],
        "gdal-bin",
    );
    let features = entmoot_tests::gis::parse_ogrinfo(&text);
    features[0].field("a").unwrap().parse().unwrap()
}

#[test]
fn multi_part_holed_and_projected_parcels_arrive_with_every_part_and_hole() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("multi.geojson");
    std::fs::write(&source, MULTI_PART).unwrap();
    let expected = gdal_parcel_area(dir.path(), &source);
    assert!((expected - 275_127.0).abs() < 50.0, "{expected}");
    let written = |out: &str, args: &[&str]| {
        let target = dir.path().join(out);
        let mut full: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        full.push(target.to_str().unwrap().to_owned());
        full.push(source.to_str().unwrap().to_owned());
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        run_tool("ogr2ogr", &full, "gdal-bin");
        target
    };
    // A Shapefile without its .prj: the CRS is declared.
    let utm_dir = dir.path().join("noprj");
    std::fs::create_dir_all(&utm_dir).unwrap();
    run_tool(
        "ogr2ogr",
        &[
            "-f",
            "ESRI Shapefile",
            "-t_srs",
            "EPSG:32613",
            utm_dir.join("parcel.shp").to_str().unwrap(),
            source.to_str().unwrap(),
        ],
        "gdal-bin",
    );
    let read = |name: &str| std::fs::read(utm_dir.join(name)).unwrap();
    let no_prj = dir.path().join("noprj.shp.zip");
    std::fs::write(
        &no_prj,
        zip_of(&[
            ("parcel.shp", &read("parcel.shp")),
            ("parcel.shx", &read("parcel.shx")),
            ("parcel.dbf", &read("parcel.dbf")),
        ]),
    )
    .unwrap();
    let cases: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        ("GeoJSON", source.clone(), vec![]),
        (
            "GeoJSON in Web Mercator (legacy crs member)",
            written(
                "mercator.geojson",
                &["-f", "GeoJSON", "-t_srs", "EPSG:3857"],
            ),
            vec![],
        ),
        (
            "KML MultiGeometry",
            written("multi.kml", &["-f", "KML"]),
            vec![],
        ),
        ("KMZ", written("multi.kmz", &["-f", "LIBKML"]), vec![]),
        (
            "Shapefile in UTM",
            written(
                "utm.shp.zip",
                &["-f", "ESRI Shapefile", "-t_srs", "EPSG:32613"],
            ),
            vec![],
        ),
        (
            "Shapefile in State Plane feet",
            written(
                "sp.shp.zip",
                &["-f", "ESRI Shapefile", "-t_srs", "EPSG:2232"],
            ),
            vec![],
        ),
        (
            "Shapefile without .prj",
            no_prj,
            vec!["--crs", "EPSG:32613"],
        ),
        ("GeoPackage", written("multi.gpkg", &["-f", "GPKG"]), vec![]),
        (
            "GeoPackage in State Plane feet",
            written("sp.gpkg", &["-f", "GPKG", "-t_srs", "EPSG:2232"]),
            vec![],
        ),
        (
            "DXF hatches in UTM",
            written("multi.dxf", &["-f", "DXF", "-t_srs", "EPSG:32613"]),
            vec!["--crs", "EPSG:32613"],
        ),
    ];
    for (label, path, extra) in cases {
        let mut args = vec![path.to_str().unwrap()];
        args.extend(extra);
        let summary = import(dir.path(), &args).unwrap_or_else(|e| panic!("{label}: {e}"));
        let got = area(&summary);
        assert!(
            (got - expected).abs() / expected < 0.001,
            "{label}: boundary area {got} m², GDAL says {expected} m²"
        );
        assert_eq!(summary["boundary"]["parts"], 2, "{label}: both parts");
        assert_eq!(summary["boundary"]["holes"], 1, "{label}: the hole");
        let candidates = summary["exclusion_candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 1, "{label}: only the pond is a candidate");
        assert!(
            summary["repairs"].as_array().unwrap().is_empty(),
            "{label}: nothing to repair in GDAL's files: {}",
            summary["repairs"]
        );
    }

    // A DXF drawn with one closed polyline per ring (as CAD programs and Entmoot draw):
    // the rings of a layer are grouped by containment, so the hole comes back.
    let parcel_only = dir.path().join("parcel_only.geojson");
    let mut only: Value = serde_json::from_str(MULTI_PART).unwrap();
    only["features"].as_array_mut().unwrap().truncate(1);
    std::fs::write(&parcel_only, only.to_string()).unwrap();
    let lines = dir.path().join("lines.dxf");
    run_tool(
        "ogr2ogr",
        &[
            "-f",
            "DXF",
            "-t_srs",
            "EPSG:32613",
            "-nlt",
            "MULTILINESTRING",
            lines.to_str().unwrap(),
            parcel_only.to_str().unwrap(),
        ],
        "gdal-bin",
    );
    let summary = import(
        dir.path(),
        &[lines.to_str().unwrap(), "--crs", "EPSG:32613"],
    )
    .unwrap();
    assert_eq!(summary["boundary"]["parts"], 2);
    assert_eq!(summary["boundary"]["holes"], 1);
    assert!((area(&summary) - expected).abs() / expected < 0.001);

    // KML is WGS84 by definition: a declared CRS is refused, not ignored.
    let kml = dir.path().join("multi.kml");
    let error = import(dir.path(), &[kml.to_str().unwrap(), "--crs", "EPSG:32613"]).unwrap_err();
    assert!(error.contains("always WGS84"), "{error}");
    // A GeoJSON in an unsupported CRS is refused by name.
    let nz = written("nz.geojson", &["-f", "GeoJSON", "-t_srs", "EPSG:2193"]);
    let error = import(dir.path(), &[nz.to_str().unwrap()]).unwrap_err();
    assert!(error.contains("EPSG:2193 is not supported"), "{error}");
}
