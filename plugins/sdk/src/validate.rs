//! The placement validator: the rules every stored layout satisfies. The host runs it on every
//! layout a plugin returns; strategies run the same code so they score exactly as the host.
//!
//! Pairwise rules use the R-tree in `index`, so validation is O(n log n), not O(n²).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Instant;

use geo::{Area, Distance, Euclidean, Intersects, PreparedGeometry, Relate};
use serde::{Deserialize, Serialize};

use crate::geometry::{TOLERANCE_M, angles_match, rectangle};
use crate::index::FootprintIndex;
use crate::layout::{Layout, PlacedAsset};
use crate::problem::{Problem, ProblemAsset};
use crate::program::Rotations;

/// Which rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A number is NaN/infinite or a size is not positive.
    InvalidValue,
    /// The asset id is not in the problem.
    UnknownAsset,
    /// The same asset id is placed twice.
    DuplicateAsset,
    /// Name, type, size or outline differ from the problem's asset.
    AssetMismatch,
    /// The rotation is not one the asset allows.
    RotationNotAllowed,
    /// The footprint is not inside the buildable area.
    OutsideBuildable,
    /// Two footprints overlap.
    Overlap,
    /// Two footprints are closer than the minimum spacing.
    Spacing,
    /// The total footprint exceeds the coverage limit.
    Coverage,
    /// A road has fewer than two points, bad coordinates or a bad width.
    InvalidRoad,
    /// A road centreline leaves the parcel boundary.
    RoadOutsideBoundary,
    /// A road's paved area (centreline ± half its width) overlaps an asset's footprint.
    RoadCrossesAsset,
    /// A road centreline runs through an exclusion zone (the zone itself, not its buffer).
    RoadCrossesExclusion,
    /// A road is steeper than the maximum grade somewhere (only checked with terrain).
    RoadTooSteep,
    /// A placed asset is not reachable by road from an entrance.
    UnreachableAsset,
}

impl Rule {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::InvalidValue => "invalid_value",
            Rule::UnknownAsset => "unknown_asset",
            Rule::DuplicateAsset => "duplicate_asset",
            Rule::AssetMismatch => "asset_mismatch",
            Rule::RotationNotAllowed => "rotation_not_allowed",
            Rule::OutsideBuildable => "outside_buildable",
            Rule::Overlap => "overlap",
            Rule::Spacing => "spacing",
            Rule::Coverage => "coverage",
            Rule::InvalidRoad => "invalid_road",
            Rule::RoadOutsideBoundary => "road_outside_boundary",
            Rule::RoadCrossesAsset => "road_crosses_asset",
            Rule::RoadCrossesExclusion => "road_crosses_exclusion",
            Rule::RoadTooSteep => "road_too_steep",
            Rule::UnreachableAsset => "unreachable_asset",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    /// The assets involved (empty for layout-wide rules and roads).
    pub asset_ids: Vec<String>,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// Rotations may differ from an allowed angle by this much (degrees).
pub const ROTATION_TOLERANCE_DEG: f64 = 1e-6;

/// A road reaches an entrance when its centreline comes this close to it (metres).
pub const ENTRANCE_SNAP_M: f64 = 1.0;

/// Two roads are connected when their centrelines come this close (metres).
pub const ROAD_JOIN_M: f64 = 0.01;

/// Checks a layout against a problem; an empty list means valid.
pub fn validate_layout(problem: &Problem, layout: &Layout) -> Vec<Violation> {
    let mut budget = Budget {
        deadline: None,
        max_violations: usize::MAX,
        ticks: 0,
        out_of_time: false,
    };
    validate_with(problem, layout, &mut budget)
}

/// The validator ran out of its time budget before it could judge the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the layout could not be validated within its time budget")]
pub struct OutOfTime;

/// Like `validate_layout`, but stops at `deadline` (`Err(OutOfTime)`) and once
/// `max_violations` are found (the list is then not exhaustive, but non-empty: the layout is
/// invalid). What the host runs on a plugin's output, so that no output costs it more than the
/// budget.
pub fn validate_layout_within(
    problem: &Problem,
    layout: &Layout,
    deadline: Option<Instant>,
    max_violations: usize,
) -> Result<Vec<Violation>, OutOfTime> {
    let mut budget = Budget {
        deadline,
        max_violations: max_violations.max(1),
        ticks: 0,
        out_of_time: false,
    };
    let mut out = validate_with(problem, layout, &mut budget);
    if budget.out_of_time {
        return Err(OutOfTime);
    }
    out.truncate(budget.max_violations);
    Ok(out)
}

/// When the validator stops: a deadline (checked every few steps) and a number of violations.
struct Budget {
    deadline: Option<Instant>,
    max_violations: usize,
    ticks: u32,
    out_of_time: bool,
}

impl Budget {
    /// Whether to stop now: enough violations found, or the deadline passed.
    fn spent(&mut self, out: &[Violation]) -> bool {
        if out.len() >= self.max_violations || self.out_of_time {
            return true;
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(16)
            && let Some(deadline) = self.deadline
            && Instant::now() >= deadline
        {
            self.out_of_time = true;
        }
        self.out_of_time
    }
}

fn validate_with(problem: &Problem, layout: &Layout, budget: &mut Budget) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    // Indices of assets whose geometry is sound enough for the spatial checks.
    let mut geometric = Vec::new();
    let specs: HashMap<&str, &ProblemAsset> = problem
        .assets
        .iter()
        .map(|a| (a.asset_id.as_str(), a))
        .collect();

    for (i, a) in layout.assets.iter().enumerate() {
        if budget.spent(&out) {
            return out;
        }
        let id = || vec![a.asset_id.clone()];
        let values = [
            a.center[0],
            a.center[1],
            a.width_m,
            a.length_m,
            a.rotation_deg,
        ];
        if values.iter().any(|v| !v.is_finite()) || a.width_m <= 0.0 || a.length_m <= 0.0 {
            out.push(Violation {
                rule: Rule::InvalidValue,
                asset_ids: id(),
                message: format!(
                    "assets[{i}] ({}): center, sizes and rotation must be finite and sizes > 0, got center {:?}, width {}, length {}, rotation {}",
                    a.asset_id, a.center, a.width_m, a.length_m, a.rotation_deg
                ),
            });
            continue;
        }
        if !seen.insert(a.asset_id.as_str()) {
            out.push(Violation {
                rule: Rule::DuplicateAsset,
                asset_ids: id(),
                message: format!("assets[{i}]: {} is placed more than once", a.asset_id),
            });
        }
        match specs.get(a.asset_id.as_str()) {
            None => out.push(Violation {
                rule: Rule::UnknownAsset,
                asset_ids: id(),
                message: format!("assets[{i}]: {} is not an asset of the problem", a.asset_id),
            }),
            Some(spec) => {
                check_matches_spec(i, a, spec, &mut out);
                check_rotation(i, a, spec, problem.reference_angle_deg, &mut out);
            }
        }
        geometric.push(i);
    }

    check_inside_buildable(problem, layout, &geometric, &mut out, budget);
    check_pairs(problem, layout, &geometric, &mut out, budget);
    check_coverage(problem, layout, &geometric, &mut out);
    check_roads(problem, layout, &geometric, &mut out, budget);
    check_reachable(problem, layout, &geometric, &mut out, budget);
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

fn check_matches_spec(i: usize, a: &PlacedAsset, spec: &ProblemAsset, out: &mut Vec<Violation>) {
    let mut problems = Vec::new();
    if a.name != spec.name {
        problems.push(format!("name {:?} (expected {:?})", a.name, spec.name));
    }
    if a.asset_type != spec.asset_type {
        problems.push(format!(
            "type {} (expected {})",
            a.asset_type, spec.asset_type
        ));
    }
    if !close(a.width_m, spec.width_m) || !close(a.length_m, spec.length_m) {
        problems.push(format!(
            "size {} × {} m (expected {} × {} m)",
            a.width_m, a.length_m, spec.width_m, spec.length_m
        ));
    }
    if a.shape != spec.shape {
        problems.push(format!(
            "outline {} (expected {})",
            a.shape.kind(),
            spec.shape.kind()
        ));
    }
    if !problems.is_empty() {
        out.push(Violation {
            rule: Rule::AssetMismatch,
            asset_ids: vec![a.asset_id.clone()],
            message: format!("assets[{i}] ({}): {}", a.asset_id, problems.join(", ")),
        });
    }
}

/// Whether `rotation_deg` is allowed by `rotations` on a site whose reference angle is
/// `reference_deg` (see `Rotations`).
pub fn rotation_allowed(rotations: Rotations, rotation_deg: f64, reference_deg: f64) -> bool {
    match rotations {
        Rotations::Free => true,
        Rotations::Fixed => angles_match(rotation_deg, 0.0, 360.0, ROTATION_TOLERANCE_DEG),
        Rotations::QuarterTurns => {
            angles_match(rotation_deg, 0.0, 90.0, ROTATION_TOLERANCE_DEG)
                || angles_match(rotation_deg, reference_deg, 90.0, ROTATION_TOLERANCE_DEG)
        }
    }
}

fn check_rotation(
    i: usize,
    a: &PlacedAsset,
    spec: &ProblemAsset,
    reference_deg: f64,
    out: &mut Vec<Violation>,
) {
    if !rotation_allowed(spec.rotations, a.rotation_deg, reference_deg) {
        let allowed = match spec.rotations {
            Rotations::Fixed => "only 0°".to_string(),
            _ => format!("multiples of 90° from 0° or from the site's {reference_deg:.4}°"),
        };
        out.push(Violation {
            rule: Rule::RotationNotAllowed,
            asset_ids: vec![a.asset_id.clone()],
            message: format!(
                "assets[{i}] ({}): rotation {}° is not allowed ({allowed})",
                a.asset_id, a.rotation_deg
            ),
        });
    }
}

/// The footprint shrunk by the tolerance on every side: what must strictly satisfy the rules.
fn shrunk(a: &PlacedAsset) -> geo::Polygon<f64> {
    let shrink = |d: f64| {
        if d > 4.0 * TOLERANCE_M {
            d - 2.0 * TOLERANCE_M
        } else {
            d / 2.0
        }
    };
    rectangle(
        a.center,
        shrink(a.width_m),
        shrink(a.length_m),
        a.rotation_deg,
    )
}

fn check_inside_buildable(
    problem: &Problem,
    layout: &Layout,
    geometric: &[usize],
    out: &mut Vec<Violation>,
    budget: &mut Budget,
) {
    if geometric.is_empty() {
        return;
    }
    let buildable = PreparedGeometry::from(&problem.buildable_m);
    for &i in geometric {
        if budget.spent(out) {
            return;
        }
        let a = &layout.assets[i];
        if !buildable.relate(&shrunk(a)).is_covers() {
            out.push(Violation {
                rule: Rule::OutsideBuildable,
                asset_ids: vec![a.asset_id.clone()],
                message: format!(
                    "assets[{i}] ({}) at [{:.3}, {:.3}] is not inside the buildable area (boundary minus {:.2} m setback and exclusions)",
                    a.asset_id, a.center[0], a.center[1], problem.setback_m
                ),
            });
        }
    }
}

fn check_pairs(
    problem: &Problem,
    layout: &Layout,
    geometric: &[usize],
    out: &mut Vec<Violation>,
    budget: &mut Budget,
) {
    let footprints: Vec<_> = geometric
        .iter()
        .map(|&i| layout.assets[i].footprint())
        .collect();
    let index = FootprintIndex::from_polygons(footprints.iter().zip(0..));
    let reach = problem.widest_spacing_m();
    for (k, fp) in footprints.iter().enumerate() {
        let mut near = index.near(fp, reach);
        near.sort_unstable();
        for m in near.into_iter().filter(|&m| m > k) {
            if budget.spent(out) {
                return;
            }
            let (i, j) = (geometric[k], geometric[m]);
            let (a, b) = (&layout.assets[i], &layout.assets[j]);
            let ids = vec![a.asset_id.clone(), b.asset_id.clone()];
            if shrunk(a).intersects(&shrunk(b)) {
                out.push(Violation {
                    rule: Rule::Overlap,
                    asset_ids: ids,
                    message: format!(
                        "assets[{i}] ({}) and assets[{j}] ({}) overlap",
                        a.asset_id, b.asset_id
                    ),
                });
            } else {
                let spacing = problem.spacing_between(a.asset_type, b.asset_type);
                let d = Euclidean.distance(fp, &footprints[m]);
                if spacing > 0.0 && d < spacing - TOLERANCE_M {
                    let which = if spacing == problem.min_spacing_m {
                        "the minimum spacing".to_owned()
                    } else {
                        format!("the spacing between {} and {}", a.asset_type, b.asset_type)
                    };
                    out.push(Violation {
                        rule: Rule::Spacing,
                        asset_ids: ids,
                        message: format!(
                            "assets[{i}] ({}) and assets[{j}] ({}) are {d:.3} m apart; {which} is {spacing:.3} m",
                            a.asset_id, b.asset_id
                        ),
                    });
                }
            }
        }
    }
}

fn check_coverage(
    problem: &Problem,
    layout: &Layout,
    geometric: &[usize],
    out: &mut Vec<Violation>,
) {
    let footprint: f64 = geometric
        .iter()
        .map(|&i| layout.assets[i].footprint().unsigned_area())
        .sum();
    let limit = problem.max_footprint_m2();
    if footprint > limit + TOLERANCE_M * TOLERANCE_M * geometric.len() as f64 + 1e-9 * limit {
        out.push(Violation {
            rule: Rule::Coverage,
            asset_ids: Vec::new(),
            message: format!(
                "total footprint {footprint:.1} m² is {:.2} % of the boundary area; the limit is {:.2} % ({limit:.1} m²)",
                100.0 * footprint / problem.boundary_area_m2,
                100.0 * problem.max_coverage
            ),
        });
    }
}

fn check_roads(
    problem: &Problem,
    layout: &Layout,
    geometric: &[usize],
    out: &mut Vec<Violation>,
    budget: &mut Budget,
) {
    if layout.roads.is_empty() {
        return;
    }
    let footprints: Vec<_> = geometric
        .iter()
        .map(|&i| shrunk(&layout.assets[i]))
        .collect();
    let index = FootprintIndex::from_polygons(footprints.iter().zip(0..));
    let boundary = PreparedGeometry::from(&problem.boundary_m);
    let cores: Vec<_> = problem
        .exclusions_m
        .iter()
        .map(|e| (e, crate::prepare::exclusion_core(e)))
        .collect();
    let max_grade = problem.roads.max_grade_percent / 100.0;
    let mut grown_boundary: Option<geo::MultiPolygon<f64>> = None;
    for (r, road) in layout.roads.iter().enumerate() {
        if budget.spent(out) {
            return;
        }
        let bad_point = road
            .points
            .iter()
            .position(|p| !p[0].is_finite() || !p[1].is_finite());
        if road.points.len() < 2
            || bad_point.is_some()
            || road.width_m <= 0.0
            || !road.width_m.is_finite()
        {
            out.push(Violation {
                rule: Rule::InvalidRoad,
                asset_ids: Vec::new(),
                message: format!(
                    "roads[{r}]: needs at least 2 finite points and a width > 0, got {} points{} and width {}",
                    road.points.len(),
                    bad_point.map(|k| format!(" (points[{k}] is not finite)")).unwrap_or_default(),
                    road.width_m
                ),
            });
            continue;
        }
        let line = road.centreline();
        // Entrances lie on the boundary up to rounding; allow the tolerance before calling a
        // centreline outside (the grown boundary is only built when needed).
        if !boundary.relate(&line).is_covers()
            && !grown_boundary
                .get_or_insert_with(|| geo::Buffer::buffer(&problem.boundary_m, TOLERANCE_M))
                .relate(&line)
                .is_covers()
        {
            out.push(Violation {
                rule: Rule::RoadOutsideBoundary,
                asset_ids: Vec::new(),
                message: format!("roads[{r}]: the centreline leaves the parcel boundary"),
            });
        }
        let Some(bbox) = geo::BoundingRect::bounding_rect(&line) else {
            continue;
        };
        let half = road.width_m / 2.0;
        let mut hits = index.near_box(
            [bbox.min().x, bbox.min().y],
            [bbox.max().x, bbox.max().y],
            half,
        );
        hits.sort_unstable();
        for k in hits {
            if budget.spent(out) {
                return;
            }
            if footprints[k].unsigned_area() <= 0.0 {
                continue;
            }
            let d = Euclidean.distance(&footprints[k], &line);
            if d < half - TOLERANCE_M {
                let a = &layout.assets[geometric[k]];
                out.push(Violation {
                    rule: Rule::RoadCrossesAsset,
                    asset_ids: vec![a.asset_id.clone()],
                    message: if d == 0.0 {
                        format!("roads[{r}]: the centreline runs through {}", a.asset_id)
                    } else {
                        format!(
                            "roads[{r}]: the {:.2} m wide pavement overlaps {} (centreline {d:.3} m from it)",
                            road.width_m, a.asset_id
                        )
                    },
                });
            }
        }
        for (e, core) in &cores {
            let im = line.relate(core);
            if im.is_intersects() && !im.is_touches() {
                out.push(Violation {
                    rule: Rule::RoadCrossesExclusion,
                    asset_ids: Vec::new(),
                    message: format!(
                        "roads[{r}]: the centreline crosses the {} exclusion {}",
                        e.kind,
                        e.name.as_deref().unwrap_or(&e.source)
                    ),
                });
            }
        }
        if let Some(terrain) = &problem.terrain {
            let worst = road
                .points
                .windows(2)
                .filter_map(|w| terrain.segment_max_grade(w[0], w[1]))
                .fold(0.0, f64::max);
            if worst > max_grade + 1e-6 {
                out.push(Violation {
                    rule: Rule::RoadTooSteep,
                    asset_ids: Vec::new(),
                    message: format!(
                        "roads[{r}]: grade {:.1} % exceeds the maximum {:.1} %",
                        100.0 * worst,
                        problem.roads.max_grade_percent
                    ),
                });
            }
        }
    }
}

/// Every placed asset must be served by a road connected to an entrance (or lie next to an
/// entrance): its footprint within the road's half width plus the access gap.
fn check_reachable(
    problem: &Problem,
    layout: &Layout,
    geometric: &[usize],
    out: &mut Vec<Violation>,
    budget: &mut Budget,
) {
    if !problem.roads.required || geometric.is_empty() {
        return;
    }
    let roads: Vec<(usize, geo::LineString<f64>)> = layout
        .roads
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.points.len() >= 2
                && r.width_m.is_finite()
                && r.width_m > 0.0
                && r.points
                    .iter()
                    .all(|p| p[0].is_finite() && p[1].is_finite())
        })
        .map(|(k, r)| (k, r.centreline()))
        .collect();
    let boxes: Vec<geo::Polygon<f64>> = roads
        .iter()
        .filter_map(|(_, l)| geo::BoundingRect::bounding_rect(l).map(|b| b.to_polygon()))
        .collect();
    let index = FootprintIndex::from_polygons(boxes.iter().zip(0..));
    // Connected components of the road network, from the entrances.
    let mut connected = vec![false; roads.len()];
    let mut queue = Vec::new();
    for (k, (_, line)) in roads.iter().enumerate() {
        let near_entrance = problem
            .entrances_m
            .iter()
            .any(|e| Euclidean.distance(&geo::Point::new(e[0], e[1]), line) <= ENTRANCE_SNAP_M);
        if near_entrance {
            connected[k] = true;
            queue.push(k);
        }
    }
    while let Some(k) = queue.pop() {
        for m in index.near(&boxes[k], ROAD_JOIN_M) {
            if budget.spent(out) {
                return;
            }
            if !connected[m] && Euclidean.distance(&roads[k].1, &roads[m].1) <= ROAD_JOIN_M {
                connected[m] = true;
                queue.push(m);
            }
        }
    }
    let gap = problem.roads.access_gap_m;
    let widest = problem
        .roads
        .main_width_m
        .max(problem.roads.secondary_width_m)
        .max(problem.roads.access_width_m)
        .max(
            layout
                .roads
                .iter()
                .map(|r| r.width_m)
                .filter(|w| w.is_finite())
                .fold(0.0, f64::max),
        );
    for &i in geometric {
        if budget.spent(out) {
            return;
        }
        let a = &layout.assets[i];
        // Access is to the asset's lot, its `width × length` box: a drive that ends at
        // the box serves a round tank or an L-shaped building inside it.
        let fp = a.bounding_box();
        let by_entrance = problem.entrances_m.iter().any(|e| {
            Euclidean.distance(&geo::Point::new(e[0], e[1]), &fp)
                <= problem.roads.access_width_m / 2.0 + gap + TOLERANCE_M
        });
        let served = by_entrance
            || index
                .near(&fp, widest / 2.0 + gap + TOLERANCE_M)
                .into_iter()
                .any(|k| {
                    connected[k]
                        && Euclidean.distance(&fp, &roads[k].1)
                            <= layout.roads[roads[k].0].width_m / 2.0 + gap + TOLERANCE_M
                });
        if !served {
            out.push(Violation {
                rule: Rule::UnreachableAsset,
                asset_ids: vec![a.asset_id.clone()],
                message: format!(
                    "assets[{i}] ({}): no road connected to an entrance comes within {gap:.2} m of it",
                    a.asset_id
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Road;
    use crate::program::AssetType;
    use crate::test_support::square_problem;

    fn place(problem: &Problem, id: &str, center: [f64; 2], rotation_deg: f64) -> PlacedAsset {
        let spec = problem.asset(id).unwrap();
        PlacedAsset {
            asset_id: id.into(),
            name: spec.name.clone(),
            asset_type: spec.asset_type,
            center,
            width_m: spec.width_m,
            length_m: spec.length_m,
            rotation_deg,
            shape: Default::default(),
        }
    }

    fn rules(v: &[Violation]) -> Vec<Rule> {
        v.iter().map(|v| v.rule).collect()
    }

    /// square_problem: a 100 m square boundary [0,100]², buildable [5,95]², three 10 × 20 m
    /// buildings, spacing 3 m, coverage 0.4.
    fn valid(problem: &Problem) -> Layout {
        Layout {
            assets: vec![
                place(problem, "building-1", [20.0, 20.0], 0.0),
                place(problem, "building-2", [33.0, 20.0], 180.0),
                place(problem, "building-3", [50.0, 50.0], 90.0),
            ],
            // From the entrance at (50, 0) up to 6 m below building-3, with a branch along
            // the tops of buildings 1 and 2 (5 m away: clear of the 3 m half width, within
            // half width + 3 m access gap).
            roads: vec![
                Road::new(vec![[50.0, 0.0], [50.0, 39.0]], 6.0),
                Road::new(vec![[50.0, 35.0], [20.0, 35.0]], 6.0),
            ],
        }
    }

    #[test]
    fn a_valid_layout_has_no_violations() {
        let p = square_problem();
        assert_eq!(validate_layout(&p, &valid(&p)), vec![]);
        // Exactly at the spacing and exactly on the buildable edge is fine.
        let mut l = valid(&p);
        l.assets[0].center = [10.0, 15.0];
        l.assets[1].center = [23.0, 15.0];
        l.roads[1] = Road::new(vec![[50.0, 30.0], [10.0, 30.0]], 6.0);
        assert_eq!(validate_layout(&p, &l), vec![]);
    }

    #[test]
    fn outside_buildable() {
        let mut p = square_problem();
        // Reachability has its own test.
        p.roads.required = false;
        let mut l = valid(&p);
        l.assets[2].center = [92.0, 50.0];
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::OutsideBuildable]);
        assert_eq!(v[0].asset_ids, vec!["building-3"]);
        assert!(
            v[0].message.contains("assets[2] (building-3)"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn overlap_and_spacing() {
        let p = square_problem();
        let mut l = valid(&p);
        l.assets[1].center = [25.0, 20.0];
        assert_eq!(rules(&validate_layout(&p, &l)), vec![Rule::Overlap]);
        l.assets[1].center = [32.0, 20.0];
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::Spacing]);
        assert!(v[0].message.contains("2.000 m apart"), "{}", v[0].message);
        assert_eq!(v[0].asset_ids, vec!["building-1", "building-2"]);
    }

    #[test]
    fn a_pair_spacing_replaces_the_minimum_for_its_types() {
        let mut p = square_problem();
        p.assets[1].asset_type = AssetType::StorageTank;
        let mut l = valid(&p);
        l.assets[1].asset_type = AssetType::StorageTank;
        // 3 m apart: enough for the minimum, not for the 8 m a building and a tank need.
        p.pair_spacings = vec![crate::problem::PairSpacing {
            between: [AssetType::StorageTank, AssetType::Building],
            spacing_m: 8.0,
        }];
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::Spacing]);
        assert!(
            v[0].message
                .contains("the spacing between building and storage_tank is 8.000 m"),
            "{}",
            v[0].message
        );
        // A smaller one is allowed too: 2 m apart with a 1 m pair spacing.
        p.pair_spacings[0].spacing_m = 1.0;
        l.assets[1].center = [32.0, 20.0];
        assert_eq!(validate_layout(&p, &l), vec![]);
        assert_eq!(p.widest_spacing_m(), 3.0);
    }

    #[test]
    fn coverage() {
        let mut p = square_problem();
        p.max_coverage = 0.05; // 500 m² allowed, 600 m² placed
        let v = validate_layout(&p, &valid(&p));
        assert_eq!(rules(&v), vec![Rule::Coverage]);
        assert!(v[0].message.contains("6.00 %"), "{}", v[0].message);
    }

    #[test]
    fn unknown_duplicate_and_mismatched_assets() {
        let mut p = square_problem();
        // Reachability has its own test.
        p.roads.required = false;
        let mut l = valid(&p);
        l.assets[2].asset_id = "building-1".into();
        l.assets[2].center = [70.0, 70.0];
        assert_eq!(rules(&validate_layout(&p, &l)), vec![Rule::DuplicateAsset]);
        l.assets[2].asset_id = "tank-9".into();
        assert_eq!(rules(&validate_layout(&p, &l)), vec![Rule::UnknownAsset]);
        let mut l = valid(&p);
        l.assets[0].width_m = 5.0;
        l.assets[0].asset_type = AssetType::Pond;
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::AssetMismatch]);
        assert!(
            v[0].message.contains("type pond (expected building)"),
            "{}",
            v[0].message
        );
        assert!(v[0].message.contains("size 5 × 20 m"), "{}", v[0].message);
    }

    #[test]
    fn rotations() {
        let mut p = square_problem();
        // Reachability has its own test.
        p.roads.required = false;
        let mut l = valid(&p);
        l.roads.clear();
        l.assets[2].rotation_deg = 30.0;
        assert_eq!(
            rules(&validate_layout(&p, &l)),
            vec![Rule::RotationNotAllowed]
        );
        p.reference_angle_deg = 30.0;
        assert_eq!(validate_layout(&p, &l), vec![], "aligned with the site");
        p.assets[2].rotations = Rotations::Fixed;
        assert_eq!(
            rules(&validate_layout(&p, &l)),
            vec![Rule::RotationNotAllowed]
        );
        p.assets[2].rotations = Rotations::Free;
        l.assets[2].rotation_deg = 17.0;
        assert_eq!(validate_layout(&p, &l), vec![]);
    }

    #[test]
    fn invalid_values_do_not_panic() {
        let p = square_problem();
        let mut l = valid(&p);
        l.assets[0].center = [f64::NAN, 1.0];
        l.assets[1].width_m = -3.0;
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::InvalidValue, Rule::InvalidValue]);
        assert!(v[1].message.contains("width -3"), "{}", v[1].message);
    }

    #[test]
    fn roads() {
        let p = square_problem();
        let mut l = valid(&p);
        l.roads
            .push(Road::new(vec![[0.0, 20.0], [60.0, 20.0]], 6.0));
        l.roads
            .push(Road::new(vec![[50.0, 50.0], [150.0, 50.0]], 6.0));
        l.roads.push(Road::new(vec![[1.0, 1.0]], 0.0));
        let v = validate_layout(&p, &l);
        assert_eq!(
            rules(&v),
            vec![
                Rule::RoadCrossesAsset,
                Rule::RoadCrossesAsset,
                Rule::RoadOutsideBoundary,
                Rule::RoadCrossesAsset,
                Rule::InvalidRoad
            ],
            "{v:#?}"
        );
    }

    #[test]
    fn unreachable_assets_exclusions_and_grades() {
        let mut p = square_problem();
        let l = valid(&p);
        // Without the branch road, buildings 1 and 2 are not served.
        let mut cut = l.clone();
        cut.roads.pop();
        let v = validate_layout(&p, &cut);
        assert_eq!(
            rules(&v),
            vec![Rule::UnreachableAsset, Rule::UnreachableAsset]
        );
        assert_eq!(v[0].asset_ids, vec!["building-1"]);
        // A branch that does not touch the trunk serves nothing either.
        let mut detached = l.clone();
        detached.roads[1] = Road::new(vec![[45.0, 35.0], [20.0, 35.0]], 6.0);
        assert_eq!(
            rules(&validate_layout(&p, &detached)),
            vec![Rule::UnreachableAsset, Rule::UnreachableAsset]
        );
        // A wetland across the trunk.
        let wetland = geo::Rect::new((45.0, 10.0), (55.0, 15.0)).to_polygon();
        p.exclusions_m.push(crate::problem::ProblemExclusion {
            kind: crate::program::ExclusionKind::Wetland,
            buffer_m: 0.0,
            name: Some("marsh".into()),
            source: "site.exclusions[0]".into(),
            geometry: geo::Geometry::Polygon(wetland.clone()),
            keep_out: geo::MultiPolygon::new(vec![wetland]),
        });
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::RoadCrossesExclusion]);
        assert!(
            v[0].message.contains("wetland exclusion marsh"),
            "{}",
            v[0].message
        );
        p.exclusions_m.clear();
        // Terrain rising 20 % northwards makes the trunk too steep.
        p.terrain = Some(crate::terrain::Terrain::from_fn(
            [0.0, 0.0],
            5.0,
            21,
            21,
            |_, y| 0.2 * y,
        ));
        let v = validate_layout(&p, &l);
        assert_eq!(rules(&v), vec![Rule::RoadTooSteep]);
        assert!(v[0].message.contains("grade 20.0 %"), "{}", v[0].message);
        p.roads.max_grade_percent = 25.0;
        assert_eq!(validate_layout(&p, &l), vec![]);
    }

    #[test]
    fn many_assets_validate_quickly() {
        let mut p = square_problem();
        // Reachability has its own test.
        p.roads.required = false;
        p.boundary_m = geo::MultiPolygon::new(vec![
            geo::Rect::new((0.0, 0.0), (10_000.0, 10_000.0)).to_polygon(),
        ]);
        p.buildable_m = p.boundary_m.clone();
        p.boundary_area_m2 = 1e8;
        p.max_coverage = 1.0;
        p.assets = (0..10_000)
            .map(|k| ProblemAsset {
                asset_id: format!("building-{k}"),
                name: "b".into(),
                asset_type: AssetType::Building,
                width_m: 10.0,
                length_m: 20.0,
                rotations: Rotations::QuarterTurns,
                shape: Default::default(),
                priority: 0,
            })
            .collect();
        let layout = Layout {
            assets: (0..10_000)
                .map(|k| {
                    let c = [
                        20.0 + 15.0 * (k % 500) as f64,
                        20.0 + 25.0 * (k / 500) as f64,
                    ];
                    place(&p, &format!("building-{k}"), c, 0.0)
                })
                .collect(),
            roads: vec![],
        };
        let t = std::time::Instant::now();
        assert_eq!(validate_layout(&p, &layout), vec![]);
        assert!(t.elapsed().as_secs_f64() < 20.0, "{:?}", t.elapsed());
    }
}
