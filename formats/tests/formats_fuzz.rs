//! Bounded fuzzing of every parser (a seeded mutation loop over real fixtures, run in CI
//! by `cargo test`): KML, GeoJSON, KMZ, the Shapefile pieces (.shp, .dbf, .prj WKT and
//! the zip), DXF, GeoTIFF and the format dispatcher. Each target runs a fixed number of
//! mutated inputs or until its time budget is spent, whichever comes first, and asserts
//! that no input makes a parser panic (an error is fine). A failure prints the seed and
//! iteration that reproduce it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use entmoot_formats::crs::Crs;
use entmoot_formats::export::{ExportFormat, ExportInput, ExportOptions, export_layout};
use entmoot_formats::{
    ImportOptions, archive, dxf, geojson_site, geotiff, kml, kmz, read_site_file_with, shapefile,
};
use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::geo::Centroid;
use entmoot_plugin_sdk::geotiff::{Dem, DemCrs};
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{Layout, PlacedAsset};

const ITERATIONS: usize = 3_000;
const BUDGET: Duration = Duration::from_secs(20);
const MINIMUM_ITERATIONS: usize = 200;
const SEED: u64 = 0x5eed_e470_0007;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens that tend to reach error paths: numbers at the edges, markup, group codes.
const TOKENS: &[&[u8]] = &[
    b"nan",
    b"NaN",
    b"inf",
    b"-1",
    b"0",
    b"1e308",
    b"-1e308",
    b"99999999999999999999",
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"\"",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE x>",
    b"<Polygon>",
    b"</Polygon>",
    b"<outerBoundaryIs>",
    b"<innerBoundaryIs>",
    b"<coordinates>",
    b"<MultiGeometry>",
    b",",
    b" ",
    b"\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"\"type\"",
    b"\"Polygon\"",
    b"\"GeometryCollection\"",
    b"\"coordinates\":[[[",
    b"  0\r\nSECTION",
    b"  0\r\nLWPOLYLINE",
    b"  0\r\nHATCH",
    b" 91\r\n999999",
    b" 93\r\n-5",
    b" 70\r\n1",
    b" 10\r\n",
    b" 20\r\n",
    b"PARAMETER[",
    b"PROJCS[",
    b"AUTHORITY[\"EPSG\",\"",
    b"UNIT[\"x\",0]",
    b"\xff\xff\xff\x7f",
    b"\x00\x00\x00\x80",
    b"\xff\xff\xff\xff\xff\xff\xef\x7f",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 if !data.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(256)).min(data.len());
                let copy = data[start..end].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, copy);
            }
            4 => data.truncate(at),
            5 if data.len() >= 4 => {
                // Overwrite four bytes with an interesting little- or big-endian integer.
                let i = rng.below(data.len() - 3);
                let value = [0u32, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX, 100_000][rng.below(6)];
                data[i..i + 4].copy_from_slice(&value.to_le_bytes());
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
        }
    }
    data
}

/// Runs `parse` on mutations of the seeds; fails with the reproducing seed on a panic.
fn fuzz(name: &str, seeds: &[Vec<u8>], parse: impl Fn(&[u8])) {
    let started = Instant::now();
    let mut rng = Rng(SEED ^ name.len() as u64 ^ (name.as_bytes()[0] as u64) << 32);
    let mut runs = 0;
    // The seeds themselves must not panic either.
    for seed in seeds {
        catch_unwind(AssertUnwindSafe(|| parse(seed)))
            .unwrap_or_else(|_| panic!("{name}: an unmutated seed panicked"));
    }
    // At least MINIMUM_ITERATIONS whatever the machine's load, more while the budget
    // lasts: the coverage never depends on how busy the machine is.
    while runs < ITERATIONS && (runs < MINIMUM_ITERATIONS || started.elapsed() < BUDGET) {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        if catch_unwind(AssertUnwindSafe(|| parse(&input))).is_err() {
            let shown: String = String::from_utf8_lossy(&input).chars().take(2000).collect();
            panic!(
                "{name}: iteration {runs} panicked on this input ({} bytes):\n{shown}",
                input.len()
            );
        }
        runs += 1;
    }
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

fn demo_exports() -> Vec<(ExportFormat, Vec<u8>)> {
    let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(2)).unwrap();
    let c = problem.buildable_m.centroid().unwrap();
    let layout = Layout {
        assets: problem
            .assets
            .iter()
            .enumerate()
            .map(|(i, spec)| PlacedAsset {
                asset_id: spec.asset_id.clone(),
                name: format!("Bâtiment {i}"),
                asset_type: spec.asset_type,
                center: [c.x() + 30.0 * i as f64, c.y()],
                width_m: spec.width_m,
                length_m: spec.length_m,
                rotation_deg: 15.0,
                shape: Default::default(),
            })
            .collect(),
        roads: Vec::new(),
    };
    let metrics = layout_metrics(&problem, &layout);
    let input = ExportInput {
        title: "Fuzz",
        problem: &problem,
        layout: &layout,
        metrics: &metrics,
        earthwork: None,
        cost: None,
        made_on: None,
    };
    [
        ExportFormat::Kml,
        ExportFormat::Kmz,
        ExportFormat::Dxf,
        ExportFormat::ShapefileZip,
        ExportFormat::GeoJson,
        ExportFormat::GeoPackage,
    ]
    .into_iter()
    .map(|format| {
        (
            format,
            export_layout(format, &input, &ExportOptions::default()).unwrap(),
        )
    })
    .collect()
}

fn export_of(format: ExportFormat) -> Vec<u8> {
    demo_exports()
        .into_iter()
        .find(|(f, _)| *f == format)
        .unwrap()
        .1
}

fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    archive::read_entries(bytes, "test", |_| true)
        .unwrap()
        .into_iter()
        .map(|entry| (entry.name, entry.bytes))
        .collect()
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const EXTENDED_KML: &str = r#"<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>Site</name>
<Placemark><name>Parcel &amp; lot</name><description><![CDATA[<b>x</b>]]></description><ExtendedData><Data name="apn"><value>1-2</value></Data><SchemaData><SimpleData name="z">A</SimpleData></SchemaData></ExtendedData>
<MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>-103.402,39.350 -103.397,39.350 -103.397,39.354 -103.402,39.354 -103.402,39.350</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>-103.400,39.351 -103.400,39.352 -103.399,39.352 -103.399,39.351</coordinates></LinearRing></innerBoundaryIs></Polygon></MultiGeometry></Placemark>
<Placemark><name>North pond</name><Polygon><outerBoundaryIs><LinearRing><coordinates>-103.399,39.352 -103.398,39.352 -103.398,39.353 -103.399,39.352</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Folder></Document></kml>"#;

#[test]
fn kml_parser_survives_mutations() {
    let seeds = vec![
        include_bytes!("../../tests/fixtures/rural_demo.kml").to_vec(),
        include_bytes!("../../tests/fixtures/simple.kml").to_vec(),
        include_bytes!("../../tests/fixtures/malformed.kml").to_vec(),
        EXTENDED_KML.as_bytes().to_vec(),
        export_of(ExportFormat::Kml),
    ];
    fuzz("kml", &seeds, |bytes| {
        if let Some(text) = text(bytes) {
            let _ = kml::read_polygons(text);
        }
    });
}

#[test]
fn geojson_parser_survives_mutations() {
    let seeds = vec![
        entmoot_plugin_sdk::fixtures::RURAL_DEMO_GEOJSON.as_bytes().to_vec(),
        export_of(ExportFormat::GeoJson),
        br#"{"type":"GeometryCollection","geometries":[{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]],[[0.2,0.1],[0.8,0.1],[0.8,0.7],[0.2,0.1]]]]}]}"#.to_vec(),
    ];
    fuzz("geojson", &seeds, |bytes| {
        if let Some(text) = text(bytes) {
            let _ = geojson_site::read_polygons(text);
        }
    });
}

#[test]
fn kmz_and_zip_reading_survive_mutations() {
    let seeds = vec![
        export_of(ExportFormat::Kmz),
        export_of(ExportFormat::ShapefileZip),
    ];
    fuzz("kmz", &seeds, |bytes| {
        let _ = kmz::read_polygons(bytes);
    });
    // Mutating inside the archive (CRCs stay valid) reaches the KML parser too.
    let entries = zip_entries(&export_of(ExportFormat::Kmz));
    let inner: Vec<Vec<u8>> = entries.iter().map(|(_, bytes)| bytes.clone()).collect();
    fuzz("kmz-content", &inner, |bytes| {
        let _ = kmz::read_polygons(&zip_of(&[("doc.kml".into(), bytes.to_vec())]));
    });
}

#[test]
fn shapefile_parts_survive_mutations() {
    let entries = zip_entries(&export_of(ExportFormat::ShapefileZip));
    let of = |extension: &str| -> Vec<Vec<u8>> {
        entries
            .iter()
            .filter(|(name, _)| name.ends_with(extension))
            .map(|(_, bytes)| bytes.clone())
            .collect()
    };
    fuzz("shp", &of(".shp"), |bytes| {
        let _ = shapefile::read_shp(bytes, "fuzz.shp");
    });
    fuzz("dbf", &of(".dbf"), |bytes| {
        let _ = shapefile::read_dbf(bytes, "fuzz.dbf", true);
        let _ = shapefile::read_dbf(bytes, "fuzz.dbf", false);
    });
    let mut prj = of(".prj");
    prj.push(br#"PROJCS["NAD_1983_StatePlane_Colorado_Central_FIPS_0502_Feet",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",3000000.000316083],PARAMETER["False_Northing",999999.999996],PARAMETER["Central_Meridian",-105.5],PARAMETER["Standard_Parallel_1",38.45],PARAMETER["Standard_Parallel_2",39.75],PARAMETER["Latitude_Of_Origin",37.83333333333334],UNIT["Foot_US",0.3048006096012192]]"#.to_vec());
    prj.push(br#"PROJCS["WGS_1984_UTM_Zone_13N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["Central_Meridian",-105.0],PARAMETER["Scale_Factor",0.9996],UNIT["Meter",1.0]]"#.to_vec());
    fuzz("prj", &prj, |bytes| {
        if let Ok(crs) = Crs::from_wkt(&String::from_utf8_lossy(bytes), "fuzz.prj")
            && let Ok(to) = crs.transformer("fuzz")
        {
            let _ = to.convert(500_000.0, 4_000_000.0);
            let _ = to.convert(3_000_000.0, 1_700_000.0);
        }
    });
    let whole = export_of(ExportFormat::ShapefileZip);
    fuzz("shapefile-zip", &[whole], |bytes| {
        let _ = shapefile::read_polygons(bytes, None);
    });
    let shp_seeds = of(".shp");
    fuzz("shapefile-content", &shp_seeds, |bytes| {
        let mut mutated = entries.clone();
        for (name, content) in &mut mutated {
            if name == "assets.shp" {
                *content = bytes.to_vec();
            }
        }
        let _ = shapefile::read_polygons(&zip_of(&mutated), None);
    });
}

#[test]
fn dxf_parser_survives_mutations() {
    let crs = Crs::from_epsg(32613).unwrap();
    let hatch = "  0\nSECTION\n  2\nENTITIES\n  0\nHATCH\n  8\nLOT\n 91\n2\n 92\n2\n 72\n0\n 73\n1\n 93\n4\n 10\n637700\n 20\n4356900\n 10\n637800\n 20\n4356900\n 10\n637800\n 20\n4357000\n 10\n637700\n 20\n4357000\n 92\n1\n 93\n2\n 72\n1\n 10\n637720\n 20\n4356920\n 11\n637740\n 21\n4356920\n 72\n2\n 10\n637730\n 20\n4356940\n 40\n10\n 50\n0\n 51\n180\n 73\n1\n  0\nENDSEC\n  0\nEOF\n";
    let seeds = vec![export_of(ExportFormat::Dxf), hatch.as_bytes().to_vec()];
    fuzz("dxf", &seeds, |bytes| {
        let _ = dxf::read_polygons(bytes, Some(&crs));
    });
}

#[test]
fn geotiff_reader_survives_mutations() {
    let seeds: Vec<Vec<u8>> = [
        DemCrs::Utm {
            zone: 13,
            south: false,
        },
        DemCrs::Geographic,
    ]
    .into_iter()
    .map(|crs| {
        let (origin, pixel) = match crs {
            DemCrs::Geographic => ([-103.402, 39.354], [0.0001, 0.0001]),
            DemCrs::Utm { .. } => ([637_600.0, 4_357_000.0], [10.0, 10.0]),
        };
        Dem {
            width: 6,
            height: 5,
            values: (0..30)
                .map(|v| if v == 7 { f64::NAN } else { f64::from(v) })
                .collect(),
            crs,
            origin,
            pixel,
        }
        .to_geotiff()
        .unwrap()
    })
    .collect();
    fuzz("geotiff", &seeds, |bytes| {
        let _ = geotiff::read_dem(bytes);
    });
}

/// A stranger's SQLite file: flipped bits, overwritten counts and cut pages must give a
/// refusal, never a panic or a hang.
#[test]
fn geopackage_reader_survives_mutations() {
    let seeds = vec![export_of(ExportFormat::GeoPackage)];
    fuzz("geopackage", &seeds, |bytes| {
        let _ = entmoot_formats::geopackage::read_polygons(bytes, None);
    });
}

#[test]
fn the_dispatcher_survives_mutations_of_every_format() {
    let mut seeds: Vec<Vec<u8>> = demo_exports().into_iter().map(|(_, bytes)| bytes).collect();
    seeds.push(EXTENDED_KML.as_bytes().to_vec());
    let options = ImportOptions {
        crs: Some(Crs::from_epsg(32613).unwrap()),
        boundary: None,
    };
    fuzz("dispatcher", &seeds, |bytes| {
        let _ = read_site_file_with(bytes, &options);
    });
}
