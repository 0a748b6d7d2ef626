//! Checking and repairing imported polygons. Safe repairs are made and reported:
//! repeated positions removed, open rings closed, ring orientation fixed (exterior
//! counter-clockwise, holes clockwise, as RFC 7946 asks), degenerate holes dropped and
//! zero-area spikes or tiny self-touching loops removed (geo's `MakeValid`, accepted
//! only when the area changes by less than `MAX_REPAIR_AREA_CHANGE`). Everything else is
//! refused with the place it occurs: non-finite or out-of-range coordinates, empty or
//! zero-area rings, and self-intersections such as a bow-tie whose repair would change
//! the shape.

use entmoot_plugin_sdk::geo::{Area, LineString, MakeValid, Polygon, Winding};
use entmoot_plugin_sdk::validity::{
    is_valid_polygon, polygon_validation_errors, self_intersection,
};

use super::ImportError;

/// Largest relative area change a self-intersection repair may make.
pub const MAX_REPAIR_AREA_CHANGE: f64 = 0.005;

/// A repair made to an imported geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub location: String,
    pub action: String,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.action)
    }
}

fn invalid(location: impl Into<String>, reason: impl Into<String>) -> ImportError {
    ImportError::InvalidGeometry {
        location: location.into(),
        reason: reason.into(),
    }
}

/// Checks that every position is a finite WGS84 longitude/latitude.
pub fn check_positions(location: &str, ring: &[(f64, f64)]) -> Result<(), ImportError> {
    for (index, (lon, lat)) in ring.iter().enumerate() {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(invalid(
                format!("{location}, position {index}"),
                format!("({lon}, {lat}) is not a number (NaN or infinite coordinate)"),
            ));
        }
        if lon.abs() > 180.0 || lat.abs() > 90.0 {
            return Err(invalid(
                format!("{location}, position {index}"),
                format!("({lon}, {lat}) is not a WGS84 longitude, latitude"),
            ));
        }
    }
    Ok(())
}

/// Removes repeated positions and closes the ring; `None` when fewer than 3 distinct
/// corners remain.
fn clean_ring(
    location: &str,
    ring: &[(f64, f64)],
    repairs: &mut Vec<Repair>,
) -> Option<Vec<(f64, f64)>> {
    let mut cleaned: Vec<(f64, f64)> = Vec::with_capacity(ring.len() + 1);
    let mut removed = 0usize;
    for &point in ring {
        if cleaned.last() == Some(&point) {
            removed += 1;
        } else {
            cleaned.push(point);
        }
    }
    // The closing position is not a repetition.
    let closed = cleaned.len() > 1 && cleaned.first() == cleaned.last();
    if closed {
        cleaned.pop();
    }
    if removed > 0 {
        repairs.push(Repair {
            location: location.to_owned(),
            action: format!("removed {removed} repeated position(s)"),
        });
    }
    if cleaned.len() < 3 {
        return None;
    }
    if !closed {
        repairs.push(Repair {
            location: location.to_owned(),
            action: "closed the ring (its last position did not repeat the first)".into(),
        });
    }
    let first = cleaned[0];
    cleaned.push(first);
    Some(cleaned)
}

/// Checks and repairs one polygon given as rings of WGS84 positions (exterior first).
pub fn clean_polygon(
    location: &str,
    rings: &[Vec<(f64, f64)>],
    repairs: &mut Vec<Repair>,
) -> Result<Polygon<f64>, ImportError> {
    let Some((exterior, interiors)) = rings.split_first() else {
        return Err(invalid(location, "the polygon has no rings (it is empty)"));
    };
    let exterior_location = format!("{location}, exterior ring");
    check_positions(&exterior_location, exterior)?;
    let exterior_points = clean_ring(&exterior_location, exterior, repairs).ok_or_else(|| {
        invalid(
            &exterior_location,
            format!(
                "the polygon is empty: a ring needs at least 3 distinct corners, got {}",
                distinct(exterior)
            ),
        )
    })?;
    let mut exterior_ring = LineString::from(exterior_points);
    if collinear(&exterior_ring) {
        return Err(invalid(
            &exterior_location,
            "the polygon has no area (all its corners are on one line)",
        ));
    }
    if exterior_ring.is_cw() {
        exterior_ring.make_ccw_winding();
        repairs.push(Repair {
            location: exterior_location.clone(),
            action: "reversed the ring to counter-clockwise".into(),
        });
    }
    let mut holes = Vec::with_capacity(interiors.len());
    for (index, ring) in interiors.iter().enumerate() {
        let hole_location = format!("{location}, interior ring {index}");
        check_positions(&hole_location, ring)?;
        match clean_ring(&hole_location, ring, repairs) {
            Some(points) => {
                let mut hole = LineString::from(points);
                if collinear(&hole) {
                    repairs.push(Repair {
                        location: hole_location,
                        action: "dropped the hole: it has no area".into(),
                    });
                    continue;
                }
                if hole.is_ccw() {
                    hole.make_cw_winding();
                    repairs.push(Repair {
                        location: hole_location,
                        action: "reversed the hole to clockwise".into(),
                    });
                }
                holes.push(hole);
            }
            None => repairs.push(Repair {
                location: hole_location,
                action: "dropped the hole: it has fewer than 3 distinct corners".into(),
            }),
        }
    }
    let polygon = Polygon::new(exterior_ring, holes);
    if is_valid_polygon(&polygon) {
        return Ok(polygon);
    }
    let problems: Vec<String> = polygon_validation_errors(&polygon)
        .iter()
        .map(ToString::to_string)
        .collect();
    let described = match self_intersection(polygon.exterior()).map(|crossing| crossing.point) {
        Some((x, y)) => format!(
            "{} (the boundary crosses itself near {x:.7}, {y:.7})",
            problems.join("; ")
        ),
        None => problems.join("; "),
    };
    let area = polygon.unsigned_area();
    if let Ok(repaired) = polygon.make_valid()
        && repaired.0.len() == 1
        && area > 0.0
        && ((repaired.unsigned_area() - area) / area).abs() < MAX_REPAIR_AREA_CHANGE
        && is_valid_polygon(&repaired.0[0])
    {
        repairs.push(Repair {
            location: location.to_owned(),
            action: format!(
                "repaired: {described}; the area changed by {:.3} %",
                ((repaired.unsigned_area() - area) / area * 100.0).abs()
            ),
        });
        let mut repaired = repaired.0.into_iter().next().unwrap_or(polygon);
        repaired.exterior_mut(|ring| ring.make_ccw_winding());
        repaired.interiors_mut(|rings| rings.iter_mut().for_each(|ring| ring.make_cw_winding()));
        return Ok(repaired);
    }
    Err(invalid(
        location,
        format!("{described}; it cannot be repaired without changing the shape"),
    ))
}

/// `clean_polygon` for formats whose ring orientation means nothing to us (DXF has
/// none; a Shapefile's exterior rings are clockwise by its own rule, and its rings are
/// grouped by nesting): the rings are still wound as RFC 7946 asks, but that is not a
/// repair of the file, so it is not reported.
pub fn clean_polygon_any_orientation(
    location: &str,
    rings: &[Vec<(f64, f64)>],
    repairs: &mut Vec<Repair>,
) -> Result<Polygon<f64>, ImportError> {
    let mut own = Vec::new();
    let polygon = clean_polygon(location, rings, &mut own)?;
    repairs.extend(
        own.into_iter()
            .filter(|repair| !repair.action.starts_with("reversed the")),
    );
    Ok(polygon)
}

/// Twice the signed area of a closed ring (shoelace; counter-clockwise is positive).
pub fn ring_area2(ring: &LineString<f64>) -> f64 {
    ring.0
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

/// Whether every corner of a ring lies on one line (so it encloses nothing).
fn collinear(ring: &LineString<f64>) -> bool {
    let points = &ring.0;
    let Some(&origin) = points.first() else {
        return true;
    };
    let Some(&other) = points.iter().find(|p| **p != origin) else {
        return true;
    };
    points.iter().all(|p| {
        let cross =
            (other.x - origin.x) * (p.y - origin.y) - (other.y - origin.y) * (p.x - origin.x);
        let scale = (other.x - origin.x)
            .abs()
            .max((other.y - origin.y).abs())
            .max(1e-300);
        cross.abs()
            <= 1e-12
                * scale
                * scale
                    .max((p.x - origin.x).abs())
                    .max((p.y - origin.y).abs())
    })
}

fn distinct(ring: &[(f64, f64)]) -> usize {
    let mut seen: Vec<(f64, f64)> = Vec::new();
    for point in ring {
        if !seen.contains(point) {
            seen.push(*point);
            if seen.len() > 3 {
                break;
            }
        }
    }
    seen.len()
}

/// A ring of positions.
pub type Ring = Vec<(f64, f64)>;
/// A polygon's rings, exterior first.
pub type Rings = Vec<Ring>;

/// Groups closed rings into polygons by nesting: a ring inside an odd number of others
/// is a hole of the smallest ring containing it, any other ring is an exterior. This
/// does not trust ring orientation (files get it wrong). Rings need at least 3 points.
pub fn assemble_rings(rings: Vec<Ring>) -> Vec<Rings> {
    use entmoot_plugin_sdk::geo::{Contains, Coord};
    let mut indexed: Vec<(f64, Vec<(f64, f64)>)> = rings
        .into_iter()
        .filter(|ring| ring.len() >= 3)
        .map(|ring| {
            let mut closed = LineString::from(ring.clone());
            closed.close();
            let area = ring_area2(&closed).abs();
            (area, ring)
        })
        .collect();
    indexed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let shapes: Vec<Polygon<f64>> = indexed
        .iter()
        .map(|(_, ring)| Polygon::new(LineString::from(ring.clone()), vec![]))
        .collect();
    // depth[i] and the polygon each exterior ring starts.
    let mut depth = vec![0usize; indexed.len()];
    let mut parent: Vec<Option<usize>> = vec![None; indexed.len()];
    for i in 0..indexed.len() {
        let Some(&(x, y)) = indexed[i].1.first() else {
            continue;
        };
        let coord = Coord { x, y };
        // The smallest earlier (so larger) ring containing this ring's first vertex.
        if let Some(j) = (0..i).rev().find(|&j| shapes[j].contains(&coord)) {
            depth[i] = depth[j] + 1;
            parent[i] = Some(j);
        }
    }
    let mut polygons: Vec<(usize, Rings)> = Vec::new();
    for i in 0..indexed.len() {
        if depth[i].is_multiple_of(2) {
            polygons.push((i, vec![indexed[i].1.clone()]));
        }
    }
    for i in 0..indexed.len() {
        if depth[i] % 2 == 1
            && let Some(owner) = parent[i]
            && let Some((_, rings)) = polygons.iter_mut().find(|(index, _)| *index == owner)
        {
            rings.push(indexed[i].1.clone());
        }
    }
    polygons.into_iter().map(|(_, rings)| rings).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Vec<(f64, f64)> {
        vec![
            (0.0, 0.0),
            (0.001, 0.0),
            (0.001, 0.001),
            (0.0, 0.001),
            (0.0, 0.0),
        ]
    }

    #[test]
    fn safe_repairs_are_made_and_reported() {
        let mut repairs = Vec::new();
        // Open, clockwise, with a repeated corner.
        let ring = vec![
            (0.0, 0.0),
            (0.0, 0.001),
            (0.0, 0.001),
            (0.001, 0.001),
            (0.001, 0.0),
        ];
        let polygon = clean_polygon("Placemark \"Lot\" (#1)", &[ring], &mut repairs).unwrap();
        assert!(polygon.exterior().is_ccw());
        assert!(polygon.exterior().is_closed());
        let text: Vec<String> = repairs.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("removed 1 repeated"), "{text:?}");
        assert!(text[1].contains("closed the ring"), "{text:?}");
        assert!(text[2].contains("counter-clockwise"), "{text:?}");
        // A dangling spike is removed.
        let spiky = vec![
            (0.0, 0.0),
            (0.001, 0.0),
            (0.0015, 0.0005),
            (0.001, 0.0),
            (0.001, 0.001),
            (0.0, 0.001),
            (0.0, 0.0),
        ];
        let mut repairs = Vec::new();
        let polygon = clean_polygon("features[0]", &[spiky], &mut repairs).unwrap();
        assert!(is_valid_polygon(&polygon));
        assert!(
            repairs.iter().any(|r| r.action.starts_with("repaired")),
            "{repairs:?}"
        );
    }

    #[test]
    fn nests_rings_into_polygons_with_holes() {
        let big = vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ];
        let hole = vec![(2.0, 2.0), (2.0, 8.0), (8.0, 8.0), (8.0, 2.0), (2.0, 2.0)];
        let island = vec![(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0), (4.0, 4.0)];
        let apart = vec![(20.0, 0.0), (21.0, 0.0), (21.0, 1.0), (20.0, 0.0)];
        let polygons = assemble_rings(vec![island, apart, hole, big]);
        assert_eq!(polygons.len(), 3);
        assert_eq!(polygons[0].len(), 2, "the big ring has the hole");
        assert!(polygons[1..].iter().all(|p| p.len() == 1));
    }

    #[test]
    fn refuses_what_cannot_be_repaired() {
        let bowtie = vec![
            (0.0, 0.0),
            (0.001, 0.001),
            (0.001, 0.0),
            (0.0, 0.001),
            (0.0, 0.0),
        ];
        let error = clean_polygon("features[2]", &[bowtie], &mut Vec::new()).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("features[2]: "), "{message}");
        assert!(message.contains("self-intersection"), "{message}");
        assert!(message.contains("near 0.0005000, 0.0005000"), "{message}");

        let mut nan = square();
        nan[2].1 = f64::NAN;
        let error = clean_polygon("Placemark #4", &[nan], &mut Vec::new()).unwrap_err();
        assert!(error.to_string().contains("position 2"), "{error}");
        assert!(error.to_string().contains("NaN"), "{error}");

        let line = vec![(0.0, 0.0), (0.001, 0.0), (0.002, 0.0), (0.0, 0.0)];
        let error = clean_polygon("x", &[line], &mut Vec::new()).unwrap_err();
        assert!(error.to_string().contains("no area"), "{error}");
        let empty = vec![(0.0, 0.0), (0.0, 0.0), (0.0, 0.0)];
        let error = clean_polygon("x", &[empty], &mut Vec::new()).unwrap_err();
        assert!(error.to_string().contains("empty"), "{error}");
        assert!(clean_polygon("x", &[], &mut Vec::new()).is_err());
    }
}
