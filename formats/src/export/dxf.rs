//! DXF R12 (AC1009) ASCII export, written by hand: layers BOUNDARY, SETBACK, EXCLUSIONS,
//! ASSETS, ROADS and LABELS; closed POLYLINEs for areas (one per ring), open POLYLINEs
//! with their paved width for road centrelines, a POINT per entrance and TEXT labels.
//! Coordinates are UTM eastings and northings of the layout's zone, in metres or in
//! international feet; a 999 comment names the zone and unit since R12 has no CRS.

use std::fmt::Write as _;

use entmoot_plugin_sdk::geo::{Geometry, LineString};

use super::{DrawingUnits, FeatureKind, Scene, SceneFeature, label_point, polygons_of};

/// `(layer, AutoCAD colour index)`.
pub const LAYERS: &[(&str, u8)] = &[
    ("BOUNDARY", 2),
    ("SETBACK", 30),
    ("EXCLUSIONS", 1),
    ("ASSETS", 5),
    ("ROADS", 8),
    ("LABELS", 7),
];

fn layer_of(kind: FeatureKind) -> &'static str {
    match kind {
        FeatureKind::Boundary => "BOUNDARY",
        FeatureKind::Setback => "SETBACK",
        FeatureKind::Exclusion => "EXCLUSIONS",
        FeatureKind::SteepGround => "STEEP_GROUND",
        FeatureKind::Asset => "ASSETS",
        FeatureKind::Road | FeatureKind::Entrance => "ROADS",
    }
}

struct Writer {
    out: String,
    units: DrawingUnits,
}

impl Writer {
    fn pair(&mut self, code: u16, value: impl std::fmt::Display) {
        let _ = write!(self.out, "{code:>3}\r\n{value}\r\n");
    }

    fn real(&mut self, code: u16, metres: f64) {
        let value = self.units.from_metres(metres);
        self.pair(code, format_args!("{value:.4}"));
    }

    fn polyline(&mut self, layer: &str, line: &LineString<f64>, closed: bool, width_m: f64) {
        let mut points: Vec<(f64, f64)> = line.0.iter().map(|c| (c.x, c.y)).collect();
        if closed && points.len() > 1 && points.first() == points.last() {
            points.pop();
        }
        if points.len() < 2 {
            return;
        }
        self.pair(0, "POLYLINE");
        self.pair(8, layer);
        self.pair(66, 1);
        self.pair(10, "0.0");
        self.pair(20, "0.0");
        self.pair(30, "0.0");
        if width_m > 0.0 {
            self.real(40, width_m);
            self.real(41, width_m);
        }
        self.pair(70, if closed { 1 } else { 0 });
        for (x, y) in points {
            self.pair(0, "VERTEX");
            self.pair(8, layer);
            self.real(10, x);
            self.real(20, y);
            self.pair(30, "0.0");
        }
        self.pair(0, "SEQEND");
        self.pair(8, layer);
    }

    fn text(&mut self, at: (f64, f64), height_m: f64, text: &str) {
        self.pair(0, "TEXT");
        self.pair(8, "LABELS");
        self.real(10, at.0);
        self.real(20, at.1);
        self.pair(30, "0.0");
        self.real(40, height_m);
        self.pair(1, dxf_text(text));
        self.pair(72, 1);
        self.pair(73, 2);
        self.real(11, at.0);
        self.real(21, at.1);
        self.pair(31, "0.0");
    }

    fn feature(&mut self, feature: &SceneFeature, text_height_m: f64) {
        let layer = layer_of(feature.kind);
        match &feature.metres {
            Geometry::Point(point) => {
                self.pair(0, "POINT");
                self.pair(8, layer);
                self.real(10, point.x());
                self.real(20, point.y());
                self.pair(30, "0.0");
            }
            Geometry::LineString(line) => {
                let width = match feature.attribute("width") {
                    Some(super::Value::Number(width)) => *width,
                    _ => 0.0,
                };
                self.polyline(layer, line, false, width);
            }
            other => {
                for polygon in polygons_of(other) {
                    self.polyline(layer, polygon.exterior(), true, 0.0);
                    for hole in polygon.interiors() {
                        self.polyline(layer, hole, true, 0.0);
                    }
                }
            }
        }
        let label = match feature.kind {
            FeatureKind::Asset => feature
                .attribute("asset_id")
                .map(|id| format!("{} ({})", feature.label, id.display())),
            FeatureKind::Exclusion | FeatureKind::Entrance | FeatureKind::SteepGround => {
                Some(feature.label.clone())
            }
            FeatureKind::Boundary | FeatureKind::Setback | FeatureKind::Road => None,
        };
        if let (Some(label), Some(at)) = (label, label_point(&feature.metres)) {
            self.text(at, text_height_m, &label);
        }
    }
}

/// Non-ASCII characters as AutoCAD's `\U+XXXX` escapes; line breaks as spaces.
fn dxf_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            c if c.is_ascii() => out.push(c),
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\U+{:04X}", c as u32);
            }
            _ => out.push('?'),
        }
    }
    out
}

pub fn write(scene: &Scene, units: DrawingUnits) -> String {
    let mut w = Writer {
        out: String::new(),
        units,
    };
    w.pair(
        999,
        format_args!(
            "Entmoot layout \"{}\": UTM EPSG:{}, units {}",
            dxf_text(&scene.title),
            scene.epsg,
            units.symbol()
        ),
    );
    let [min_x, min_y, max_x, max_y] = scene.bounds_m();
    w.pair(0, "SECTION");
    w.pair(2, "HEADER");
    w.pair(9, "$ACADVER");
    w.pair(1, "AC1009");
    w.pair(9, "$INSUNITS");
    w.pair(
        70,
        match units {
            DrawingUnits::Metres => 6,
            DrawingUnits::Feet => 2,
        },
    );
    w.pair(9, "$EXTMIN");
    w.real(10, min_x);
    w.real(20, min_y);
    w.pair(30, "0.0");
    w.pair(9, "$EXTMAX");
    w.real(10, max_x);
    w.real(20, max_y);
    w.pair(30, "0.0");
    w.pair(0, "ENDSEC");

    w.pair(0, "SECTION");
    w.pair(2, "TABLES");
    w.pair(0, "TABLE");
    w.pair(2, "LTYPE");
    w.pair(70, 1);
    w.pair(0, "LTYPE");
    w.pair(2, "CONTINUOUS");
    w.pair(70, 0);
    w.pair(3, "Solid line");
    w.pair(72, 65);
    w.pair(73, 0);
    w.pair(40, "0.0");
    w.pair(0, "ENDTAB");
    w.pair(0, "TABLE");
    w.pair(2, "LAYER");
    w.pair(70, LAYERS.len());
    for (name, colour) in LAYERS {
        w.pair(0, "LAYER");
        w.pair(2, name);
        w.pair(70, 0);
        w.pair(62, colour);
        w.pair(6, "CONTINUOUS");
    }
    w.pair(0, "ENDTAB");
    w.pair(0, "ENDSEC");

    w.pair(0, "SECTION");
    w.pair(2, "ENTITIES");
    let extent = (max_x - min_x).max(max_y - min_y);
    let text_height_m = (extent / 120.0).clamp(0.5, 50.0);
    for feature in &scene.features {
        w.feature(feature, text_height_m);
    }
    w.pair(0, "ENDSEC");
    w.pair(0, "EOF");
    w.out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo_scene;
    use super::*;

    #[test]
    fn writes_layers_and_feet() {
        let scene = demo_scene("Démo");
        let metres = write(&scene, DrawingUnits::Metres);
        for (layer, _) in LAYERS {
            assert!(metres.contains(&format!("\r\n{layer}\r\n")), "{layer}");
        }
        assert!(metres.contains("D\\U+00E9mo"));
        let feet = write(&scene, DrawingUnits::Feet);
        let first_x = |text: &str| -> f64 {
            let mut lines = text.split("\r\n");
            while let Some(line) = lines.next() {
                if line.trim() == "VERTEX" {
                    lines.next();
                    lines.next();
                    lines.next();
                    return lines.next().unwrap().parse().unwrap();
                }
            }
            panic!("no vertex")
        };
        let ratio = first_x(&feet) / first_x(&metres);
        assert!((ratio - 1.0 / 0.3048).abs() < 1e-6, "{ratio}");
        assert!(metres.ends_with("  0\r\nEOF\r\n"));
    }
}
