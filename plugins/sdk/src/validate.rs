//! The placement validator: the rules every stored layout satisfies. The host runs it on every
//! layout a plugin returns; strategies run the same code so they score exactly as the host.
//!
//! Pairwise rules use the R-tree in `index`, so validation is O(n log n), not O(n²).

use std::collections::{HashMap, HashSet};
use std::fmt;

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
    /// Name, type or size differ from the problem's asset.
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
    /// A road centreline runs through an asset's footprint.
    RoadCrossesAsset,
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

/// Checks a layout against a problem; an empty list means valid.
pub fn validate_layout(problem: &Problem, layout: &Layout) -> Vec<Violation> {
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

    check_inside_buildable(problem, layout, &geometric, &mut out);
    check_pairs(problem, layout, &geometric, &mut out);
    check_coverage(problem, layout, &geometric, &mut out);
    check_roads(problem, layout, &geometric, &mut out);
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
) {
    if geometric.is_empty() {
        return;
    }
    let buildable = PreparedGeometry::from(&problem.buildable_m);
    for &i in geometric {
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

fn check_pairs(problem: &Problem, layout: &Layout, geometric: &[usize], out: &mut Vec<Violation>) {
    let footprints: Vec<_> = geometric
        .iter()
        .map(|&i| layout.assets[i].footprint())
        .collect();
    let index = FootprintIndex::from_polygons(footprints.iter().zip(0..));
    let spacing = problem.min_spacing_m;
    for (k, fp) in footprints.iter().enumerate() {
        let mut near = index.near(fp, spacing);
        near.sort_unstable();
        for m in near.into_iter().filter(|&m| m > k) {
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
            } else if spacing > 0.0 {
                let d = Euclidean.distance(fp, &footprints[m]);
                if d < spacing - TOLERANCE_M {
                    out.push(Violation {
                        rule: Rule::Spacing,
                        asset_ids: ids,
                        message: format!(
                            "assets[{i}] ({}) and assets[{j}] ({}) are {d:.3} m apart; the minimum spacing is {spacing:.3} m",
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

fn check_roads(problem: &Problem, layout: &Layout, geometric: &[usize], out: &mut Vec<Violation>) {
    if layout.roads.is_empty() {
        return;
    }
    let footprints: Vec<_> = geometric
        .iter()
        .map(|&i| shrunk(&layout.assets[i]))
        .collect();
    let index = FootprintIndex::from_polygons(footprints.iter().zip(0..));
    let boundary = PreparedGeometry::from(&problem.boundary_m);
    for (r, road) in layout.roads.iter().enumerate() {
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
        if !boundary.relate(&line).is_covers() {
            out.push(Violation {
                rule: Rule::RoadOutsideBoundary,
                asset_ids: Vec::new(),
                message: format!("roads[{r}]: the centreline leaves the parcel boundary"),
            });
        }
        let Some(bbox) = geo::BoundingRect::bounding_rect(&line) else {
            continue;
        };
        let mut hits = index.near_box(
            [bbox.min().x, bbox.min().y],
            [bbox.max().x, bbox.max().y],
            0.0,
        );
        hits.sort_unstable();
        for k in hits {
            if footprints[k].intersects(&line) && footprints[k].unsigned_area() > 0.0 {
                let a = &layout.assets[geometric[k]];
                out.push(Violation {
                    rule: Rule::RoadCrossesAsset,
                    asset_ids: vec![a.asset_id.clone()],
                    message: format!("roads[{r}]: the centreline runs through {}", a.asset_id),
                });
            }
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
            roads: vec![Road {
                points: vec![[50.0, 0.0], [50.0, 30.0]],
                width_m: 6.0,
            }],
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
        assert_eq!(validate_layout(&p, &l), vec![]);
    }

    #[test]
    fn outside_buildable() {
        let p = square_problem();
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
    fn coverage() {
        let mut p = square_problem();
        p.max_coverage = 0.05; // 500 m² allowed, 600 m² placed
        let v = validate_layout(&p, &valid(&p));
        assert_eq!(rules(&v), vec![Rule::Coverage]);
        assert!(v[0].message.contains("6.00 %"), "{}", v[0].message);
    }

    #[test]
    fn unknown_duplicate_and_mismatched_assets() {
        let p = square_problem();
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
        let mut l = valid(&p);
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
        l.roads.push(Road {
            points: vec![[0.0, 20.0], [60.0, 20.0]],
            width_m: 6.0,
        });
        l.roads.push(Road {
            points: vec![[50.0, 50.0], [150.0, 50.0]],
            width_m: 6.0,
        });
        l.roads.push(Road {
            points: vec![[1.0, 1.0]],
            width_m: 0.0,
        });
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
    fn many_assets_validate_quickly() {
        let mut p = square_problem();
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
