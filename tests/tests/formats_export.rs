//! Every export format, read back by an independent reader: GDAL's `ogrinfo` for
//! GeoJSON, KML, KMZ, DXF and the zipped Shapefile, poppler's `pdftotext` for the
//! report. The features and figures must match the layout `entmoot solve` produced.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use entmoot_tests::gis::{OgrFeature, lon_lat_area_m2, ogr_features, pdf_text, run_tool};
use entmoot_tests::{embedded_env, fixture, run_entmoot};
use serde_json::Value;

const METRES_PER_FOOT: f64 = 0.3048;

struct Demo {
    dir: tempfile::TempDir,
    document: Value,
}

impl Demo {
    /// Solves the rural demo (three 60 × 80 ft buildings) into a layout document.
    fn solve() -> Demo {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("demo.layout.json");
        entmoot(
            dir.path(),
            &[
                "solve",
                "--site",
                fixture("rural_demo.kml").to_str().unwrap(),
                "--program",
                fixture("programs/three_buildings_ft.json")
                    .to_str()
                    .unwrap(),
                "--seed",
                "7",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("layout document"))
                .expect("JSON");
        Demo { dir, document }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `entmoot export --layout demo.layout.json --out NAME [extra…]`.
    fn export(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.path(name);
        let layout = self.path("demo.layout.json");
        let mut args = vec![
            "export",
            "--layout",
            layout.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let summary: Value = serde_json::from_slice(&entmoot(self.dir.path(), &args)).unwrap();
        assert_eq!(summary["out"], out.to_str().unwrap());
        out
    }

    fn assets(&self) -> Vec<&Value> {
        self.document["layout"]["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .collect()
    }

    fn asset(&self, id: &str) -> &Value {
        self.assets()
            .into_iter()
            .find(|a| a["asset_id"] == id)
            .unwrap_or_else(|| panic!("no asset {id}"))
    }

    fn metrics(&self) -> &Value {
        &self.document["metrics"]
    }
}

fn entmoot(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = run_entmoot(dir, &embedded_env(dir), args);
    assert!(
        output.status.success(),
        "entmoot {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The footprint corners in metres, computed here from centre, size and rotation.
fn corners_m(asset: &Value) -> Vec<(f64, f64)> {
    let centre = (
        asset["center"][0].as_f64().unwrap(),
        asset["center"][1].as_f64().unwrap(),
    );
    let (w, l) = (
        asset["width_m"].as_f64().unwrap() / 2.0,
        asset["length_m"].as_f64().unwrap() / 2.0,
    );
    let (s, c) = asset["rotation_deg"]
        .as_f64()
        .unwrap()
        .to_radians()
        .sin_cos();
    [(-w, -l), (w, -l), (w, l), (-w, l)]
        .iter()
        .map(|(dx, dy)| (centre.0 + dx * c - dy * s, centre.1 + dx * s + dy * c))
        .collect()
}

fn close(a: (f64, f64), b: (f64, f64), tolerance: f64) -> bool {
    (a.0 - b.0).abs() <= tolerance && (a.1 - b.1).abs() <= tolerance
}

/// Every expected corner appears among `positions`.
fn has_corners(positions: &[(f64, f64)], corners: &[(f64, f64)], tolerance: f64) -> bool {
    corners
        .iter()
        .all(|c| positions.iter().any(|p| close(*p, *c, tolerance)))
}

fn of_layer<'a>(features: &'a [OgrFeature], layer: &str) -> Vec<&'a OgrFeature> {
    features.iter().filter(|f| f.layer == layer).collect()
}

/// The asset features of a WGS84 dataset match the layout: ids, names, sizes, and a
/// footprint whose area is width × length.
fn check_wgs84_assets(demo: &Demo, assets: &[&OgrFeature], format: &str) {
    assert_eq!(
        assets.len() as u64,
        demo.metrics()["placed"].as_u64().unwrap(),
        "{format}: one feature per placed asset"
    );
    for feature in assets {
        let id = feature
            .field("asset_id")
            .unwrap_or_else(|| panic!("{format}: asset_id missing in {feature:?}"));
        let asset = demo.asset(id);
        // KML readers take the Placemark name as `Name`.
        let name = feature.field("name").or_else(|| feature.field("Name"));
        assert_eq!(name, asset["name"].as_str(), "{format}");
        assert_eq!(feature.field("asset_type"), Some("building"), "{format}");
        let width: f64 = feature.field("width").unwrap().parse().unwrap();
        assert!(
            (width - asset["width_m"].as_f64().unwrap()).abs() < 1e-5,
            "{format}: width {width}"
        );
        let ring = feature.positions();
        assert_eq!(ring.len(), 5, "{format}: a closed rectangle, got {ring:?}");
        let area = lon_lat_area_m2(&ring);
        let expected = asset["width_m"].as_f64().unwrap() * asset["length_m"].as_f64().unwrap();
        assert!(
            (area - expected).abs() / expected < 0.01,
            "{format}: footprint area {area} m², expected {expected} m²"
        );
        for (lon, lat) in ring {
            assert!(
                (-103.402..=-103.397).contains(&lon) && (39.35..=39.354).contains(&lat),
                "{format}: ({lon}, {lat}) is outside the parcel"
            );
        }
    }
}

#[test]
fn every_export_reads_back_in_independent_readers() {
    let demo = Demo::solve();
    assert_eq!(demo.metrics()["placed"], 3);

    // GeoJSON: the contract of docs/layout-geojson.md.
    let geojson = demo.export("demo.geojson", &[]);
    let features = ogr_features(geojson.to_str().unwrap());
    let assets: Vec<&OgrFeature> = features
        .iter()
        .filter(|f| f.field("kind") == Some("asset"))
        .collect();
    check_wgs84_assets(&demo, &assets, "GeoJSON");
    let reference: Vec<(String, Vec<(f64, f64)>)> = assets
        .iter()
        .map(|f| (f.field("asset_id").unwrap().to_owned(), f.positions()))
        .collect();
    assert_eq!(
        features
            .iter()
            .filter(|f| f.field("kind") == Some("road"))
            .count(),
        demo.document["layout"]["roads"].as_array().unwrap().len()
    );
    assert_eq!(
        features
            .iter()
            .filter(|f| f.field("kind") == Some("boundary"))
            .count(),
        1
    );
    let same_as_geojson = |features: &[&OgrFeature], format: &str| {
        for feature in features {
            let id = feature.field("asset_id").unwrap();
            let (_, expected) = reference.iter().find(|(r, _)| r == id).unwrap();
            let got = feature.positions();
            assert!(
                has_corners(&got, expected, 1e-7),
                "{format}: {id} corners {got:?} differ from the GeoJSON's {expected:?}"
            );
        }
    };

    // KML and KMZ: one folder (layer) per kind, ExtendedData as fields.
    let kml = demo.export("demo.kml", &[]);
    let features = ogr_features(kml.to_str().unwrap());
    let layers: Vec<&str> = features.iter().map(|f| f.layer.as_str()).collect();
    for layer in ["Boundary", "Setback", "Entrances", "Roads", "Assets"] {
        assert!(
            layers.contains(&layer),
            "KML layer {layer} missing: {layers:?}"
        );
    }
    let assets = of_layer(&features, "Assets");
    check_wgs84_assets(&demo, &assets, "KML");
    same_as_geojson(&assets, "KML");
    // Typed: numbers arrive as numbers (the layer's Schema), not as text.
    let listing = run_tool(
        "ogrinfo",
        &["-ro", "-so", kml.to_str().unwrap(), "Assets"],
        "gdal-bin",
    );
    for field in [
        "width: Real",
        "rotation: Real",
        "area_m2: Real",
        "asset_id: String",
    ] {
        assert!(listing.contains(field), "{field}: {listing}");
    }
    let text = std::fs::read_to_string(&kml).unwrap();
    assert!(text.contains("<Style id=\"asset-building\">"));
    assert!(text.contains("<styleUrl>#asset-building</styleUrl>"));

    let kmz = demo.export("demo.kmz", &[]);
    let inside = format!("/vsizip/{}/doc.kml", kmz.display());
    let features = ogr_features(&inside);
    let assets = of_layer(&features, "Assets");
    check_wgs84_assets(&demo, &assets, "KMZ");
    same_as_geojson(&assets, "KMZ");

    // Shapefile: one layer per kind, in WGS84 per its .prj.
    let shapefile = demo.export("demo.shp.zip", &[]);
    let dataset = format!("/vsizip/{}", shapefile.display());
    let listing = run_tool("ogrinfo", &["-ro", "-so", &dataset, "assets"], "gdal-bin");
    assert!(listing.contains("Geometry: Polygon"), "{listing}");
    assert!(
        listing.contains("WGS 84") || listing.contains("WGS_1984"),
        "{listing}"
    );
    let features = ogr_features(&dataset);
    let assets = of_layer(&features, "assets");
    check_wgs84_assets(&demo, &assets, "Shapefile");
    same_as_geojson(&assets, "Shapefile");
    assert_eq!(of_layer(&features, "boundary").len(), 1);
    assert_eq!(
        of_layer(&features, "roads").len(),
        demo.document["layout"]["roads"].as_array().unwrap().len()
    );

    // GeoPackage: the same layers and attribute names, numbers typed, valid per GDAL's
    // validator of the OGC specification.
    let geopackage = demo.export("demo.gpkg", &[]);
    let validated = std::process::Command::new("python3")
        .arg("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py")
        .arg("--warning-as-error")
        .arg(&geopackage)
        .output()
        .expect("python3 runs GDAL's validate_gpkg.py (tests/run installs python3-gdal)");
    assert!(
        validated.status.success(),
        "validate_gpkg.py: {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    let listing = run_tool(
        "ogrinfo",
        &["-ro", "-so", geopackage.to_str().unwrap(), "assets"],
        "gdal-bin",
    );
    assert!(listing.contains("Geometry: Polygon"), "{listing}");
    assert!(
        listing.contains("EPSG\",4326") || listing.contains("WGS 84"),
        "{listing}"
    );
    for field in [
        "asset_id: String",
        "width: Real",
        "rotation: Real",
        "area_m2: Real",
    ] {
        assert!(listing.contains(field), "{field}: {listing}");
    }
    let features = ogr_features(geopackage.to_str().unwrap());
    let assets = of_layer(&features, "assets");
    check_wgs84_assets(&demo, &assets, "GeoPackage");
    same_as_geojson(&assets, "GeoPackage");
    // One attribute schema: each GeoPackage layer's columns, as GDAL reads them, are the
    // properties the layout GeoJSON gives the same kind (roads also have a `name`).
    let layout_geojson: Value =
        serde_json::from_slice(&std::fs::read(demo.export("schema.geojson", &[])).unwrap())
            .unwrap();
    for (kind, layer, extra) in [
        ("boundary", "boundary", None),
        ("entrance", "entrances", None),
        ("asset", "assets", None),
        ("road", "roads", Some("name")),
    ] {
        let properties: std::collections::BTreeSet<String> = layout_geojson["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|feature| feature["properties"]["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in the GeoJSON"))["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .chain(extra.map(str::to_owned))
            .collect();
        let columns: std::collections::BTreeSet<String> = of_layer(&features, layer)[0]
            .fields
            .keys()
            .cloned()
            .collect();
        assert_eq!(columns, properties, "{layer} against the GeoJSON's {kind}");
    }
    assert_eq!(of_layer(&features, "boundary").len(), 1);
    assert_eq!(of_layer(&features, "setback").len(), 1);
    assert_eq!(
        of_layer(&features, "roads").len(),
        demo.document["layout"]["roads"].as_array().unwrap().len()
    );

    // DXF in metres and in feet: layers by name, corners at the layout's UTM metres.
    for (name, factor, extra) in [
        ("demo.dxf", 1.0, vec![]),
        ("demo_ft.dxf", 1.0 / METRES_PER_FOOT, vec!["--units", "ft"]),
    ] {
        let dxf = demo.export(name, &extra);
        let features = ogr_features(dxf.to_str().unwrap());
        let on = |layer: &str| -> Vec<&OgrFeature> {
            features
                .iter()
                .filter(|f| f.field("Layer") == Some(layer))
                .collect()
        };
        for layer in ["BOUNDARY", "SETBACK", "ASSETS", "ROADS", "LABELS"] {
            assert!(!on(layer).is_empty(), "{name}: no entity on layer {layer}");
        }
        let outlines = on("ASSETS");
        assert_eq!(outlines.len(), 3, "{name}");
        for asset in demo.assets() {
            let expected: Vec<(f64, f64)> = corners_m(asset)
                .into_iter()
                .map(|(x, y)| (x * factor, y * factor))
                .collect();
            assert!(
                outlines
                    .iter()
                    .any(|f| has_corners(&f.positions(), &expected, 1e-3)),
                "{name}: no outline at {expected:?}"
            );
            let id = asset["asset_id"].as_str().unwrap();
            assert!(
                on("LABELS")
                    .iter()
                    .any(|f| f.field("Text").is_some_and(|t| t.contains(id))),
                "{name}: no label for {id}"
            );
        }
    }

    // PDF: the plan and the figures.
    // A title in three scripts: the report's fonts print each as written.
    let pdf = demo.export("demo.pdf", &["--title", "Rural demo report 倉庫 Склад"]);
    let text = pdf_text(&pdf);
    let metrics = demo.metrics();
    for expected in [
        "Rural demo report 倉庫 Склад".to_owned(),
        "Layout metrics".to_owned(),
        format!(
            "{} of {}",
            metrics["placed"].as_u64().unwrap(),
            metrics["requested"].as_u64().unwrap()
        ),
        format!(
            "{} m\u{b2}",
            format_grouped(metrics["footprint_m2"].as_f64().unwrap(), 1)
        ),
        format!(
            "{} m\u{b2}",
            format_grouped(
                demo.document["problem"]["boundary_area_m2"]
                    .as_f64()
                    .unwrap(),
                1
            )
        ),
        format!(
            "{} m",
            format_grouped(metrics["road_length_m"].as_f64().unwrap(), 1)
        ),
        // Where, when and at what scale, and a legend entry per asset type.
        "Centre 39.35200\u{b0} N, 103.39950\u{b0} W".to_owned(),
        format!("made {}", chrono::Utc::now().format("%Y-%m-%d")),
        "scale 1:".to_owned(),
        "Building".to_owned(),
        "Earthwork: unknown".to_owned(),
        "no terrain (DEM) was given".to_owned(),
        "Cost".to_owned(),
    ] {
        assert!(
            text.contains(&expected),
            "the report lacks `{expected}`:\n{text}"
        );
    }
    if let Some(total) = metrics["cost"]["total"].as_f64() {
        let total = format_grouped(total, 2);
        assert!(text.contains(&total), "cost total {total}:\n{text}");
    }
    for asset in demo.assets() {
        let id = asset["asset_id"].as_str().unwrap();
        let centre = format!(
            "{:.1}, {:.1}",
            asset["center"][0].as_f64().unwrap(),
            asset["center"][1].as_f64().unwrap()
        );
        assert!(
            text.lines()
                .any(|line| line.contains(id) && line.contains(&centre)),
            "the asset table lacks {id} at {centre}:\n{text}"
        );
    }
    // A legend entry per asset type placed.
    for asset_type in demo
        .assets()
        .iter()
        .map(|asset| asset["asset_type"].as_str().unwrap().replace('_', " "))
    {
        let entry = format!("{}{}", asset_type[..1].to_uppercase(), &asset_type[1..]);
        assert!(text.contains(&entry), "no legend entry `{entry}`:\n{text}");
    }
    // The plan page renders to something: poppler's rasteriser draws it, and a good
    // share of its pixels are not paper.
    let raster = dir_of(&pdf).join("plan-page");
    run_tool(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            "30",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf.to_str().unwrap(),
            raster.to_str().unwrap(),
        ],
        "poppler-utils",
    );
    let pgm = std::fs::read(raster.with_extension("pgm")).expect("pdftoppm wrote the page");
    // A binary PGM: "P5\n<width> <height>\n255\n" then one byte per pixel.
    let pixels = &pgm[pgm.len() - pixel_count(&pgm)..];
    let inked = pixels.iter().filter(|&&grey| grey < 200).count();
    assert!(
        inked * 100 > pixels.len() * 3,
        "the plan page is nearly blank: {inked} of {} pixels inked",
        pixels.len()
    );
    // Every font is embedded, subset and mapped back to Unicode (poppler's own reading).
    let fonts = run_tool("pdffonts", &[pdf.to_str().unwrap()], "poppler-utils");
    let font_rows: Vec<&str> = fonts.lines().skip(2).collect();
    for font in ["+DejaVuSans ", "+DroidSansFallback "] {
        assert!(
            font_rows.iter().any(|row| row.contains(font)),
            "{font}:\n{fonts}"
        );
    }
    assert!(
        font_rows
            .iter()
            .all(|row| row.contains("CID TrueType") && row.contains("yes yes yes")),
        "a font is not embedded, subset and mapped to Unicode:\n{fonts}"
    );
    let pages = run_tool("pdfinfo", &[pdf.to_str().unwrap()], "poppler-utils");
    assert!(
        pages
            .lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with('2')),
        "{pages}"
    );

    // SVG: well-formed, one path per asset.
    let svg = std::fs::read_to_string(demo.export("demo.svg", &[])).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("class=\"asset\"").count(), 3);
}

#[test]
fn solve_writes_the_format_its_out_extension_names_and_refuses_others_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = fixture("rural_demo.kml");
    let program = fixture("programs/three_buildings_ft.json");
    let solve = |out: &Path| {
        run_entmoot(
            dir.path(),
            &embedded_env(dir.path()),
            &[
                "solve",
                "--site",
                site.to_str().unwrap(),
                "--program",
                program.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let kmz = dir.path().join("direct.kmz");
    let output = solve(&kmz);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["format"], "kmz");
    let features = ogr_features(&format!("/vsizip/{}/doc.kml", kmz.display()));
    assert_eq!(of_layer(&features, "Assets").len(), 3);

    let wrong = dir.path().join("plan.zip");
    let output = solve(&wrong);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("plan.zip") && stderr.contains("unknown export format"),
        "{stderr}"
    );
    assert!(!wrong.exists());
}

#[test]
fn export_can_solve_first_and_refuses_a_bad_layout_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("plan.svg");
    let stdout = entmoot(
        dir.path(),
        &[
            "export",
            "--site",
            fixture("rural_demo.kml").to_str().unwrap(),
            "--program",
            fixture("programs/three_buildings_ft.json")
                .to_str()
                .unwrap(),
            "--out",
            svg.to_str().unwrap(),
        ],
    );
    let summary: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(summary["format"], "svg");
    assert_eq!(summary["placed"], 3);

    let bad = dir.path().join("bad.layout.json");
    std::fs::write(&bad, "{\"layout\": {}}").unwrap();
    let output = run_entmoot(
        dir.path(),
        &embedded_env(dir.path()),
        &[
            "export",
            "--layout",
            bad.to_str().unwrap(),
            "--out",
            "x.pdf",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a layout document"), "{stderr}");
}

/// With a DEM and a wider east setback, GDAL reads the steep ground as its own layer and a
/// setback line that keeps further from the east side than the uniform setback would.
#[test]
fn steep_ground_and_per_side_setbacks_reach_the_gis_exports() {
    use entmoot_plugin_sdk::fixtures::rural_demo_dem;
    const STEEP_FROM_M: f64 = 300.0;
    let dir = tempfile::tempdir().expect("tempdir");
    let (tif, _) = rural_demo_dem(|x, _| 0.5 * (x - STEEP_FROM_M).max(0.0));
    let terrain = dir.path().join("ground.tif");
    std::fs::write(&terrain, tif).unwrap();
    let program = dir.path().join("program.json");
    std::fs::write(
        &program,
        r#"{"units": "ft", "setback": 20, "side_setbacks": {"east": 100}, "min_spacing": 10,
            "max_coverage": 0.4,
            "assets": [{"name": "Warehouse", "type": "building", "width": 60, "length": 80, "quantity": 3}]}"#,
    )
    .unwrap();
    let out = dir.path().join("plan.shp.zip");
    entmoot(
        dir.path(),
        &[
            "solve",
            "--site",
            fixture("rural_demo.kml").to_str().unwrap(),
            "--program",
            program.to_str().unwrap(),
            "--terrain",
            terrain.to_str().unwrap(),
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let dataset = format!("/vsizip/{}", out.display());
    let features = ogr_features(&dataset);
    let boundary = of_layer(&features, "boundary");
    let positions = boundary[0].positions();
    let west = positions.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let east = positions.iter().map(|p| p.0).fold(f64::MIN, f64::max);
    let latitude = positions.iter().map(|p| p.1).sum::<f64>() / positions.len() as f64;
    let metres_per_degree = 111_319.490_793_273_57 * latitude.to_radians().cos();

    let steep = of_layer(&features, "steep_ground");
    assert_eq!(steep.len(), 1, "{features:?}");
    assert_eq!(steep[0].field("kind"), Some("steep_ground"));
    let max_slope: f64 = steep[0].field("max_slope").unwrap().parse().unwrap();
    assert_eq!(max_slope, 15.0);
    let area: f64 = steep[0].field("area_m2").unwrap().parse().unwrap();
    assert!(area > 1_000.0, "{area}");
    // Within a cell (5 m) and the grid's slant of where the ground starts to rise.
    let steep_west = steep[0]
        .positions()
        .iter()
        .map(|p| p.0)
        .fold(f64::MAX, f64::min);
    assert!(
        (steep_west - west) * metres_per_degree > STEEP_FROM_M - 15.0,
        "steep ground starts {} m east of the boundary",
        (steep_west - west) * metres_per_degree
    );

    let setback = of_layer(&features, "setback");
    assert_eq!(setback.len(), 1);
    let setback_east = setback[0]
        .positions()
        .iter()
        .map(|p| p.0)
        .fold(f64::MIN, f64::max);
    let east_gap_m = (east - setback_east) * metres_per_degree;
    // 100 ft = 30.48 m on the east side (the uniform 20 ft would leave 6.1 m).
    assert!(east_gap_m > 29.0, "{east_gap_m}");
}

/// `value` with `decimals` places and its thousands grouped with commas, as a report
/// prints numbers (written here again, independently of the writer).
fn format_grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::new();
    for (index, digit) in digits.iter().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// The folder a file is in.
fn dir_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Width × height of a binary PGM (`P5`), from its header.
fn pixel_count(pgm: &[u8]) -> usize {
    let header = String::from_utf8_lossy(&pgm[..pgm.len().min(64)]).into_owned();
    let mut numbers = header
        .split_ascii_whitespace()
        .skip(1)
        .map(|word| word.parse::<usize>().unwrap_or(0));
    let width = numbers.next().unwrap_or(0);
    let height = numbers.next().unwrap_or(0);
    width * height
}
