//! PDF report (PDF 1.7 objects written with pdf-writer, vector paths, fonts embedded by
//! `pdf_text` so that every script prints):
//! page 1 is the site plan drawn to scale with where it is, when it was made, its 1:x
//! scale and a legend entry per asset type and road class; the following pages hold the
//! metrics, the earthwork (totals and a row per pad) and cost tables and the placed
//! assets, each table's header repeated on every page it continues on. Earthwork and
//! cost are printed as stored with the layout, or as "unknown" with the reason; no
//! figure is made up.

use std::fmt::Write as _;

use entmoot_plugin_sdk::geo::{Geometry, LineString};

use super::labels::{LabelStyle, place_labels_with_key};
use super::pdf_text::TextSetter;
use super::svg::{Paint, PlanFrame, Rgb, legend_entries, paint_of};
use super::{ExportInput, FeatureKind, Scene, Value, format_grouped, polygons_of};

/// The plan's labels in points: small enough for a page, never under 4 pt.
const PLAN_LABELS: LabelStyle = LabelStyle {
    min_size: 4.0,
    max_size: 7.0,
    max_chars: 24,
};

/// The numbers of the plan key: as small as a name may be.
const KEY_LABELS: LabelStyle = LabelStyle {
    min_size: 4.0,
    max_size: 6.0,
    max_chars: 4,
};

const PAGE_WIDTH: f64 = 612.0;
const PAGE_HEIGHT: f64 = 792.0;
const MARGIN: f64 = 50.0;
const SQ_FT_PER_M2: f64 = 10.763_910_416_709_722;
/// Metres in a PDF point (1/72 inch): what turns the plan's points per metre into 1:x.
const METRES_PER_POINT: f64 = 0.0254 / 72.0;
const M2_PER_ACRE: f64 = 4_046.856_422_4;

/// One page's content stream, in PDF user space (y up). Text is kept apart until the
/// document is written, when its glyphs are known to the fonts (`pdf_text`).
#[derive(Default)]
struct Page {
    content: String,
    /// Text to insert at a byte offset of `content`, in order.
    texts: Vec<(usize, Text)>,
}

struct Text {
    x: f64,
    y: f64,
    size: f64,
    bold: bool,
    text: String,
}

/// The width of `text` in the report's fonts.
fn text_width(text: &str, size: f64) -> f64 {
    super::pdf_text::text_width(text, size, false)
}

impl Page {
    fn colour(&mut self, colour: Rgb, operator: &str) {
        let _ = writeln!(
            self.content,
            "{:.3} {:.3} {:.3} {operator}",
            f64::from(colour.0) / 255.0,
            f64::from(colour.1) / 255.0,
            f64::from(colour.2) / 255.0
        );
    }

    fn text(&mut self, x: f64, y: f64, size: f64, bold: bool, text: &str) {
        self.texts.push((
            self.content.len(),
            Text {
                x,
                y,
                size,
                bold,
                text: text.to_owned(),
            },
        ));
    }

    /// The content stream, with the text set in the document's fonts.
    fn render(&self, setter: &mut TextSetter) -> Vec<u8> {
        let mut out = String::with_capacity(self.content.len() + 64 * self.texts.len());
        let mut at = 0;
        for (offset, text) in &self.texts {
            out.push_str(&self.content[at..*offset]);
            at = *offset;
            let _ = writeln!(
                out,
                "0 g BT {:.2} {:.2} Td {}ET",
                text.x,
                text.y,
                setter.show(&text.text, text.size, text.bold)
            );
        }
        out.push_str(&self.content[at..]);
        out.into_bytes()
    }

    /// Right-aligned text ending at `right`.
    fn text_right(&mut self, right: f64, y: f64, size: f64, text: &str) {
        self.text(right - text_width(text, size), y, size, false, text);
    }

    fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, colour: Rgb) {
        self.colour(colour, "RG");
        let _ = writeln!(
            self.content,
            "{width:.2} w {:.2} {:.2} m {:.2} {:.2} l S",
            from.0, from.1, to.0, to.1
        );
    }
}

fn path(page: &mut Page, frame: &PlanFrame, line: &LineString<f64>, close: bool) {
    for (index, c) in line.0.iter().enumerate() {
        let (x, y) = frame.map(c.x, c.y);
        let _ = write!(
            page.content,
            "{x:.2} {:.2} {} ",
            PAGE_HEIGHT - y,
            if index == 0 { 'm' } else { 'l' }
        );
    }
    if close {
        page.content.push_str("h ");
    }
}

/// `paint`'s fill blended with white by its opacity (the report uses no transparency).
fn blended_fill(paint: &Paint) -> Option<Rgb> {
    paint.fill.map(|(r, g, b)| {
        let mix = |channel: u8| {
            (f64::from(channel) * paint.fill_opacity + 255.0 * (1.0 - paint.fill_opacity)).round()
                as u8
        };
        (mix(r), mix(g), mix(b))
    })
}

/// Where the parcel is: its centroid as `39.35200° N, 103.39950° W`.
fn location_caption(scene: &Scene) -> Option<String> {
    use entmoot_plugin_sdk::geo::Centroid;
    let centre = scene
        .of_kind(FeatureKind::Boundary)
        .filter_map(|feature| feature.wgs84.centroid())
        .next()?;
    Some(format!(
        "{:.5}\u{b0} {}, {:.5}\u{b0} {}",
        centre.y().abs(),
        if centre.y() >= 0.0 { "N" } else { "S" },
        centre.x().abs(),
        if centre.x() >= 0.0 { "E" } else { "W" }
    ))
}

/// The plan page and its key: the numbers that stand on the plan for names with no room,
/// each with the name it stands for.
fn plan_page(scene: &Scene, made_on: Option<&str>) -> (Page, Vec<(String, String)>) {
    let mut page = Page::default();
    page.text(MARGIN, PAGE_HEIGHT - MARGIN, 18.0, true, &scene.title);
    page.text(
        MARGIN,
        PAGE_HEIGHT - MARGIN - 18.0,
        10.0,
        false,
        // The degree sign is in WinAnsiEncoding (0xB0), which the standard fonts cover.
        &format!(
            "Site plan, {}. UTM EPSG:{}",
            scene.north_caption(),
            scene.epsg
        ),
    );
    let plan_top = MARGIN + 52.0;
    let plan_height = 508.0;
    let frame = PlanFrame::fit(
        scene.bounds_m(),
        MARGIN,
        plan_top,
        PAGE_WIDTH - 2.0 * MARGIN,
        plan_height,
    );
    // Where, when and at what scale: what a plan handed to a client must say.
    let mut facts = Vec::new();
    if let Some(location) = location_caption(scene) {
        facts.push(format!("Centre {location}"));
    }
    if let Some(day) = made_on {
        facts.push(format!("made {day}"));
    }
    facts.push(format!(
        "scale 1:{} on a Letter page printed at 100 %",
        format_grouped(1.0 / (frame.scale * METRES_PER_POINT), 0)
    ));
    page.text(
        MARGIN,
        PAGE_HEIGHT - MARGIN - 31.0,
        9.0,
        false,
        &facts.join(" \u{b7} "),
    );
    for feature in &scene.features {
        let paint = paint_of(feature);
        page.content.push_str("q\n");
        page.colour(paint.stroke, "RG");
        match &feature.metres {
            Geometry::Point(point) => {
                let (x, y) = frame.map(point.x(), point.y());
                let y = PAGE_HEIGHT - y;
                page.colour(paint.fill.unwrap_or(paint.stroke), "rg");
                let _ = writeln!(page.content, "{:.2} {:.2} 8 8 re f", x - 4.0, y - 4.0);
            }
            Geometry::LineString(line) => {
                let width = match feature.attribute("width") {
                    Some(Value::Number(width)) => (width * frame.scale).max(0.5),
                    _ => paint.width,
                };
                let _ = write!(page.content, "{width:.2} w 1 J 1 j ");
                path(&mut page, &frame, line, false);
                page.content.push_str("S\n");
            }
            other => {
                let _ = write!(page.content, "{:.2} w ", paint.width * 0.75);
                if paint.dashed {
                    page.content.push_str("[4 3] 0 d ");
                }
                for polygon in polygons_of(other) {
                    path(&mut page, &frame, polygon.exterior(), true);
                    for hole in polygon.interiors() {
                        path(&mut page, &frame, hole, true);
                    }
                }
                match blended_fill(&paint) {
                    Some(fill) => {
                        page.colour(fill, "rg");
                        page.content.push_str("B*\n");
                    }
                    None => page.content.push_str("S\n"),
                }
            }
        }
        page.content.push_str("Q\n");
    }
    // Labels by name, as on the SVG plan, placed so that none overprints another.
    let requests = frame.label_requests(scene);
    let plan_area = [
        MARGIN,
        plan_top,
        PAGE_WIDTH - MARGIN,
        plan_top + plan_height,
    ];
    // What has no room for its name gets a number, listed with the name in the plan key
    // (`tables`).
    let (labels, key) =
        place_labels_with_key(&requests, plan_area, &PLAN_LABELS, &KEY_LABELS, &text_width);
    for label in &labels {
        page.text(
            label.x - text_width(&label.text, label.size) / 2.0,
            // The middle of the text on the label's centre: the baseline a third of the
            // size below it.
            PAGE_HEIGHT - label.y - label.size / 3.0,
            label.size,
            false,
            &label.text,
        );
    }
    // Scale bar.
    let bar_m = frame.scale_bar_m(PAGE_WIDTH - 2.0 * MARGIN);
    let bar_y = PAGE_HEIGHT - plan_top - plan_height - 20.0;
    page.colour((0, 0, 0), "rg");
    let _ = writeln!(
        page.content,
        "{MARGIN:.2} {bar_y:.2} {:.2} 4 re f",
        bar_m * frame.scale
    );
    page.text(
        MARGIN,
        bar_y - 12.0,
        9.0,
        false,
        &format!("0 to {} m", super::format_number(bar_m)),
    );
    // Legend: right of the scale bar, then in rows under it.
    let mut x = MARGIN + bar_m * frame.scale + 30.0;
    let mut y = bar_y;
    let right = PAGE_WIDTH - MARGIN - 30.0;
    for entry in legend_entries(scene) {
        let width = 22.0 + text_width(&entry.name, 9.0);
        if x + width > right {
            x = MARGIN;
            y -= if y == bar_y { 28.0 } else { 14.0 };
            if y < MARGIN {
                break;
            }
        }
        page.content.push_str("q\n");
        page.colour(entry.paint.stroke, "RG");
        if entry.line {
            let _ = writeln!(
                page.content,
                "2.5 w 1 J {x:.2} {:.2} m {:.2} {:.2} l S",
                y + 4.0,
                x + 12.0,
                y + 4.0
            );
        } else {
            page.colour(blended_fill(&entry.paint).unwrap_or((255, 255, 255)), "rg");
            if entry.paint.dashed {
                page.content.push_str("[2 1.5] 0 d ");
            }
            let _ = writeln!(page.content, "0.75 w {x:.2} {y:.2} 12 8 re B");
        }
        page.content.push_str("Q\n");
        page.text(x + 16.0, y, 9.0, false, &entry.name);
        x += width;
    }
    // North arrow.
    let (nx, ny) = (PAGE_WIDTH - MARGIN - 10.0, bar_y + 16.0);
    page.colour((0, 0, 0), "rg");
    let _ = writeln!(
        page.content,
        "{nx:.2} {ny:.2} m {:.2} {:.2} l {nx:.2} {:.2} l {:.2} {:.2} l h f",
        nx + 6.0,
        ny - 24.0,
        ny - 18.0,
        nx - 6.0,
        ny - 24.0
    );
    page.text(nx - 4.0, ny - 36.0, 10.0, true, "N");
    (page, key)
}

/// Flows tables over as many pages as they need; a table continued on a new page gets
/// its header again.
struct TablePages {
    pages: Vec<Page>,
    y: f64,
    /// The header of the table being written, and its columns.
    header: Option<(Vec<String>, Vec<f64>)>,
}

impl TablePages {
    fn new() -> Self {
        TablePages {
            pages: vec![Page::default()],
            y: PAGE_HEIGHT - MARGIN,
            header: None,
        }
    }

    /// Starts a table: its header now and on every page it continues on.
    fn start_table(&mut self, header: &[&str], columns: &[f64]) {
        let header: Vec<String> = header.iter().map(|cell| (*cell).to_owned()).collect();
        // A header alone at the foot of a page is no use: keep it with a first row.
        self.need(27.0);
        self.row(&header, columns, true);
        self.header = Some((header, columns.to_vec()));
    }

    fn end_table(&mut self) {
        self.header = None;
        self.y -= 6.0;
    }

    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn need(&mut self, height: f64) {
        if self.y - height < MARGIN {
            self.pages.push(Page::default());
            self.y = PAGE_HEIGHT - MARGIN;
            if let Some((header, columns)) = self.header.clone() {
                self.write_row(&header, &columns, true);
            }
        }
    }

    fn heading(&mut self, text: &str) {
        self.need(40.0);
        self.y -= 8.0;
        let y = self.y;
        self.page().text(MARGIN, y, 14.0, true, text);
        self.y -= 8.0;
        let y = self.y;
        self.page()
            .line((MARGIN, y), (PAGE_WIDTH - MARGIN, y), 0.5, (120, 120, 120));
        self.y -= 14.0;
    }

    fn paragraph(&mut self, text: &str) {
        self.need(14.0);
        let y = self.y;
        self.page().text(MARGIN, y, 10.0, false, text);
        self.y -= 14.0;
    }

    /// A row of cells; `columns` are the left edges, the last cell of a row with
    /// `right_aligned` ends at the right margin.
    fn row(&mut self, cells: &[String], columns: &[f64], bold: bool) {
        self.need(14.0);
        self.write_row(cells, columns, bold);
    }

    fn write_row(&mut self, cells: &[String], columns: &[f64], bold: bool) {
        let y = self.y;
        let page = self.page();
        for (cell, x) in cells.iter().zip(columns) {
            page.text(*x, y, 9.5, bold, cell);
        }
        self.y -= 13.0;
    }

    fn key_value(&mut self, key: &str, value: &str) {
        self.need(14.0);
        let y = self.y;
        let page = self.page();
        page.text(MARGIN, y, 10.0, false, key);
        page.text_right(PAGE_WIDTH - MARGIN, y, 10.0, value);
        self.y -= 14.0;
    }
}

/// `{"status":"unknown","reason":…}`, null or absent → the reason it is unknown.
fn unknown_reason(value: Option<&serde_json::Value>, what: &str) -> Option<String> {
    match value {
        None | Some(serde_json::Value::Null) => {
            Some(format!("no {what} was computed for this layout"))
        }
        Some(serde_json::Value::Object(map))
            if map.get("status").and_then(|s| s.as_str()) == Some("unknown") =>
        {
            Some(
                map.get("reason")
                    .and_then(|r| r.as_str())
                    .unwrap_or("not known")
                    .to_owned(),
            )
        }
        _ => None,
    }
}

/// Flattens a JSON object into `(dotted key, display value)` rows.
fn flatten(prefix: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, inner, rows);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), inner, rows);
            }
        }
        serde_json::Value::Number(number) => rows.push((
            prefix.replace('_', " "),
            number
                .as_f64()
                .map(|n| format!("{n:.2}"))
                .unwrap_or_else(|| number.to_string()),
        )),
        serde_json::Value::String(text) => rows.push((prefix.replace('_', " "), text.clone())),
        serde_json::Value::Bool(flag) => rows.push((prefix.replace('_', " "), flag.to_string())),
        serde_json::Value::Null => rows.push((prefix.replace('_', " "), "unknown".into())),
    }
}

/// A cost breakdown: its priced lines as a table, then its totals; `null` amounts are
/// printed as unknown.
fn cost_table(t: &mut TablePages, cost: Option<&serde_json::Value>) {
    let Some(serde_json::Value::Object(map)) = cost else {
        let mut rows = Vec::new();
        if let Some(value) = cost {
            flatten("", value, &mut rows);
        }
        for (key, shown) in rows {
            t.key_value(&key, &shown);
        }
        return;
    };
    let currency = map
        .get("currency")
        .and_then(|c| c.as_str())
        .unwrap_or("")
        .to_owned();
    let money = |value: Option<&serde_json::Value>| match value.and_then(|v| v.as_f64()) {
        Some(amount) => format!("{} {currency}", format_grouped(amount, 2)),
        None => "unknown".to_owned(),
    };
    if let Some(serde_json::Value::Array(lines)) = map.get("lines") {
        let columns = [
            MARGIN,
            MARGIN + 150.0,
            MARGIN + 240.0,
            MARGIN + 290.0,
            MARGIN + 380.0,
        ];
        t.start_table(
            &["Item", "Quantity", "Unit", "Unit cost", "Amount"],
            &columns,
        );
        for line in lines {
            let text = |key: &str| {
                line.get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .replace('_', " ")
            };
            let number = |key: &str| {
                line.get(key)
                    .and_then(|v| v.as_f64())
                    .map(|n| format_grouped(n, 2))
                    .unwrap_or_else(|| "unknown".into())
            };
            t.row(
                &[
                    text("item"),
                    number("quantity"),
                    // The cost model writes square metres as `m2`.
                    text("unit").replace("m2", "m\u{b2}"),
                    number("unit_cost"),
                    money(line.get("amount")),
                ],
                &columns,
                false,
            );
        }
        t.end_table();
    }
    for key in [
        "earthwork",
        "roads",
        "assets",
        "subtotal",
        "contingency",
        "total",
    ] {
        if map.contains_key(key) {
            let label = format!("{}{}", key[..1].to_ascii_uppercase(), &key[1..]);
            t.key_value(&label, &money(map.get(key)));
        }
    }
    if map.get("complete").and_then(|c| c.as_bool()) == Some(false) {
        t.paragraph("The total leaves out what is unknown (earthwork without terrain).");
    }
}

/// Earthwork: the totals in m³ and yd³, then a row per pad. A value of another shape is
/// listed as it is rather than dropped.
fn earthwork_tables(t: &mut TablePages, earthwork: Option<&serde_json::Value>) {
    use entmoot_plugin_sdk::earthwork::YD3_PER_M3;
    let number = |key: &str| earthwork.and_then(|value| value.get(key)?.as_f64());
    let (Some(cut), Some(fill)) = (number("cut_m3"), number("fill_m3")) else {
        let mut rows = Vec::new();
        if let Some(value) = earthwork {
            flatten("", value, &mut rows);
        }
        for (key, shown) in rows {
            t.key_value(&key, &shown);
        }
        return;
    };
    let volume = |m3: f64| {
        format!(
            "{} m\u{b3} ({} yd\u{b3})",
            format_grouped(m3, 1),
            format_grouped(m3 * YD3_PER_M3, 1)
        )
    };
    t.key_value("Cut", &volume(cut));
    t.key_value("Fill", &volume(fill));
    t.key_value(
        "Net (cut minus fill)",
        &volume(number("net_m3").unwrap_or(cut - fill)),
    );
    if let Some(slope) = number("mean_slope_percent") {
        t.key_value(
            "Mean ground slope under the pads",
            &format!("{} %", format_grouped(slope, 1)),
        );
    }
    let pads = earthwork
        .and_then(|value| value.get("pads")?.as_array())
        .filter(|pads| !pads.is_empty());
    if let Some(pads) = pads {
        t.y -= 6.0;
        let columns = [
            MARGIN,
            MARGIN + 100.0,
            MARGIN + 180.0,
            MARGIN + 250.0,
            MARGIN + 320.0,
            MARGIN + 390.0,
        ];
        t.start_table(
            &[
                "Pad (asset id)",
                "Pad level (m)",
                "Cut (m\u{b3})",
                "Fill (m\u{b3})",
                "Net (m\u{b3})",
                "Ground slope (%)",
            ],
            &columns,
        );
        for pad in pads {
            let cell = |key: &str, decimals: usize| {
                pad.get(key)
                    .and_then(|v| v.as_f64())
                    .map(|n| format_grouped(n, decimals))
                    .unwrap_or_else(|| "unknown".into())
            };
            t.row(
                &[
                    pad.get("asset_id")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_owned(),
                    cell("pad_elevation_m", 2),
                    cell("cut_m3", 1),
                    cell("fill_m3", 1),
                    match (
                        pad.get("cut_m3").and_then(|v| v.as_f64()),
                        pad.get("fill_m3").and_then(|v| v.as_f64()),
                    ) {
                        (Some(cut), Some(fill)) => format_grouped(cut - fill, 1),
                        _ => "unknown".into(),
                    },
                    cell("mean_slope_percent", 1),
                ],
                &columns,
                false,
            );
        }
        t.end_table();
    }
}

fn tables(input: &ExportInput<'_>, key: &[(String, String)]) -> Vec<Page> {
    let problem = input.problem;
    let metrics = input.metrics;
    let mut t = TablePages::new();
    if !key.is_empty() {
        t.heading("Plan key");
        t.paragraph("Numbers on the plan where a name has no room.");
        let columns = [MARGIN, MARGIN + 50.0];
        t.start_table(&["Key", "Name"], &columns);
        for (number, name) in key {
            t.row(&[number.clone(), name.clone()], &columns, false);
        }
        t.end_table();
    }
    t.heading("Layout metrics");
    t.key_value(
        "Placed assets",
        &format!("{} of {}", metrics.placed, metrics.requested),
    );
    t.key_value(
        "Unplaced assets",
        &if metrics.unplaced_asset_ids.is_empty() {
            "none".to_owned()
        } else {
            metrics.unplaced_asset_ids.join(", ")
        },
    );
    for (asset_type, count) in &metrics.placed_by_type {
        t.key_value(
            &format!("Placed {}", asset_type.replace('_', " ")),
            &count.to_string(),
        );
    }
    let area = |m2: f64| {
        format!(
            "{} m\u{b2} ({} ft\u{b2}, {} acres)",
            format_grouped(m2, 1),
            format_grouped(m2 * SQ_FT_PER_M2, 0),
            format_grouped(m2 / M2_PER_ACRE, 2)
        )
    };
    t.key_value("Site area", &area(problem.boundary_area_m2));
    t.key_value("Buildable area", &area(problem.buildable_area_m2));
    t.key_value("Total footprint", &area(metrics.footprint_m2));
    t.key_value(
        "Coverage (footprint / site)",
        &format!(
            "{} % (limit {} %)",
            format_grouped(metrics.coverage * 100.0, 2),
            format_grouped(problem.max_coverage * 100.0, 1)
        ),
    );
    t.key_value(
        "Buildable area used",
        &format!(
            "{} %",
            format_grouped(metrics.buildable_utilization * 100.0, 2)
        ),
    );
    t.key_value(
        "Compactness",
        &metrics
            .compactness
            .map(|c| format!("{c:.3}"))
            .unwrap_or_else(|| "n/a (nothing placed)".into()),
    );
    t.key_value(
        "Road length",
        &format!("{} m", format_grouped(metrics.road_length_m, 1)),
    );
    t.key_value(
        "Mean distance to entrance",
        &metrics
            .mean_entrance_distance_m
            .map(|d| format!("{} m", format_grouped(d, 1)))
            .unwrap_or_else(|| "n/a (nothing placed)".into()),
    );
    t.key_value("Setback", &format!("{:.2} m", problem.setback_m));
    t.key_value(
        "Minimum spacing",
        &format!("{:.2} m", problem.min_spacing_m),
    );

    // Earthwork and cost as given with the layout, else as the metrics carry them.
    let metrics_json = serde_json::to_value(metrics).unwrap_or_default();
    let from_metrics = |key: &str| {
        metrics_json
            .get(key)
            .filter(|value| !value.is_null())
            .cloned()
    };
    let earthwork = input.earthwork.cloned().or_else(|| {
        from_metrics("earthwork").or_else(|| {
            metrics_json
                .get("earthwork_status")
                .and_then(|status| status.as_str())
                .map(|status| {
                    serde_json::json!({
                        "status": "unknown",
                        "reason": status.trim_start_matches("unknown: "),
                    })
                })
        })
    });
    let cost = input.cost.cloned().or_else(|| from_metrics("cost"));
    t.heading("Earthwork");
    match unknown_reason(earthwork.as_ref(), "earthwork") {
        Some(reason) => t.key_value("Earthwork: unknown", &reason),
        None => earthwork_tables(&mut t, earthwork.as_ref()),
    }
    t.heading("Cost");
    match unknown_reason(cost.as_ref(), "cost estimate") {
        Some(reason) => t.key_value("Cost: unknown", &reason),
        None => cost_table(&mut t, cost.as_ref()),
    }

    t.heading("Placed assets");
    let columns = [
        MARGIN,
        MARGIN + 80.0,
        MARGIN + 190.0,
        MARGIN + 270.0,
        MARGIN + 320.0,
        MARGIN + 370.0,
        MARGIN + 420.0,
    ];
    t.start_table(
        &[
            "Asset id",
            "Name",
            "Type",
            "Width m",
            "Length m",
            "Rotation",
            "Centre E, N (m)",
        ],
        &columns,
    );
    for asset in &input.layout.assets {
        let mut name = asset.name.clone();
        if name.chars().count() > 20 {
            name = name.chars().take(19).collect::<String>() + "…";
        }
        t.row(
            &[
                asset.asset_id.clone(),
                name,
                asset.asset_type.to_string(),
                format!("{:.2}", asset.width_m),
                format!("{:.2}", asset.length_m),
                format!("{:.1}", asset.rotation_deg),
                format!("{:.1}, {:.1}", asset.center[0], asset.center[1]),
            ],
            &columns,
            false,
        );
    }
    t.end_table();
    if input.layout.assets.is_empty() {
        t.paragraph("No asset is placed.");
    }
    t.pages
}

/// Every page of the report, drawn and written but for the fonts.
fn pages_of(scene: &Scene, input: &ExportInput<'_>) -> Vec<Page> {
    let (plan, key) = plan_page(scene, input.made_on);
    let mut pages = vec![plan];
    pages.extend(tables(input, &key));
    let total = pages.len();
    for (index, page) in pages.iter_mut().enumerate() {
        page.colour((0, 0, 0), "rg");
        let footer = format!("{} - page {} of {total}", scene.title, index + 1);
        page.text(MARGIN, MARGIN / 2.0, 8.0, false, &footer);
    }
    pages
}

pub fn write(scene: &Scene, input: &ExportInput<'_>) -> Result<Vec<u8>, super::ExportError> {
    assemble(&pages_of(scene, input), &scene.title).map_err(|error| super::ExportError::Write {
        format: "PDF",
        reason: format!("subsetting a font failed: {error:?}"),
    })
}

/// The document: catalog, page tree, pages and their content, the fonts the text uses
/// (subset), and the document information.
fn assemble(pages: &[Page], title: &str) -> Result<Vec<u8>, subsetter::Error> {
    use pdf_writer::{Name, Pdf, Rect, Ref, TextStr};
    let mut pdf = Pdf::new();
    let (catalog, tree, info) = (Ref::new(1), Ref::new(2), Ref::new(3));
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|index| Ref::new(4 + 2 * index as i32))
        .collect();
    let mut next_id = 4 + 2 * pages.len() as i32;
    let mut setter = TextSetter::default();
    let contents: Vec<Vec<u8>> = pages.iter().map(|page| page.render(&mut setter)).collect();
    let fonts = setter.write_fonts(&mut pdf, &mut next_id)?;
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (index, content) in contents.iter().enumerate() {
        let content_id = Ref::new(page_ids[index].get() + 1);
        let mut page = pdf.page(page_ids[index]);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH as f32, PAGE_HEIGHT as f32))
            .contents(content_id);
        let mut resources = page.resources();
        let mut font_names = resources.fonts();
        for (name, font) in &fonts {
            font_names.pair(Name(name.as_bytes()), *font);
        }
        drop(font_names);
        drop(resources);
        drop(page);
        pdf.stream(content_id, content);
    }
    pdf.document_info(info)
        .producer(TextStr("Entmoot"))
        .title(TextStr(title));
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo;
    use super::*;

    /// The report's text, a `(text) Tj` line per piece of text, page after page.
    fn shown(scene: &Scene, input: &ExportInput<'_>) -> String {
        pages_of(scene, input)
            .iter()
            .flat_map(|page| {
                page.texts
                    .iter()
                    .map(|(_, text)| format!("({}) Tj\n", text.text))
            })
            .collect()
    }

    #[test]
    fn writes_fonts_that_print_every_name_and_unknown_earthwork() {
        let (problem, mut layout, metrics) = demo();
        layout.assets[0].name = "倉庫 Склад Warehouse".into();
        let earthwork =
            serde_json::json!({"status": "unknown", "reason": "no terrain (DEM) was given"});
        let input = ExportInput {
            title: "Demo (rural)",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: Some(&earthwork),
            cost: None,
            made_on: None,
        };
        let scene = Scene::build(&input).unwrap();
        let text = shown(&scene, &input);
        assert!(text.contains("(Earthwork: unknown) Tj"));
        assert!(text.contains("(no terrain (DEM) was given) Tj"));
        // The plan labels assets by name, as the SVG plan does: each name is on the
        // plan and in the asset table, CJK and Cyrillic as written.
        for asset in &layout.assets {
            let named = layout
                .assets
                .iter()
                .filter(|a| a.name == asset.name)
                .count();
            let in_legend = legend_entries(&scene)
                .iter()
                .filter(|entry| entry.name == asset.name)
                .count();
            assert_eq!(
                text.matches(&format!("({}) Tj", asset.name)).count(),
                2 * named + in_legend,
                "{} is not both on the plan and in the table",
                asset.name
            );
        }
        let pdf = write(&scene, &input).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let raw = String::from_utf8_lossy(&pdf);
        assert!(raw.trim_end().ends_with("%%EOF"));
        // The fonts are in the file, subset: DejaVu Sans for the Latin and Cyrillic,
        // Droid Sans Fallback for the CJK, each with the map back to Unicode.
        for font in ["+DejaVuSans", "+DejaVuSans-Bold", "+DroidSansFallback"] {
            assert!(raw.contains(font), "{font} is not embedded");
        }
        assert_eq!(raw.matches("/FontFile2").count(), 3);
        assert_eq!(raw.matches("/ToUnicode").count(), 3);
        assert!(
            pdf.len() < 200_000,
            "{} bytes: the fonts are not subset",
            pdf.len()
        );
    }

    #[test]
    fn the_plan_says_where_when_at_what_scale_with_a_legend_entry_per_type_and_class() {
        let (problem, mut layout, metrics) = demo();
        let mut secondary = layout.roads[0].clone();
        secondary.class = entmoot_plugin_sdk::roads::RoadClass::Secondary;
        layout.roads.push(secondary);
        // Enough pads to run the pad table over two pages.
        let pads: Vec<serde_json::Value> = (0..90)
            .map(|k| {
                serde_json::json!({"asset_id": format!("building-{k}"), "pad_elevation_m": 1200.5,
                    "cut_m3": 1234.56, "fill_m3": 0.0, "mean_slope_percent": 3.25})
            })
            .collect();
        let earthwork = serde_json::json!({"cut_m3": 111_111.1, "fill_m3": 2_222.2, "net_m3": 108_888.9,
            "cut_yd3": 145_327.0, "fill_yd3": 2_906.5, "mean_slope_percent": 4.5, "pads": pads});
        let input = ExportInput {
            title: "Demo",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: Some(&earthwork),
            cost: None,
            made_on: Some("2026-12-03"),
        };
        let scene = Scene::build(&input).unwrap();
        let text = shown(&scene, &input);
        // Where (the rural demo is at 39.352 N, 103.3995 W), when, and the scale.
        assert!(
            text.contains("(Centre 39.35200° N, 103.39950° W · made 2026-12-03 · scale 1:"),
            "{}",
            text.lines()
                .find(|line| line.contains("Centre"))
                .unwrap_or("no Centre line")
        );
        // A legend entry per asset type and per road class, no generic "Asset" or "Road".
        for entry in [
            "(Building) Tj",
            "(Access road) Tj",
            "(Secondary road) Tj",
            "(Boundary) Tj",
        ] {
            assert!(text.contains(entry), "no legend entry {entry}");
        }
        assert!(!text.contains("(Asset) Tj") && !text.contains("(Road) Tj"));
        // Earthwork as totals with grouped thousands and a pad table, not a JSON dump.
        assert!(
            text.contains("(111,111.1 m³ (145,327.8 yd³)) Tj"),
            "{:?}",
            text.lines()
                .filter(|line| line.contains("yd"))
                .collect::<Vec<_>>()
        );
        assert!(!text.contains("pads[0]"));
        // The pad table runs over pages and has its header again on each.
        assert!(text.matches("(Pad (asset id)) Tj").count() >= 2);
    }

    #[test]
    fn nothing_placed_prints_zero_not_minus_zero() {
        let (problem, mut layout, _) = demo();
        layout.assets.clear();
        layout.roads.clear();
        let metrics = entmoot_plugin_sdk::metrics::layout_metrics(&problem, &layout);
        let input = ExportInput {
            title: "Empty",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        };
        let scene = Scene::build(&input).unwrap();
        let text = shown(&scene, &input);
        assert!(!text.contains("(-0"), "a negative zero is printed");
        assert!(
            text.contains("(0.0 m² (0 ft², 0.00 acres)) Tj"),
            "{:?}",
            text.lines()
                .filter(|line| line.contains("acres"))
                .collect::<Vec<_>>()
        );
        assert!(text.contains("(No asset is placed.) Tj"));
    }

    #[test]
    fn names_with_no_room_get_a_number_listed_in_the_plan_key() {
        let (problem, mut layout, _) = demo();
        // Forty small pump houses in a block, 9 m apart: most names cannot fit, their
        // numbers can.
        let template = layout.assets[0].clone();
        layout.assets = (0..40)
            .map(|k| {
                let mut asset = template.clone();
                asset.asset_id = format!("building-{}", k + 1);
                asset.name = format!("Pump house {}", k + 1);
                asset.width_m = 3.0;
                asset.length_m = 3.0;
                asset.center = [
                    template.center[0] + 9.0 * f64::from(k % 8),
                    template.center[1] + 9.0 * f64::from(k / 8),
                ];
                asset
            })
            .collect();
        let metrics = entmoot_plugin_sdk::metrics::layout_metrics(&problem, &layout);
        let input = ExportInput {
            title: "Crowded",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        };
        let scene = Scene::build(&input).unwrap();
        let (_, key) = plan_page(&scene, None);
        let labelled = shown(&scene, &input);
        assert!(
            !key.is_empty(),
            "every name fit: the test is not crowded\n{labelled}"
        );
        // Numbered 1, 2, … without gaps, each standing for a pump house.
        for (position, (number, name)) in key.iter().enumerate() {
            assert_eq!(number, &(position + 1).to_string());
            assert!(name.starts_with("Pump house "), "{name}");
        }
        let text = shown(&scene, &input);
        assert!(text.contains("(Plan key) Tj"));
        for (number, name) in &key {
            // On the plan (and in the key's table), and the name in the table.
            assert!(
                text.matches(&format!("({number}) Tj")).count() >= 2,
                "key {number}"
            );
            assert!(text.contains(&format!("({name}) Tj")), "{name}");
        }
    }
}
