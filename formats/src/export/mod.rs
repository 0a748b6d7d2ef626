//! Exporting one layout to the files planners open elsewhere: GeoJSON (the contract of
//! docs/layout-geojson.md), KML and KMZ with styles, DXF R12 with CAD layers, a zipped Shapefile set,
//! an SVG site plan and a PDF report. One module per format; each turns the same
//! `Scene` (every feature in UTM metres and in WGS84) into bytes.
//!
//! Nothing here invents a figure: earthwork and cost are written as given with the
//! layout, or as "unknown" with the reason when they are not known.

pub mod dxf;
pub mod geojson;
pub mod geopackage;
pub mod kml;
pub mod labels;
pub mod pdf;
pub mod pdf_text;
pub mod shapefile;
pub mod svg;

use entmoot_plugin_sdk::geo::{
    Area, Buffer, Centroid, Geometry, LineString, MultiPolygon, Point, Polygon,
};
use entmoot_plugin_sdk::geojson_out::ShapeKind;
use entmoot_plugin_sdk::metrics::Metrics;
use entmoot_plugin_sdk::projection::{ProjectionError, Projector};
use entmoot_plugin_sdk::{Layout, Problem};
use serde::{Deserialize, Serialize};

/// The file formats a layout can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    GeoJson,
    Kml,
    Kmz,
    Dxf,
    /// `.shp`, `.shx`, `.dbf`, `.prj` and `.cpg` per layer, zipped.
    ShapefileZip,
    /// An OGC GeoPackage: one SQLite file with a feature table per layer.
    GeoPackage,
    Svg,
    Pdf,
    /// The layout document (`*.layout.json`): problem, layout, metrics, earthwork and
    /// cost, which `entmoot export --layout` reads back.
    LayoutJson,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 9] = [
        ExportFormat::GeoJson,
        ExportFormat::Kml,
        ExportFormat::Kmz,
        ExportFormat::Dxf,
        ExportFormat::ShapefileZip,
        ExportFormat::GeoPackage,
        ExportFormat::Svg,
        ExportFormat::Pdf,
        ExportFormat::LayoutJson,
    ];

    /// The format a file name asks for, by its extension (case-insensitive).
    pub fn from_file_name(name: &str) -> Result<ExportFormat, ExportError> {
        let lower = name.to_ascii_lowercase();
        // Longest extensions first: `.layout.json` before `.json`, `.shp.zip` before `.zip`.
        let mut by_length: Vec<ExportFormat> = Self::ALL.to_vec();
        by_length.sort_by_key(|format| std::cmp::Reverse(format.extension().len()));
        by_length
            .into_iter()
            .find(|format| lower.ends_with(format.extension()))
            .or_else(|| lower.ends_with(".json").then_some(ExportFormat::GeoJson))
            .ok_or_else(|| ExportError::UnknownExtension {
                file_name: name.to_owned(),
            })
    }

    /// Parses the names used by the API (`geojson`, `kml`, `kmz`, `dxf`, `shapefile_zip`,
    /// `geopackage`, `svg`, `pdf`, `layout_json`).
    pub fn from_name(name: &str) -> Option<ExportFormat> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::GeoJson => "geojson",
            ExportFormat::Kml => "kml",
            ExportFormat::Kmz => "kmz",
            ExportFormat::Dxf => "dxf",
            ExportFormat::ShapefileZip => "shapefile_zip",
            ExportFormat::GeoPackage => "geopackage",
            ExportFormat::Svg => "svg",
            ExportFormat::Pdf => "pdf",
            ExportFormat::LayoutJson => "layout_json",
        }
    }

    /// The file extension, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::GeoJson => ".geojson",
            ExportFormat::Kml => ".kml",
            ExportFormat::Kmz => ".kmz",
            ExportFormat::Dxf => ".dxf",
            ExportFormat::ShapefileZip => ".shp.zip",
            ExportFormat::GeoPackage => ".gpkg",
            ExportFormat::Svg => ".svg",
            ExportFormat::Pdf => ".pdf",
            ExportFormat::LayoutJson => ".layout.json",
        }
    }

    /// The media type to store and serve the file with.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::GeoJson => "application/geo+json",
            ExportFormat::Kml => "application/vnd.google-earth.kml+xml",
            ExportFormat::Kmz => "application/vnd.google-earth.kmz",
            ExportFormat::Dxf => "image/vnd.dxf",
            ExportFormat::ShapefileZip => "application/zip",
            ExportFormat::GeoPackage => "application/geopackage+sqlite3",
            ExportFormat::Svg => "image/svg+xml",
            ExportFormat::Pdf => "application/pdf",
            ExportFormat::LayoutJson => "application/json",
        }
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Length unit of a CAD drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DrawingUnits {
    #[default]
    #[serde(rename = "m")]
    Metres,
    /// International feet (0.3048 m).
    #[serde(rename = "ft")]
    Feet,
}

impl DrawingUnits {
    /// Metres → drawing units.
    pub fn from_metres(self, metres: f64) -> f64 {
        match self {
            DrawingUnits::Metres => metres,
            DrawingUnits::Feet => metres / entmoot_plugin_sdk::program::METRES_PER_FOOT,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            DrawingUnits::Metres => "m",
            DrawingUnits::Feet => "ft",
        }
    }
}

/// Choices that only some formats use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOptions {
    /// Units of the DXF drawing (metres by default).
    #[serde(default)]
    pub dxf_units: DrawingUnits,
}

/// Everything an export shows. Earthwork and cost are the JSON objects stored with the
/// layout (`{"status":"unknown","reason":…}` when they are not known).
#[derive(Debug, Clone, Copy)]
pub struct ExportInput<'a> {
    pub title: &'a str,
    pub problem: &'a Problem,
    pub layout: &'a Layout,
    pub metrics: &'a Metrics,
    pub earthwork: Option<&'a serde_json::Value>,
    pub cost: Option<&'a serde_json::Value>,
    /// The day the layout was made or exported (`YYYY-MM-DD`), printed on the plans;
    /// none leaves it out, so that a file can be made again byte for byte.
    pub made_on: Option<&'a str>,
}

/// The layout document: what `entmoot solve --out X.layout.json` writes and
/// `entmoot export --layout X.layout.json` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutDocument {
    #[serde(default)]
    pub title: Option<String>,
    pub problem: Problem,
    pub layout: Layout,
    /// Recomputed from problem and layout when absent.
    #[serde(default)]
    pub metrics: Option<Metrics>,
    #[serde(default)]
    pub earthwork: Option<serde_json::Value>,
    #[serde(default)]
    pub cost: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "`{file_name}`: unknown export format; use .geojson, .kml, .kmz, .dxf, .shp.zip, .svg, .pdf or .layout.json"
    )]
    UnknownExtension { file_name: String },
    #[error("projecting {what} back to WGS84 failed: {source}")]
    Projection {
        what: String,
        #[source]
        source: ProjectionError,
    },
    #[error("{what}: coordinate ({x}, {y}) is not finite")]
    NotFinite { what: String, x: f64, y: f64 },
    #[error("writing the {format} file failed: {reason}")]
    Write {
        format: &'static str,
        reason: String,
    },
}

/// What a feature of the scene is; decides its layer and style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    Boundary,
    /// The setback line: the boundary inset by the setbacks, per side where the program
    /// gives one.
    Setback,
    Exclusion,
    /// Ground steeper than the program's `max_slope_percent`, kept free of footprints.
    SteepGround,
    Entrance,
    Asset,
    Road,
}

impl FeatureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Boundary => "boundary",
            FeatureKind::Setback => "setback",
            FeatureKind::Exclusion => "exclusion",
            FeatureKind::SteepGround => "steep_ground",
            FeatureKind::Entrance => "entrance",
            FeatureKind::Asset => "asset",
            FeatureKind::Road => "road",
        }
    }
}

/// An attribute value of a feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
}

impl Value {
    pub fn display(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Number(number) => format_number(*number),
        }
    }

    /// Full precision, for attribute tables (18.288, not 18.29).
    pub fn display_full(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Number(number) => {
                let rounded = (number * 1e9).round() / 1e9;
                if rounded == 0.0 {
                    "0".into()
                } else {
                    rounded.to_string()
                }
            }
        }
    }
}

/// One thing drawn: its geometry in metres and in WGS84, and its attributes.
#[derive(Debug, Clone)]
pub struct SceneFeature {
    pub kind: FeatureKind,
    /// A short name for labels and KML placemarks.
    pub label: String,
    pub metres: Geometry<f64>,
    pub wgs84: Geometry<f64>,
    /// Ordered attributes (the same in every format).
    pub attributes: Vec<(&'static str, Value)>,
}

impl SceneFeature {
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

/// The features of one layout in drawing order (boundary first, labels on top).
#[derive(Debug, Clone)]
pub struct Scene {
    pub title: String,
    pub epsg: u32,
    pub features: Vec<SceneFeature>,
}

impl Scene {
    pub fn build(input: &ExportInput<'_>) -> Result<Scene, ExportError> {
        let problem = input.problem;
        let projector =
            problem
                .projection
                .projector()
                .map_err(|source| ExportError::Projection {
                    what: "the problem's projection".into(),
                    source,
                })?;
        let mut features = Vec::new();
        let mut push = |kind: FeatureKind,
                        label: String,
                        metres: Geometry<f64>,
                        attributes: Vec<(&'static str, Value)>|
         -> Result<(), ExportError> {
            let what = format!("{} `{label}`", kind.as_str());
            check_finite(&what, &metres)?;
            let wgs84 = to_wgs84(&projector, &metres, &what)?;
            features.push(SceneFeature {
                kind,
                label,
                metres,
                wgs84,
                attributes,
            });
            Ok(())
        };
        push(
            FeatureKind::Boundary,
            "Boundary".into(),
            Geometry::MultiPolygon(problem.boundary_m.clone()),
            vec![
                ("kind", Value::Text("boundary".into())),
                ("name", Value::Text("Boundary".into())),
                ("area_m2", Value::Number(problem.boundary_area_m2)),
            ],
        )?;
        // Problems prepared before the setback line was kept have only the uniform one.
        let setback_line = if !problem.setback_line_m.0.is_empty() {
            problem.setback_line_m.clone()
        } else if problem.setback_m > 0.0 {
            problem.boundary_m.buffer(-problem.setback_m)
        } else {
            MultiPolygon::new(vec![])
        };
        if !setback_line.0.is_empty() {
            push(
                FeatureKind::Setback,
                format!("Setback {} m", format_number(problem.setback_m)),
                Geometry::MultiPolygon(setback_line.clone()),
                vec![
                    ("kind", Value::Text("setback".into())),
                    ("name", Value::Text("Setback line".into())),
                    ("setback_m", Value::Number(problem.setback_m)),
                    ("area_m2", Value::Number(setback_line.unsigned_area())),
                ],
            )?;
        }
        for (index, exclusion) in problem.exclusions_m.iter().enumerate() {
            let name = exclusion
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", exclusion.kind, index + 1));
            push(
                FeatureKind::Exclusion,
                name.clone(),
                Geometry::MultiPolygon(exclusion.keep_out.clone()),
                vec![
                    ("kind", Value::Text("exclusion".into())),
                    ("name", Value::Text(name)),
                    ("exclusion_kind", Value::Text(exclusion.kind.to_string())),
                    ("buffer_m", Value::Number(exclusion.buffer_m)),
                    ("source", Value::Text(exclusion.source.clone())),
                    ("area_m2", Value::Number(exclusion.keep_out.unsigned_area())),
                ],
            )?;
        }
        if !problem.steep_ground_m.0.is_empty() {
            let name = format!(
                "Steeper than {} %",
                format_number(problem.max_slope_percent)
            );
            push(
                FeatureKind::SteepGround,
                name.clone(),
                Geometry::MultiPolygon(problem.steep_ground_m.clone()),
                vec![
                    ("kind", Value::Text("steep_ground".into())),
                    ("name", Value::Text(name)),
                    (
                        "max_slope_percent",
                        Value::Number(problem.max_slope_percent),
                    ),
                    (
                        "area_m2",
                        Value::Number(problem.steep_ground_m.unsigned_area()),
                    ),
                ],
            )?;
        }
        for (index, entrance) in problem.entrances_m.iter().enumerate() {
            push(
                FeatureKind::Entrance,
                format!("Entrance {}", index + 1),
                Geometry::Point(Point::new(entrance[0], entrance[1])),
                vec![
                    ("kind", Value::Text("entrance".into())),
                    ("name", Value::Text(format!("Entrance {}", index + 1))),
                    ("index", Value::Number(index as f64)),
                ],
            )?;
        }
        for (road_index, road) in input.layout.roads.iter().enumerate() {
            let number = road_index + 1;
            let mut attributes = vec![
                ("kind", Value::Text("road".into())),
                ("name", Value::Text(format!("Road {number}"))),
                ("width", Value::Number(road.width_m)),
                ("length_m", Value::Number(road.length_m())),
            ];
            // The road class, when the sdk's road carries one (read through serde so this
            // module does not depend on the field).
            if let Some(class) = serde_json::to_value(road)
                .ok()
                .and_then(|value| value.get("class")?.as_str().map(str::to_owned))
            {
                attributes.push(("class", Value::Text(class)));
            }
            push(
                FeatureKind::Road,
                format!("Road {number}"),
                Geometry::LineString(LineString::from(road.points.clone())),
                attributes,
            )?;
        }
        for asset in &input.layout.assets {
            push(
                FeatureKind::Asset,
                asset.name.clone(),
                Geometry::Polygon(asset.footprint()),
                vec![
                    ("kind", Value::Text("asset".into())),
                    ("asset_id", Value::Text(asset.asset_id.clone())),
                    ("name", Value::Text(asset.name.clone())),
                    ("asset_type", Value::Text(asset.asset_type.to_string())),
                    ("width", Value::Number(asset.width_m)),
                    ("length", Value::Number(asset.length_m)),
                    ("rotation", Value::Number(asset.rotation_deg)),
                    (
                        "shape",
                        Value::Text(ShapeKind::from(&asset.shape).as_str().into()),
                    ),
                    ("area_m2", Value::Number(asset.area_m2())),
                ],
            )?;
        }
        Ok(Scene {
            title: input.title.to_owned(),
            epsg: problem.projection.epsg(),
            features,
        })
    }

    /// The angle from UTM grid north to true north at the parcel, degrees, positive when
    /// true north is counter-clockwise (west) of grid north: a line along a true-north
    /// meridian has this `rotation` in the grid. `atan(tan(Δλ) sin φ)` with Δλ from the
    /// zone's central meridian; `None` when the scene is not in a UTM zone.
    pub fn grid_convergence_deg(&self) -> Option<f64> {
        let zone = match self.epsg {
            32601..=32660 => self.epsg - 32600,
            32701..=32760 => self.epsg - 32700,
            _ => return None,
        };
        let centre = self.features.first()?.wgs84.centroid()?;
        let central_meridian = -183.0 + 6.0 * f64::from(zone);
        let delta = (centre.x() - central_meridian).to_radians();
        Some(
            (delta.tan() * centre.y().to_radians().sin())
                .atan()
                .to_degrees(),
        )
    }

    /// Which north a plan shows, for its caption.
    pub fn north_caption(&self) -> String {
        match self.grid_convergence_deg() {
            Some(angle) => format!(
                "UTM grid north up; true north is {:.3}° {} of grid north",
                angle.abs(),
                if angle >= 0.0 { "west" } else { "east" }
            ),
            None => "grid north up".to_owned(),
        }
    }

    pub fn of_kind(&self, kind: FeatureKind) -> impl Iterator<Item = &SceneFeature> {
        self.features.iter().filter(move |f| f.kind == kind)
    }

    /// The bounding box of every feature in metres: `[min_x, min_y, max_x, max_y]`.
    pub fn bounds_m(&self) -> [f64; 4] {
        let mut bounds = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for feature in &self.features {
            let [min_x, min_y, max_x, max_y] = bounds_of(&feature.metres);
            bounds = [
                bounds[0].min(min_x),
                bounds[1].min(min_y),
                bounds[2].max(max_x),
                bounds[3].max(max_y),
            ];
        }
        if !bounds.iter().all(|b| b.is_finite()) {
            return [0.0, 0.0, 1.0, 1.0];
        }
        bounds
    }
}

/// Renders a layout in one format.
pub fn export_layout(
    format: ExportFormat,
    input: &ExportInput<'_>,
    options: &ExportOptions,
) -> Result<Vec<u8>, ExportError> {
    if format == ExportFormat::LayoutJson {
        let document = LayoutDocument {
            title: Some(input.title.to_owned()),
            problem: input.problem.clone(),
            layout: input.layout.clone(),
            metrics: Some(input.metrics.clone()),
            earthwork: input.earthwork.cloned(),
            cost: input.cost.cloned(),
        };
        return serde_json::to_vec_pretty(&document).map_err(|error| ExportError::Write {
            format: "layout JSON",
            reason: error.to_string(),
        });
    }
    if format == ExportFormat::GeoJson {
        return geojson::write(input);
    }
    let scene = Scene::build(input)?;
    match format {
        ExportFormat::Kml => Ok(kml::write_kml(&scene).into_bytes()),
        ExportFormat::Kmz => kml::write_kmz(&scene),
        ExportFormat::Dxf => Ok(dxf::write(&scene, options.dxf_units).into_bytes()),
        ExportFormat::ShapefileZip => shapefile::write_zip(&scene),
        ExportFormat::GeoPackage => geopackage::write(&scene),
        ExportFormat::Svg => Ok(svg::write(&scene).into_bytes()),
        ExportFormat::Pdf => pdf::write(&scene, input),
        ExportFormat::GeoJson | ExportFormat::LayoutJson => Err(ExportError::Write {
            format: format.as_str(),
            reason: "handled above".into(),
        }),
    }
}

fn to_wgs84(
    projector: &Projector,
    geometry: &Geometry<f64>,
    what: &str,
) -> Result<Geometry<f64>, ExportError> {
    projector
        .geometry_to_wgs84(geometry)
        .map_err(|source| ExportError::Projection {
            what: what.to_owned(),
            source,
        })
}

fn check_finite(what: &str, geometry: &Geometry<f64>) -> Result<(), ExportError> {
    for (x, y) in coords_of(geometry) {
        if !x.is_finite() || !y.is_finite() {
            return Err(ExportError::NotFinite {
                what: what.to_owned(),
                x,
                y,
            });
        }
    }
    Ok(())
}

/// Every coordinate of a geometry, as `(x, y)`.
/// `[min_x, min_y, max_x, max_y]` of a geometry; infinite bounds for an empty one.
pub fn bounds_of(geometry: &Geometry<f64>) -> [f64; 4] {
    coords_of(geometry).into_iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |bounds, (x, y)| {
            [
                bounds[0].min(x),
                bounds[1].min(y),
                bounds[2].max(x),
                bounds[3].max(y),
            ]
        },
    )
}

pub fn coords_of(geometry: &Geometry<f64>) -> Vec<(f64, f64)> {
    use entmoot_plugin_sdk::geo::CoordsIter;
    geometry.coords_iter().map(|c| (c.x, c.y)).collect()
}

/// The polygons of an areal geometry (none for points and lines).
pub fn polygons_of(geometry: &Geometry<f64>) -> Vec<&Polygon<f64>> {
    match geometry {
        Geometry::Polygon(polygon) => vec![polygon],
        Geometry::MultiPolygon(multi) => multi.0.iter().collect(),
        _ => Vec::new(),
    }
}

/// Where to put a feature's label, in metres.
pub fn label_point(geometry: &Geometry<f64>) -> Option<(f64, f64)> {
    match geometry {
        Geometry::LineString(line) if line.0.len() >= 2 => {
            let middle = line.0.len() / 2;
            let (a, b) = (line.0[middle - 1], line.0[middle]);
            Some(((a.x + b.x) / 2.0, (a.y + b.y) / 2.0))
        }
        other => other.centroid().map(|point| (point.x(), point.y())),
    }
}

/// A number for people: up to two decimals, no trailing zeros, no `-0`.
/// A number as a report prints it: `decimals` places, thousands grouped with commas,
/// and never a negative zero ("-0.0" when nothing is placed reads as an error).
///
/// ```
/// use entmoot_formats::export::format_grouped;
/// assert_eq!(format_grouped(1234567.891, 2), "1,234,567.89");
/// assert_eq!(format_grouped(-0.0001, 1), "0.0");
/// assert_eq!(format_grouped(-1234.6, 0), "-1,235");
/// ```
pub fn format_grouped(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::with_capacity(text.len() + whole.len() / 3);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    if value.is_sign_negative() && !is_zero {
        format!("-{grouped}")
    } else {
        grouped
    }
}

pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let rounded = (value * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    if text == "-0" { "0".into() } else { text }
}

/// XML text escaping (for KML and SVG).
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
    use entmoot_plugin_sdk::geo::Centroid;
    use entmoot_plugin_sdk::metrics::{Metrics, layout_metrics};
    use entmoot_plugin_sdk::prepare::prepare_problem;
    use entmoot_plugin_sdk::{Layout, PlacedAsset, Problem, Road};

    /// The rural demo with two buildings and one road.
    pub(crate) fn demo() -> (Problem, Layout, Metrics) {
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(2)).unwrap();
        let c = problem.buildable_m.centroid().unwrap();
        let place = |index: usize, dx: f64| {
            let spec = &problem.assets[index];
            PlacedAsset {
                asset_id: spec.asset_id.clone(),
                name: spec.name.clone(),
                asset_type: spec.asset_type,
                center: [c.x() + dx, c.y()],
                width_m: spec.width_m,
                length_m: spec.length_m,
                rotation_deg: 0.0,
                shape: Default::default(),
            }
        };
        let layout = Layout {
            assets: vec![place(0, -30.0), place(1, 30.0)],
            roads: vec![
                serde_json::from_value::<Road>(serde_json::json!({
                    "points": [problem.entrances_m[0], [c.x(), c.y() - 40.0]],
                    "width_m": 6.0,
                }))
                .unwrap(),
            ],
        };
        let metrics = layout_metrics(&problem, &layout);
        (problem, layout, metrics)
    }

    /// The demo's scene, titled `title`: what every writer's test draws.
    pub(crate) fn demo_scene(title: &str) -> super::Scene {
        let (problem, layout, metrics) = demo();
        super::Scene::build(&super::ExportInput {
            title,
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        })
        .unwrap()
    }

    /// The demo exported as `format`, with default options.
    pub(crate) fn demo_export(format: super::ExportFormat) -> Vec<u8> {
        let (problem, layout, metrics) = demo();
        let input = super::ExportInput {
            title: "Demo",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        };
        super::export_layout(format, &input, &super::ExportOptions::default()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(
            ExportFormat::from_file_name("plan.SHP.zip").unwrap(),
            ExportFormat::ShapefileZip
        );
        assert_eq!(
            ExportFormat::from_file_name("a/b.layout.json").unwrap(),
            ExportFormat::LayoutJson
        );
        assert_eq!(
            ExportFormat::from_file_name("x.json").unwrap(),
            ExportFormat::GeoJson
        );
        let error = ExportFormat::from_file_name("plan.zip").unwrap_err();
        assert!(error.to_string().contains("`plan.zip`"), "{error}");
        for format in ExportFormat::ALL {
            assert_eq!(ExportFormat::from_name(format.as_str()), Some(format));
            assert_eq!(
                ExportFormat::from_file_name(&format!("f{}", format.extension())).unwrap(),
                format
            );
        }
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(format_number(18.288), "18.29");
        assert_eq!(format_number(6.0), "6");
        assert_eq!(format_number(-0.001), "0");
    }

    #[test]
    fn the_scene_has_every_part_in_order() {
        let (problem, layout, metrics) = test_support::demo();
        let input = ExportInput {
            title: "Demo",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        };
        let scene = Scene::build(&input).unwrap();
        let kinds: Vec<&str> = scene.features.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["boundary", "setback", "entrance", "road", "asset", "asset"]
        );
        for format in ExportFormat::ALL {
            let bytes = export_layout(format, &input, &ExportOptions::default()).unwrap();
            assert!(bytes.len() > 100, "{format}");
        }
    }

    /// The rural demo with a setback three times wider on the east side and ground east of
    /// 300 m (from the parcel's west edge) rising at 50 %.
    #[test]
    fn the_setback_line_follows_per_side_setbacks_and_steep_ground_has_its_own_layer() {
        use entmoot_plugin_sdk::fixtures::{rural_demo_dem, rural_demo_program, rural_demo_site};
        use entmoot_plugin_sdk::geo::{BooleanOps, BoundingRect};
        use entmoot_plugin_sdk::prepare::prepare_problem_with_terrain;
        use entmoot_plugin_sdk::program::Side;

        let (_, layout, _) = test_support::demo();
        let mut program = rural_demo_program(2);
        program
            .side_setbacks
            .insert(Side::East, program.setback * 3.0);
        let (dem, _) = rural_demo_dem(|x, _| if x > 300.0 { (x - 300.0) * 0.5 } else { 0.0 });
        let dem = entmoot_plugin_sdk::geotiff::Dem::from_geotiff(&dem).unwrap();
        let problem =
            prepare_problem_with_terrain(&rural_demo_site(), &program, Some(&dem)).unwrap();
        let metrics = entmoot_plugin_sdk::metrics::layout_metrics(&problem, &layout);
        let input = ExportInput {
            title: "Sides and slopes",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        };
        let scene = Scene::build(&input).unwrap();

        let setback = scene.of_kind(FeatureKind::Setback).next().unwrap();
        let Geometry::MultiPolygon(line) = &setback.metres else {
            panic!("{:?}", setback.metres)
        };
        let uniform = problem.boundary_m.buffer(-problem.setback_m);
        let east_extra_m = 2.0 * problem.setback_m;
        let east_side_m = problem.boundary_m.bounding_rect().unwrap().height();
        // The wider east setback takes a strip about its extra width by the east side's
        // length away from the uniform inset, and nothing more than that.
        let taken = uniform.unsigned_area() - line.unsigned_area();
        assert!(taken > 0.5 * east_extra_m * east_side_m, "{taken}");
        assert!(taken < 1.5 * east_extra_m * east_side_m, "{taken}");
        assert!(
            line.bounding_rect().unwrap().max().x
                < uniform.bounding_rect().unwrap().max().x - 0.9 * east_extra_m
        );

        let steep: Vec<&SceneFeature> = scene.of_kind(FeatureKind::SteepGround).collect();
        assert_eq!(steep.len(), 1);
        let Geometry::MultiPolygon(steep_area) = &steep[0].metres else {
            panic!("{:?}", steep[0].metres)
        };
        let west = problem.boundary_m.bounding_rect().unwrap().min().x;
        assert!(steep_area.bounding_rect().unwrap().min().x > west + 290.0);
        assert!(steep_area.unsigned_area() > 1_000.0);
        assert!(problem.buildable_m.intersection(steep_area).unsigned_area() < 1.0);
        assert_eq!(
            steep[0].attribute("max_slope_percent"),
            Some(&Value::Number(problem.max_slope_percent))
        );

        let text = |format| {
            let bytes = export_layout(format, &input, &ExportOptions::default()).unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        assert!(text(ExportFormat::Kml).contains("<name>Steep ground</name>"));
        assert!(text(ExportFormat::Dxf).contains("STEEP_GROUND"));
        let geojson: serde_json::Value =
            serde_json::from_str(&text(ExportFormat::GeoJson)).unwrap();
        assert!(
            geojson["features"]
                .as_array()
                .unwrap()
                .iter()
                .any(|feature| feature["properties"]["kind"] == "steep_ground")
        );
        assert!(text(ExportFormat::ShapefileZip).contains("steep_ground.shp"));
    }
}
