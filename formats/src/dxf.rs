//! DXF import (ASCII, any version): closed LWPOLYLINEs and POLYLINEs and the boundary
//! loops of HATCHes (as GDAL and CAD programs write filled areas; arcs approximated by
//! 16 segments) in the ENTITIES section become features named by their layer: each HATCH
//! is one (its loops grouped by nesting), and the closed polylines of a layer are one,
//! grouped by nesting whichever entity drew them: a ring inside another is a hole,
//! separate outer rings are the parts of a multi-part feature. A DXF has no coordinate system, so the caller
//! declares one (`ImportOptions::crs`), and coordinates are taken in that CRS's units:
//! `$INSUNITS` is not trusted, since common templates (GDAL's among them) say inches
//! whatever the drawing holds; declare a feet-based CRS (a State Plane ftUS code, or
//! `+proj=utm +zone=13 +datum=WGS84 +units=ft`) for a drawing in feet. Arc segments
//! (bulges) are read as straight edges and reported. Binary DXF is refused.

use std::collections::BTreeMap;

use super::crs::Crs;
use entmoot_plugin_sdk::geo::MultiPolygon;

use super::repair::{Repair, assemble_rings, clean_polygon_any_orientation};
use super::{ImportError, NamedPolygon};

/// Most closed rings one layer may hold: grouping by containment compares every pair.
pub const MAX_RINGS_PER_LAYER: usize = 2_000;

/// Whether text starts like an ASCII DXF (`0 / SECTION`, or a `999` comment first).
pub fn looks_like_dxf(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim);
    match (lines.next(), lines.next()) {
        (Some("0"), Some("SECTION")) => true,
        (Some("999"), Some(_)) => {
            matches!((lines.next(), lines.next()), (Some("0"), Some("SECTION")))
        }
        _ => false,
    }
}

fn dxf_error(line: usize, reason: impl Into<String>) -> ImportError {
    ImportError::Dxf {
        line,
        reason: reason.into(),
    }
}

/// A group: code, value and the 1-based line of its code.
struct Group<'a> {
    code: i32,
    value: &'a str,
    line: usize,
}

fn groups(text: &str) -> Result<Vec<Group<'_>>, ImportError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut groups = Vec::with_capacity(lines.len() / 2);
    let mut index = 0;
    while index + 1 < lines.len() {
        let code_text = lines[index].trim();
        let code: i32 = code_text.parse().map_err(|_| {
            dxf_error(
                index + 1,
                format!("group code `{}` is not a number", truncate(code_text)),
            )
        })?;
        groups.push(Group {
            code,
            value: lines[index + 1].trim_end_matches('\r'),
            line: index + 1,
        });
        index += 2;
    }
    Ok(groups)
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

struct Ring {
    /// The HATCH a loop belongs to (its index among the entities); `None` for a
    /// polyline, which is one ring.
    hatch: Option<usize>,
    layer: String,
    entity: &'static str,
    line: usize,
    points: Vec<(f64, f64)>,
    bulged: bool,
}

fn number(group: &Group<'_>) -> Result<f64, ImportError> {
    group.value.trim().parse::<f64>().map_err(|_| {
        dxf_error(
            group.line + 1,
            format!(
                "`{}` is not a number (group {})",
                truncate(group.value),
                group.code
            ),
        )
    })
}

/// Reads the closed polylines; returns them with the CRS description.
pub fn read_polygons(
    bytes: &[u8],
    declared: Option<&Crs>,
) -> Result<(Vec<NamedPolygon>, String), ImportError> {
    if bytes.starts_with(b"AutoCAD Binary DXF") {
        return Err(dxf_error(
            1,
            "binary DXF is not supported; save the drawing as ASCII DXF",
        ));
    }
    let Some(crs) = declared else {
        return Err(ImportError::UnknownCrs {
            location: "the DXF".into(),
            detail: "a DXF drawing has no coordinate system: declare one (for example EPSG:32613 or utm:13N)".into(),
        });
    };
    let text: String = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        // DXF before 2007 is in the drawing's code page, usually Windows-1252.
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    };
    let groups = groups(&text)?;
    let mut section: Option<&str> = None;
    let mut rings: Vec<Ring> = Vec::new();
    let mut open_polylines = 0usize;
    let mut index = 0;
    while index < groups.len() {
        let group = &groups[index];
        if group.code == 0 && group.value.trim() == "SECTION" {
            section = groups
                .get(index + 1)
                .filter(|g| g.code == 2)
                .map(|g| g.value.trim());
            index += 2;
            continue;
        }
        if group.code == 0 && group.value.trim() == "ENDSEC" {
            section = None;
            index += 1;
            continue;
        }
        match (section, group.code, group.value.trim()) {
            (Some("ENTITIES"), 0, "LWPOLYLINE") => {
                let start_line = group.line;
                index += 1;
                let mut ring = Ring {
                    hatch: None,
                    layer: "0".into(),
                    entity: "LWPOLYLINE",
                    line: start_line,
                    points: Vec::new(),
                    bulged: false,
                };
                let mut flags = 0i64;
                let mut pending_x: Option<f64> = None;
                while index < groups.len() && groups[index].code != 0 {
                    let g = &groups[index];
                    match g.code {
                        8 => ring.layer = g.value.trim().to_owned(),
                        70 => flags = g.value.trim().parse().unwrap_or(0),
                        10 => pending_x = Some(number(g)?),
                        20 => {
                            let x = pending_x.take().ok_or_else(|| {
                                dxf_error(g.line, "a Y coordinate (20) without its X (10)")
                            })?;
                            ring.points.push((x, number(g)?));
                        }
                        42 => ring.bulged |= number(g)? != 0.0,
                        _ => {}
                    }
                    index += 1;
                }
                if flags & 1 == 1 || closes(&ring.points) {
                    rings.push(ring);
                } else {
                    open_polylines += 1;
                }
            }
            (Some("ENTITIES"), 0, "HATCH") => {
                let start_line = group.line;
                index += 1;
                let begin = index;
                while index < groups.len() && groups[index].code != 0 {
                    index += 1;
                }
                let hatch = Some(rings.len());
                rings.extend(
                    hatch_loops(&groups[begin..index], start_line)?
                        .into_iter()
                        .map(|ring| Ring { hatch, ..ring }),
                );
            }
            (Some("ENTITIES"), 0, "POLYLINE") => {
                let start_line = group.line;
                index += 1;
                let mut ring = Ring {
                    hatch: None,
                    layer: "0".into(),
                    entity: "POLYLINE",
                    line: start_line,
                    points: Vec::new(),
                    bulged: false,
                };
                let mut flags = 0i64;
                while index < groups.len() && groups[index].code != 0 {
                    let g = &groups[index];
                    match g.code {
                        8 => ring.layer = g.value.trim().to_owned(),
                        70 => flags = g.value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                    index += 1;
                }
                // VERTEX entities up to SEQEND.
                while index < groups.len()
                    && groups[index].code == 0
                    && groups[index].value.trim() == "VERTEX"
                {
                    index += 1;
                    let (mut x, mut y) = (None, None);
                    while index < groups.len() && groups[index].code != 0 {
                        let g = &groups[index];
                        match g.code {
                            10 => x = Some(number(g)?),
                            20 => y = Some(number(g)?),
                            42 => ring.bulged |= number(g)? != 0.0,
                            _ => {}
                        }
                        index += 1;
                    }
                    if let (Some(x), Some(y)) = (x, y) {
                        ring.points.push((x, y));
                    }
                }
                if index < groups.len() && groups[index].value.trim() == "SEQEND" {
                    index += 1;
                }
                // 16 and 64: polygon meshes and polyface meshes are not outlines.
                if flags & (16 | 64) != 0 {
                    continue;
                }
                if flags & 1 == 1 || closes(&ring.points) {
                    rings.push(ring);
                } else {
                    open_polylines += 1;
                }
            }
            _ => index += 1,
        }
    }
    if rings.is_empty() {
        return Err(dxf_error(
            groups.last().map_or(1, |g| g.line),
            format!(
                "no closed LWPOLYLINE or POLYLINE in the ENTITIES section ({open_polylines} open polyline(s) ignored)"
            ),
        ));
    }
    let to_wgs84 = crs.transformer("the DXF")?;
    // A HATCH is one feature: its loops are grouped by containment. Polylines are one
    // ring each (CAD programs, and Entmoot, draw a holed polygon as one closed polyline
    // per ring), so those of a layer are grouped by containment into one feature: a
    // ring inside another is a hole, separate outer rings are parts.
    let mut by_layer: BTreeMap<(String, Option<usize>), Vec<LocatedRing>> = BTreeMap::new();
    for ring in rings {
        let location = format!(
            "{} on layer {} (line {})",
            ring.entity, ring.layer, ring.line
        );
        let mut repairs = Vec::new();
        if ring.bulged {
            repairs.push(Repair {
                location: location.clone(),
                action: "arc segments (bulges) were read as straight edges".into(),
            });
        }
        let mut points = Vec::with_capacity(ring.points.len());
        for (point_index, (x, y)) in ring.points.into_iter().enumerate() {
            if !x.is_finite() || !y.is_finite() {
                return Err(ImportError::InvalidGeometry {
                    location: format!("{location}, vertex {point_index}"),
                    reason: format!("({x}, {y}) is not a number (NaN or infinite coordinate)"),
                });
            }
            let converted = to_wgs84.convert(x, y).ok_or_else(|| ImportError::InvalidGeometry {
                location: format!("{location}, vertex {point_index}"),
                reason: format!("({x}, {y}) cannot be converted from {} to WGS84; is the declared CRS right?", crs.name),
            })?;
            points.push(converted);
        }
        let layer_rings = by_layer
            .entry((ring.layer.clone(), ring.hatch))
            .or_default();
        if layer_rings.len() >= MAX_RINGS_PER_LAYER {
            return Err(dxf_error(
                ring.line,
                format!(
                    "layer {} holds more than {MAX_RINGS_PER_LAYER} closed rings; a parcel drawing needs far fewer",
                    ring.layer
                ),
            ));
        }
        layer_rings.push((points, location, repairs));
    }
    let mut polygons = Vec::new();
    // Whether each feature is a HATCH, to merge a layer's separate hatches below.
    let mut from_hatch = Vec::new();
    for ((layer, hatch), rings) in by_layer {
        let parts = assemble_rings(rings.iter().map(|(points, _, _)| points.clone()).collect());
        let mut cleaned = Vec::with_capacity(parts.len());
        let mut repairs: Vec<Repair> = Vec::new();
        let mut first_location = None;
        for part_rings in parts {
            // Messages name the entity of the part's exterior ring.
            let Some(exterior) = part_rings.first() else {
                continue;
            };
            let location = rings
                .iter()
                .find(|(points, _, _)| points == exterior)
                .map(|(_, location, _)| location.clone())
                .unwrap_or_else(|| format!("layer {layer}"));
            for ring in &part_rings {
                if let Some((_, _, ring_repairs)) =
                    rings.iter().find(|(points, _, _)| points == ring)
                {
                    repairs.extend(ring_repairs.iter().cloned());
                }
            }
            let polygon = clean_polygon_any_orientation(&location, &part_rings, &mut repairs)?;
            first_location.get_or_insert(location);
            cleaned.push(polygon);
        }
        if cleaned.is_empty() {
            continue;
        }
        let location = if cleaned.len() == 1 {
            first_location.unwrap_or_else(|| format!("layer {layer}"))
        } else {
            format!("layer {layer} ({} polygons)", cleaned.len())
        };
        polygons.push(NamedPolygon {
            name: Some(layer.clone()),
            location,
            geometry: MultiPolygon::new(cleaned),
            properties: BTreeMap::from([("layer".to_owned(), layer.clone())]),
            repairs,
        });
        from_hatch.push(hatch.is_some());
    }
    Ok((
        merge_outer_hatches(polygons, &from_hatch),
        format!("{} (declared)", crs.name),
    ))
}

/// GDAL writes each part of a multi-part polygon as its own HATCH, on one layer. So the
/// hatches of a layer that lie inside no other hatch of that layer are the parts of one
/// feature, merged; a hatch inside another (a pond drawn over the parcel) stays a
/// feature of its own.
fn merge_outer_hatches(polygons: Vec<NamedPolygon>, from_hatch: &[bool]) -> Vec<NamedPolygon> {
    use entmoot_plugin_sdk::geo::Contains;
    let inside_another = |index: usize| {
        let Some(first) = polygons[index]
            .geometry
            .0
            .first()
            .and_then(|p| p.exterior().0.first())
        else {
            return false;
        };
        polygons.iter().enumerate().any(|(other, candidate)| {
            other != index
                && from_hatch.get(other) == Some(&true)
                && candidate.properties.get("layer") == polygons[index].properties.get("layer")
                && candidate.geometry.contains(first)
        })
    };
    let outer: Vec<bool> = (0..polygons.len())
        .map(|index| from_hatch.get(index) == Some(&true) && !inside_another(index))
        .collect();
    let mut merged: Vec<NamedPolygon> = Vec::with_capacity(polygons.len());
    // Where the merged feature of each layer is in `merged`.
    let mut layer_slot: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for (polygon, is_outer) in polygons.into_iter().zip(outer) {
        if !is_outer {
            merged.push(polygon);
            continue;
        }
        let layer = polygon.properties.get("layer").cloned();
        match layer_slot.get(&layer) {
            Some(&slot) => {
                let target = &mut merged[slot];
                target.geometry.0.extend(polygon.geometry.0);
                target.repairs.extend(polygon.repairs);
                target.location = format!(
                    "HATCHes on layer {} ({} polygons)",
                    layer.as_deref().unwrap_or("0"),
                    target.geometry.0.len()
                );
            }
            None => {
                layer_slot.insert(layer, merged.len());
                merged.push(polygon);
            }
        }
    }
    merged
}

/// Segments per full circle when an arc edge is approximated.
const ARC_SEGMENTS: f64 = 16.0;

/// The boundary loops of a HATCH (group codes after `91`, the loop count).
fn hatch_loops(groups: &[Group<'_>], line: usize) -> Result<Vec<Ring>, ImportError> {
    let layer = groups
        .iter()
        .find(|g| g.code == 8)
        .map(|g| g.value.trim().to_owned())
        .unwrap_or_else(|| "0".into());
    let Some(start) = groups.iter().position(|g| g.code == 91) else {
        return Ok(Vec::new());
    };
    let loops = number(&groups[start])? as usize;
    let mut at = start + 1;
    let mut next = |code: i32| -> Result<f64, ImportError> {
        while at < groups.len() {
            let g = &groups[at];
            at += 1;
            if g.code == code {
                return number(g);
            }
            if g.code == 92 || g.code == 75 || g.code == 98 {
                break;
            }
        }
        Err(dxf_error(
            line,
            format!("HATCH boundary is missing group {code}"),
        ))
    };
    let mut rings = Vec::new();
    for _ in 0..loops.min(10_000) {
        let flags = next(92)? as i64;
        let mut ring = Ring {
            hatch: None,
            layer: layer.clone(),
            entity: "HATCH",
            line,
            points: Vec::new(),
            bulged: false,
        };
        if flags & 2 != 0 {
            let has_bulge = next(72)? != 0.0;
            let _closed = next(73)?;
            let count = next(93)? as usize;
            for _ in 0..count.min(1_000_000) {
                let x = next(10)?;
                let y = next(20)?;
                if has_bulge {
                    ring.bulged |= next(42)? != 0.0;
                }
                ring.points.push((x, y));
            }
        } else {
            let edges = next(93)? as usize;
            for _ in 0..edges.min(1_000_000) {
                match next(72)? as i64 {
                    1 => {
                        ring.points.push((next(10)?, next(20)?));
                        let _end = (next(11)?, next(21)?);
                    }
                    2 => {
                        let (cx, cy, r) = (next(10)?, next(20)?, next(40)?);
                        let (a0, a1) = (next(50)?, next(51)?);
                        let ccw = next(73)? != 0.0;
                        if ![cx, cy, r, a0, a1].iter().all(|value| value.is_finite()) {
                            return Err(dxf_error(
                                line,
                                "HATCH arc edge has a non-finite centre, radius or angle",
                            ));
                        }
                        // Normalised to (0, 360]: a huge angle must not become millions of
                        // segments (the fuzz test found that hang).
                        let mut sweep = (if ccw { a1 - a0 } else { a0 - a1 }).rem_euclid(360.0);
                        if sweep <= 0.0 {
                            sweep = 360.0;
                        }
                        let steps = ((sweep / 360.0 * ARC_SEGMENTS).ceil() as usize).max(1);
                        for step in 0..steps {
                            let t = step as f64 / steps as f64 * sweep;
                            let angle = if ccw { a0 + t } else { a0 - t }.to_radians();
                            ring.points
                                .push((cx + r * angle.cos(), cy + r * angle.sin()));
                        }
                    }
                    other => {
                        return Err(dxf_error(
                            line,
                            format!(
                                "HATCH edge type {other} (ellipse or spline) is not supported; explode the hatch into polylines"
                            ),
                        ));
                    }
                }
            }
        }
        if ring.points.len() >= 3 {
            rings.push(ring);
        }
    }
    Ok(rings)
}

/// A ring in WGS84 with its location and repairs so far.
type LocatedRing = (Vec<(f64, f64)>, String, Vec<Repair>);

fn closes(points: &[(f64, f64)]) -> bool {
    points.len() > 3 && points.first() == points.last()
}

#[cfg(test)]
mod tests {
    use super::super::export::test_support::demo;
    use super::super::export::{DrawingUnits, ExportInput, Scene, dxf};
    use super::*;

    #[test]
    fn reads_back_our_own_drawing_in_metres_and_feet() {
        let (problem, layout, metrics) = demo();
        let scene = Scene::build(&ExportInput {
            title: "Demo",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        })
        .unwrap();
        let metres = Crs::from_epsg(problem.projection.epsg()).unwrap();
        let feet =
            Crs::parse_declared("+proj=utm +zone=13 +datum=WGS84 +units=ft +no_defs").unwrap();
        for (units, crs) in [(DrawingUnits::Metres, metres), (DrawingUnits::Feet, feet)] {
            let text = dxf::write(&scene, units);
            assert!(looks_like_dxf(&text));
            let (polygons, crs_name) = read_polygons(text.as_bytes(), Some(&crs)).unwrap();
            assert!(crs_name.contains("zone"), "{crs_name}");
            let layers: Vec<&str> = polygons
                .iter()
                .map(|p| p.properties["layer"].as_str())
                .collect();
            assert_eq!(
                layers.iter().filter(|l| **l == "ASSETS").count(),
                1,
                "one feature per layer: {layers:?}"
            );
            let assets = polygons
                .iter()
                .find(|p| p.properties["layer"] == "ASSETS")
                .unwrap();
            assert_eq!(assets.geometry.0.len(), 2, "both assets are parts of it");
            assert!(layers.contains(&"BOUNDARY") && layers.contains(&"SETBACK"));
            let boundary = polygons
                .iter()
                .find(|p| p.properties["layer"] == "BOUNDARY")
                .unwrap();
            let original = scene.features[0].wgs84.clone();
            let original: entmoot_plugin_sdk::geo::MultiPolygon<f64> = original.try_into().unwrap();
            for (a, b) in boundary.geometry.0[0]
                .exterior()
                .0
                .iter()
                .zip(original.0[0].exterior().0.iter())
            {
                assert!(
                    (a.x - b.x).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6,
                    "{units:?} {a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn needs_a_crs_and_names_bad_lines() {
        let text = "0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n8\nLOT\n70\n1\n10\n1.0\n20\nabc\n0\nENDSEC\n0\nEOF\n";
        let error = read_polygons(text.as_bytes(), None).unwrap_err();
        assert!(error.to_string().contains("declare one"), "{error}");
        let crs = Crs::from_epsg(32613).unwrap();
        let error = read_polygons(text.as_bytes(), Some(&crs)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "DXF line 14: `abc` is not a number (group 20)"
        );
        let error =
            read_polygons(b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n", Some(&crs)).unwrap_err();
        assert!(error.to_string().contains("no closed"), "{error}");
    }
}
