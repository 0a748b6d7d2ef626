//! Independent readers for exported files: GDAL's `ogrinfo`/`ogr2ogr` (Debian's
//! gdal-bin) and poppler's `pdftotext`. A missing tool fails the test with the package
//! to install (tests/run installs both); it never skips.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// One feature as `ogrinfo -al` prints it.
#[derive(Debug, Clone)]
pub struct OgrFeature {
    pub layer: String,
    pub fields: HashMap<String, String>,
    /// The geometry's WKT (`POLYGON ((…))`), empty without geometry.
    pub wkt: String,
}

impl OgrFeature {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The geometry's positions as `(x, y)` (Z dropped).
    pub fn positions(&self) -> Vec<(f64, f64)> {
        wkt_positions(&self.wkt)
    }
}

/// Runs a tool, failing with the Debian package that provides it when it is missing.
pub fn run_tool(program: &str, args: &[&str], package: &str) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|error| {
        panic!("`{program}` could not be run ({error}): install Debian's {package} (tests/run does)")
    });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every feature of every layer of a dataset, read by GDAL.
pub fn ogr_features(dataset: &str) -> Vec<OgrFeature> {
    let text = run_tool("ogrinfo", &["-ro", "-al", "-q", dataset], "gdal-bin");
    parse_ogrinfo(&text)
}

pub fn parse_ogrinfo(text: &str) -> Vec<OgrFeature> {
    let mut features = Vec::new();
    let mut current: Option<OgrFeature> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("OGRFeature(") {
            if let Some(feature) = current.take() {
                features.push(feature);
            }
            let layer = rest.split("):").next().unwrap_or_default().to_owned();
            current = Some(OgrFeature {
                layer,
                fields: HashMap::new(),
                wkt: String::new(),
            });
            continue;
        }
        let Some(feature) = current.as_mut() else {
            continue;
        };
        let Some(body) = line.strip_prefix("  ") else {
            continue;
        };
        let first = body.split([' ', '(']).next().unwrap_or_default();
        if [
            "POINT",
            "LINESTRING",
            "POLYGON",
            "MULTIPOLYGON",
            "MULTILINESTRING",
            "MULTIPOINT",
            "GEOMETRYCOLLECTION",
        ]
        .contains(&first)
        {
            feature.wkt = body.to_owned();
        } else if let Some((name, value)) = body.split_once(" = ") {
            let name = name.split(" (").next().unwrap_or(name).trim().to_owned();
            feature.fields.insert(name, value.to_owned());
        }
    }
    if let Some(feature) = current {
        features.push(feature);
    }
    features
}

/// The positions of a WKT geometry, in order (2D or with Z/M, which are dropped).
pub fn wkt_positions(wkt: &str) -> Vec<(f64, f64)> {
    let header = wkt.split('(').next().unwrap_or_default();
    let dimensions = 2 + header.contains(" Z") as usize + header.contains('M') as usize;
    let body = &wkt[header.len()..];
    let mut positions = Vec::new();
    for tuple in body.split([',', '(', ')']) {
        let numbers: Vec<f64> = tuple
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        if numbers.len() >= 2 && numbers.len() <= dimensions {
            positions.push((numbers[0], numbers[1]));
        }
    }
    positions
}

/// The text of a PDF, laid out, by poppler.
pub fn pdf_text(path: &Path) -> String {
    run_tool(
        "pdftotext",
        &["-layout", path.to_str().expect("utf-8 path"), "-"],
        "poppler-utils",
    )
}

/// Area of a small lon/lat ring in m², on a local equirectangular plane (good to
/// 0.1 % for a parcel-sized ring): independent of the projection code under test.
pub fn lon_lat_area_m2(ring: &[(f64, f64)]) -> f64 {
    let lat0 = ring.iter().map(|p| p.1).sum::<f64>() / ring.len() as f64;
    let metres_per_degree = 111_319.490_793_273_57;
    let (kx, ky) = (
        metres_per_degree * lat0.to_radians().cos(),
        metres_per_degree,
    );
    let twice: f64 = ring
        .windows(2)
        .map(|w| (w[0].0 * kx) * (w[1].1 * ky) - (w[1].0 * kx) * (w[0].1 * ky))
        .sum();
    twice.abs() / 2.0
}
