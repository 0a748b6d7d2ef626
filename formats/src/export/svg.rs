//! SVG site plan: the layout drawn to scale (north up) with a title, labels by name
//! that never overprint each other (`labels.rs`), a legend, a scale bar and a north
//! arrow. The plan geometry (`PlanFrame`, `Paint`) is shared
//! with the PDF report so both draw the same picture.

use std::fmt::Write as _;

use entmoot_plugin_sdk::geo::{Geometry, LineString};

use super::labels::{LabelRequest, LabelStyle, place_labels_with_key, shortened, text_width};
use super::{
    FeatureKind, Scene, SceneFeature, Value, bounds_of, format_number, label_point, polygons_of,
    xml_escape,
};

/// RGB colour in 0..=255.
pub type Rgb = (u8, u8, u8);

/// How a feature is painted.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub stroke: Rgb,
    pub fill: Option<Rgb>,
    pub fill_opacity: f64,
    /// Line width in points / pixels (roads: their paved width to scale instead).
    pub width: f64,
    pub dashed: bool,
}

pub fn paint_of(feature: &SceneFeature) -> Paint {
    let plain = |stroke: Rgb, width: f64| Paint {
        stroke,
        fill: None,
        fill_opacity: 0.0,
        width,
        dashed: false,
    };
    match feature.kind {
        FeatureKind::Boundary => Paint {
            fill: Some((244, 241, 222)),
            fill_opacity: 1.0,
            ..plain((60, 60, 60), 2.0)
        },
        FeatureKind::Setback => Paint {
            dashed: true,
            ..plain((230, 140, 0), 1.0)
        },
        FeatureKind::Exclusion => Paint {
            fill: Some((240, 120, 120)),
            fill_opacity: 0.45,
            ..plain((200, 30, 30), 1.0)
        },
        FeatureKind::SteepGround => Paint {
            fill: Some((140, 90, 30)),
            fill_opacity: 0.35,
            ..plain((140, 90, 30), 0.5)
        },
        FeatureKind::Entrance => Paint {
            fill: Some((20, 160, 20)),
            fill_opacity: 1.0,
            ..plain((0, 100, 0), 1.0)
        },
        // As the web console draws them: the main road darkest, then secondary, access.
        FeatureKind::Road => match feature.attribute("class").map(Value::display).as_deref() {
            Some("main") => plain((51, 51, 51), 1.0),
            Some("secondary") => plain((138, 109, 59), 1.0),
            _ => plain((130, 130, 130), 1.0),
        },
        FeatureKind::Asset => {
            let asset_type = feature
                .attribute("asset_type")
                .map(Value::display)
                .unwrap_or_default();
            let fill = match asset_type.as_str() {
                "building" => (90, 130, 220),
                "parking_lot" => (170, 170, 170),
                "equipment_yard" => (200, 190, 80),
                "storage_tank" => (180, 90, 180),
                "pond" => (90, 190, 230),
                _ => (140, 140, 140),
            };
            Paint {
                fill: Some(fill),
                fill_opacity: 0.85,
                ..plain((30, 50, 110), 1.0)
            }
        }
    }
}

/// One entry of the plan's legend: a filled box, or a line for a road class.
pub struct LegendEntry {
    pub name: String,
    pub paint: Paint,
    pub line: bool,
}

/// An entry per kind of thing drawn, per asset type and per road class, in drawing
/// order: the legend of the SVG and the PDF plan alike.
pub fn legend_entries(scene: &Scene) -> Vec<LegendEntry> {
    let words = |text: String| {
        let text = text.replace('_', " ");
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        }
    };
    let mut entries: Vec<LegendEntry> = Vec::new();
    for feature in &scene.features {
        let (name, line) = match feature.kind {
            FeatureKind::Boundary => ("Boundary".to_owned(), false),
            FeatureKind::Setback => ("Setback line".to_owned(), false),
            FeatureKind::Exclusion => ("Exclusion zone".to_owned(), false),
            FeatureKind::SteepGround => ("Steep ground".to_owned(), false),
            FeatureKind::Entrance => ("Entrance".to_owned(), false),
            FeatureKind::Road => {
                let class = feature
                    .attribute("class")
                    .map(Value::display)
                    .unwrap_or_else(|| "access".to_owned());
                (format!("{} road", words(class)), true)
            }
            FeatureKind::Asset => (
                words(
                    feature
                        .attribute("asset_type")
                        .map(Value::display)
                        .unwrap_or_else(|| "asset".to_owned()),
                ),
                false,
            ),
        };
        if entries.iter().any(|entry| entry.name == name) {
            continue;
        }
        entries.push(LegendEntry {
            name,
            paint: paint_of(feature),
            line,
        });
    }
    entries
}

/// Maps metres to a drawing area (y down), keeping the aspect ratio.
#[derive(Debug, Clone, Copy)]
pub struct PlanFrame {
    pub min_x: f64,
    pub max_y: f64,
    pub scale: f64,
    pub left: f64,
    pub top: f64,
}

impl PlanFrame {
    /// Fits `bounds` (`[min_x, min_y, max_x, max_y]` in metres) into a box.
    pub fn fit(bounds: [f64; 4], left: f64, top: f64, width: f64, height: f64) -> PlanFrame {
        let span_x = (bounds[2] - bounds[0]).max(1e-6);
        let span_y = (bounds[3] - bounds[1]).max(1e-6);
        let scale = (width / span_x).min(height / span_y);
        PlanFrame {
            min_x: bounds[0],
            max_y: bounds[3],
            scale,
            left: left + (width - span_x * scale) / 2.0,
            top: top + (height - span_y * scale) / 2.0,
        }
    }

    /// A point in metres → drawing coordinates (y down).
    pub fn map(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.left + (x - self.min_x) * self.scale,
            self.top + (self.max_y - y) * self.scale,
        )
    }

    /// What the plan labels (assets and exclusions, by name), in drawing units, for
    /// `labels::place_labels`: the same requests for the SVG and the PDF plan.
    pub fn label_requests(&self, scene: &Scene) -> Vec<LabelRequest> {
        scene
            .features
            .iter()
            .filter(|f| matches!(f.kind, FeatureKind::Asset | FeatureKind::Exclusion))
            .filter_map(|feature| {
                let (x, y) = label_point(&feature.metres)?;
                let [min_x, min_y, max_x, max_y] = bounds_of(&feature.metres);
                Some(LabelRequest {
                    text: feature.label.clone(),
                    centre: self.map(x, y),
                    feature_size: ((max_x - min_x) * self.scale, (max_y - min_y) * self.scale),
                })
            })
            .collect()
    }

    /// A round scale-bar length in metres about a fifth of `width` drawing units.
    pub fn scale_bar_m(&self, width: f64) -> f64 {
        let target = width / 5.0 / self.scale;
        let magnitude = 10f64.powf(target.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|step| step * magnitude)
            .rfind(|length| *length <= target)
            .unwrap_or(magnitude)
    }
}

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 800.0;
const MARGIN: f64 = 40.0;
const TITLE_HEIGHT: f64 = 40.0;
const LEGEND_WIDTH: f64 = 180.0;

fn rgb(colour: Rgb) -> String {
    format!("rgb({},{},{})", colour.0, colour.1, colour.2)
}

fn path_data(frame: &PlanFrame, line: &LineString<f64>, close: bool) -> String {
    let mut d = String::new();
    for (index, c) in line.0.iter().enumerate() {
        let (x, y) = frame.map(c.x, c.y);
        let _ = write!(d, "{}{x:.2},{y:.2} ", if index == 0 { 'M' } else { 'L' });
    }
    if close {
        d.push('Z');
    }
    d
}

pub fn write(scene: &Scene) -> String {
    let frame = PlanFrame::fit(
        scene.bounds_m(),
        MARGIN,
        MARGIN + TITLE_HEIGHT,
        WIDTH - 2.0 * MARGIN - LEGEND_WIDTH,
        HEIGHT - 2.0 * MARGIN - TITLE_HEIGHT - 30.0,
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"Helvetica, Arial, sans-serif\">"
    );
    let _ = writeln!(out, "<title>{}</title>", xml_escape(&scene.title));
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        out,
        "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"22\" font-weight=\"bold\">{}</text>",
        MARGIN + 10.0,
        xml_escape(&scene.title)
    );
    let _ = writeln!(
        out,
        "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"12\" fill=\"#555\">Site plan, {}; UTM EPSG:{}</text>",
        MARGIN + 28.0,
        xml_escape(&scene.north_caption()),
        scene.epsg
    );
    for feature in &scene.features {
        let paint = paint_of(feature);
        let class = feature.kind.as_str();
        let dash = if paint.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        match &feature.metres {
            Geometry::Point(point) => {
                let (x, y) = frame.map(point.x(), point.y());
                let _ = writeln!(
                    out,
                    "<circle class=\"{class}\" cx=\"{x:.2}\" cy=\"{y:.2}\" r=\"6\" fill=\"{}\" stroke=\"{}\"/>",
                    rgb(paint.fill.unwrap_or(paint.stroke)),
                    rgb(paint.stroke)
                );
            }
            Geometry::LineString(line) => {
                let width = match feature.attribute("width") {
                    Some(Value::Number(width)) => (width * frame.scale).max(1.0),
                    _ => paint.width,
                };
                let _ = writeln!(
                    out,
                    "<path class=\"{class}\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width:.2}\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
                    path_data(&frame, line, false),
                    rgb(paint.stroke)
                );
            }
            other => {
                let mut d = String::new();
                for polygon in polygons_of(other) {
                    d.push_str(&path_data(&frame, polygon.exterior(), true));
                    for hole in polygon.interiors() {
                        d.push_str(&path_data(&frame, hole, true));
                    }
                }
                let fill = match paint.fill {
                    Some(colour) => format!(
                        "fill=\"{}\" fill-opacity=\"{}\"",
                        rgb(colour),
                        paint.fill_opacity
                    ),
                    None => "fill=\"none\"".into(),
                };
                let _ = writeln!(
                    out,
                    "<path class=\"{class}\" d=\"{d}\" fill-rule=\"evenodd\" {fill} stroke=\"{}\" stroke-width=\"{}\"{dash}/>",
                    rgb(paint.stroke),
                    paint.width
                );
            }
        }
    }
    let (left_out, key) = labels(&mut out, scene, &frame);
    if left_out > 0 {
        let _ = writeln!(
            out,
            "<text class=\"labels-left-out\" x=\"{MARGIN}\" y=\"{}\" font-size=\"11\" fill=\"#555\">{left_out} label{} left out for lack of room</text>",
            HEIGHT - MARGIN + 28.0,
            if left_out == 1 { "" } else { "s" }
        );
    }
    legend(&mut out, scene, &key);
    // Scale bar and north arrow.
    let bar_m = frame.scale_bar_m(WIDTH - 2.0 * MARGIN - LEGEND_WIDTH);
    let bar = bar_m * frame.scale;
    let y = HEIGHT - MARGIN;
    let _ = writeln!(
        out,
        "<g class=\"scale\"><rect x=\"{MARGIN}\" y=\"{}\" width=\"{bar:.2}\" height=\"6\" fill=\"black\"/><text x=\"{MARGIN}\" y=\"{}\" font-size=\"11\">0</text><text x=\"{:.2}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{} m</text></g>",
        y - 6.0,
        y + 12.0,
        MARGIN + bar,
        y + 12.0,
        format_number(bar_m)
    );
    let nx = WIDTH - MARGIN - 20.0;
    let ny = HEIGHT - MARGIN - 40.0;
    let _ = writeln!(
        out,
        "<g class=\"north\"><path d=\"M{nx},{} L{},{} L{nx},{} L{},{} Z\" fill=\"black\"/><text x=\"{nx}\" y=\"{}\" font-size=\"14\" text-anchor=\"middle\">N</text></g>",
        ny - 30.0,
        nx + 8.0,
        ny,
        ny - 8.0,
        nx - 8.0,
        ny,
        ny + 16.0
    );
    out.push_str("</svg>\n");
    out
}

/// Labels of assets and exclusions by name, or by a number of the plan key where the
/// name has no room, placed so that none overprints another or leaves the plan
/// (`labels::place_labels_with_key`); returns how many found no room even for a number,
/// and the key.
fn labels(out: &mut String, scene: &Scene, frame: &PlanFrame) -> (usize, Vec<(String, String)>) {
    let requests = frame.label_requests(scene);
    let plan_area = [
        MARGIN,
        MARGIN + TITLE_HEIGHT,
        WIDTH - MARGIN - LEGEND_WIDTH,
        HEIGHT - MARGIN - 30.0,
    ];
    let (placed, key) = place_labels_with_key(
        &requests,
        plan_area,
        &LabelStyle::PLAN,
        &LabelStyle::KEY,
        &text_width,
    );
    for label in &placed {
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"{:.2}\" y=\"{:.2}\" font-size=\"{:.2}\" text-anchor=\"middle\" dominant-baseline=\"middle\" paint-order=\"stroke\" stroke=\"white\" stroke-width=\"2\" stroke-opacity=\"0.8\">{}</text>",
            label.x,
            label.y,
            label.size,
            xml_escape(&label.text)
        );
    }
    (requests.len() - placed.len(), key)
}

fn legend(out: &mut String, scene: &Scene, key: &[(String, String)]) {
    let x = WIDTH - MARGIN - LEGEND_WIDTH + 20.0;
    let mut y = MARGIN + TITLE_HEIGHT + 10.0;
    let _ = writeln!(
        out,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"13\" font-weight=\"bold\">Legend</text>"
    );
    for entry in legend_entries(scene) {
        y += 20.0;
        let paint = &entry.paint;
        let swatch = if entry.line {
            format!(
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>",
                y - 4.0,
                x + 18.0,
                y - 4.0,
                rgb(paint.stroke)
            )
        } else {
            format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"18\" height=\"12\" fill=\"{}\" stroke=\"{}\"/>",
                y - 10.0,
                rgb(paint.fill.unwrap_or(paint.stroke)),
                rgb(paint.stroke)
            )
        };
        let _ = writeln!(
            out,
            "{swatch}<text x=\"{}\" y=\"{y}\" font-size=\"12\">{}</text>",
            x + 26.0,
            xml_escape(&entry.name)
        );
    }
    if key.is_empty() {
        return;
    }
    // The plan key under the legend, as far as the column goes.
    y += 30.0;
    let _ = writeln!(
        out,
        "<text class=\"plan-key\" x=\"{x}\" y=\"{y}\" font-size=\"13\" font-weight=\"bold\">Plan key</text>"
    );
    let bottom = HEIGHT - MARGIN - 60.0;
    for (shown, (number, name)) in key.iter().enumerate() {
        if y + 16.0 > bottom {
            let _ = writeln!(
                out,
                "<text class=\"plan-key\" x=\"{x}\" y=\"{}\" font-size=\"11\" fill=\"#555\">… and {} more</text>",
                y + 16.0,
                key.len() - shown
            );
            return;
        }
        y += 16.0;
        let _ = writeln!(
            out,
            "<text class=\"plan-key\" x=\"{x}\" y=\"{y}\" font-size=\"11\">{}  {}</text>",
            xml_escape(number),
            xml_escape(&shortened(name, 28))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo_scene;
    use super::*;

    #[test]
    fn draws_every_feature_inside_the_canvas() {
        let scene = demo_scene("Demo");
        let svg = write(&scene);
        assert_eq!(svg.matches("class=\"asset\"").count(), 2);
        assert_eq!(svg.matches("class=\"road\"").count(), 1);
        // Our own XML reader accepts it.
        let mut reader = quick_xml::Reader::from_str(&svg);
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                _ => continue,
            }
        }
        let frame = PlanFrame::fit(scene.bounds_m(), 10.0, 10.0, 100.0, 50.0);
        let [min_x, min_y, max_x, max_y] = scene.bounds_m();
        let (x0, y0) = frame.map(min_x, max_y);
        let (x1, y1) = frame.map(max_x, min_y);
        assert!(x0 >= 10.0 - 1e-9 && x1 <= 110.0 + 1e-9 && y0 >= 10.0 - 1e-9 && y1 <= 60.0 + 1e-9);
    }

    #[test]
    fn crowded_labels_never_overprint_and_stay_on_the_plan() {
        use super::super::labels::{overlaps, text_width};
        use super::super::test_support::demo;
        use entmoot_plugin_sdk::metrics::layout_metrics;

        let (problem, mut layout, _) = demo();
        let template = layout.assets[0].clone();
        // Eighty small tanks with long names, packed in a block: most labels collide.
        layout.assets = (0..80)
            .map(|index| {
                let mut tank = template.clone();
                tank.name = format!("Storage tank {index} of the eastern tank farm");
                tank.width_m = 3.0;
                tank.length_m = 3.0;
                tank.center = [
                    template.center[0] + 6.0 * (index % 10) as f64,
                    template.center[1] + 6.0 * (index / 10) as f64,
                ];
                tank
            })
            .collect();
        let metrics = layout_metrics(&problem, &layout);
        let scene = Scene::build(&super::super::ExportInput {
            title: "Crowded",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        })
        .unwrap();
        let svg = write(&scene);
        let mut boxes = Vec::new();
        for element in svg.split("<text class=\"label\" ").skip(1) {
            let number = |name: &str| -> f64 {
                let start = element.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + element[start..].find('"').unwrap();
                element[start..end].parse().unwrap()
            };
            let text = &element[element.find('>').unwrap() + 1..element.find("</text>").unwrap()];
            assert!(text.chars().count() <= 24, "{text}");
            let (x, y, size) = (number("x"), number("y"), number("font-size"));
            let half = text_width(text, size) / 2.0;
            let bounds = [x - half, y - size * 0.6, x + half, y + size * 0.6];
            assert!(
                bounds[0] >= MARGIN && bounds[2] <= WIDTH - MARGIN - LEGEND_WIDTH,
                "{text} leaves the plan: {bounds:?}"
            );
            boxes.push((text.to_owned(), bounds));
        }
        assert!(boxes.len() >= 5, "{} labels", boxes.len());
        for (index, (text, bounds)) in boxes.iter().enumerate() {
            for (other, other_bounds) in &boxes[index + 1..] {
                assert!(
                    !overlaps(*bounds, *other_bounds, 0.0),
                    "{text} overprints {other}"
                );
            }
        }
        // Names with no room became numbers, listed in the plan key beside the legend.
        let numbers = boxes
            .iter()
            .filter(|(text, _)| text.chars().all(|c| c.is_ascii_digit()))
            .count();
        assert!(numbers > 0, "no name was replaced by a number");
        assert!(svg.contains(">Plan key</text>"));
        assert!(svg.contains(">1  Storage tank "), "the key lists number 1");
        let left_out = 80 - boxes.len();
        if left_out > 0 {
            assert!(
                svg.contains(&format!("{left_out} label")),
                "the plan says how many labels it left out"
            );
        }
    }
}
