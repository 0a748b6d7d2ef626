//! Layout metrics: only quantities measured on the layout and problem, nothing estimated.
//! Earthwork is measured on the problem's terrain and is `None` ("unknown") without it; the
//! cost breakdown prices the measured quantities with the problem's unit costs; the objective
//! scores (`objectives`) are computed from these metrics.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use geo::{Area, ConvexHull, Distance, Euclidean, MultiPolygon};
use serde::{Deserialize, Serialize};

use crate::cost::{CostBreakdown, cost_breakdown};
use crate::earthwork::{EarthworkSummary, layout_earthwork};
use crate::layout::Layout;
use crate::objectives::ObjectiveScores;
use crate::parking::stall_layout;
use crate::problem::Problem;
use crate::program::{AssetType, ExclusionKind};
use crate::roads::grid::point_segment_distance;

/// Assets closer than this to a wetland or floodplain count against environmental impact.
pub const SENSITIVE_DISTANCE_M: f64 = 30.0;

/// Measured properties of one layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Assets the problem asks for.
    pub requested: usize,
    /// Assets the layout places (those whose id is in the problem, counted once).
    pub placed: usize,
    /// Requested asset ids that are not placed, in problem order.
    pub unplaced_asset_ids: Vec<String>,
    /// Why each unplaced asset is missing, as far as the problem tells
    /// (`prepare::why_not_placed`), by asset id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unplaced_reasons: BTreeMap<String, String>,
    /// Placed count per asset type.
    pub placed_by_type: BTreeMap<String, usize>,
    /// Total footprint area in m².
    pub footprint_m2: f64,
    /// Footprint / boundary area.
    pub coverage: f64,
    /// Footprint / buildable area.
    pub buildable_utilization: f64,
    /// Footprint / area of the convex hull of all footprints (1 = one solid block);
    /// `None` without placed assets.
    pub compactness: Option<f64>,
    /// Total road centreline length in m.
    pub road_length_m: f64,
    /// Mean straight-line distance from each placed asset's centre to its nearest entrance, m;
    /// `None` without placed assets.
    pub mean_entrance_distance_m: Option<f64>,
    /// Road centreline length per class (`main`, `secondary`, `access`), m.
    #[serde(default)]
    pub road_length_by_class: BTreeMap<String, f64>,
    /// Paved road area (length × width), m².
    #[serde(default)]
    pub road_area_m2: f64,
    /// Mean distance from an entrance to each served asset along the roads, m; `None`
    /// without assets served by roads.
    #[serde(default)]
    pub mean_road_distance_m: Option<f64>,
    /// Parking stalls of the placed parking lots (90° modules: 9 × 18 ft, 24 ft aisles).
    #[serde(default)]
    pub parking_stalls: u32,
    /// Cut and fill to balanced pads; `None` means unknown (see `earthwork_status`).
    #[serde(default)]
    pub earthwork: Option<EarthworkSummary>,
    /// `measured`, or why earthwork is unknown.
    #[serde(default)]
    pub earthwork_status: String,
    /// Footprint-weighted mean terrain slope under the pads, percent; `None` without terrain.
    #[serde(default)]
    pub slope_disturbance_percent: Option<f64>,
    /// Cost breakdown with the problem's unit costs.
    pub cost: CostBreakdown,
    /// The five objective scores and their weighted total.
    pub objectives: ObjectiveScores,
}

/// Measures a layout.
pub fn layout_metrics(problem: &Problem, layout: &Layout) -> Metrics {
    let placed_ids: std::collections::HashSet<&str> =
        layout.assets.iter().map(|a| a.asset_id.as_str()).collect();
    let unplaced_asset_ids: Vec<String> = problem
        .assets
        .iter()
        .filter(|a| !placed_ids.contains(a.asset_id.as_str()))
        .map(|a| a.asset_id.clone())
        .collect();
    let mut placed_by_type = BTreeMap::new();
    for a in &layout.assets {
        *placed_by_type.entry(a.asset_type.to_string()).or_insert(0) += 1;
    }
    let footprints = layout.footprints();
    let footprint_m2: f64 = footprints.iter().map(|f| f.unsigned_area()).sum();
    let compactness = if footprints.is_empty() {
        None
    } else {
        let hull = MultiPolygon::new(footprints).convex_hull().unsigned_area();
        Some(if hull > 0.0 {
            (footprint_m2 / hull).min(1.0)
        } else {
            0.0
        })
    };
    let mean_entrance_distance_m = if layout.assets.is_empty() || problem.entrances_m.is_empty() {
        None
    } else {
        let total: f64 = layout
            .assets
            .iter()
            .map(|a| {
                problem
                    .entrances_m
                    .iter()
                    .map(|e| (a.center[0] - e[0]).hypot(a.center[1] - e[1]))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        Some(total / layout.assets.len() as f64)
    };
    let ratio = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    let mut road_length_by_class = BTreeMap::new();
    let mut road_area_m2 = 0.0;
    for r in &layout.roads {
        let len = r.length_m();
        *road_length_by_class
            .entry(r.class.as_str().to_string())
            .or_insert(0.0) += len;
        road_area_m2 += len * r.width_m;
    }
    let parking_stalls = layout
        .assets
        .iter()
        .filter(|a| a.asset_type == AssetType::ParkingLot)
        .map(|a| stall_layout(a.width_m, a.length_m).stalls)
        .sum();
    let (earthwork, earthwork_status) = match &problem.terrain {
        None => (None, "unknown: no terrain (DEM) was given".to_string()),
        Some(t) => match layout_earthwork(t, layout) {
            Some(e) => (Some(e), "measured".to_string()),
            None => (
                None,
                "unknown: the terrain has no data under some footprint".to_string(),
            ),
        },
    };
    let slope_disturbance_percent = earthwork.as_ref().map(|e| e.mean_slope_percent);
    let cost = cost_breakdown(&problem.costs, layout, earthwork.as_ref());
    let road_distances = road_distances(problem, layout);
    let mean_road_distance_m = {
        let known: Vec<f64> = road_distances.iter().flatten().copied().collect();
        (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
    };
    let unplaced_reasons =
        crate::prepare::why_not_placed(problem, footprint_m2, &unplaced_asset_ids);
    let mut m = Metrics {
        unplaced_reasons,
        requested: problem.assets.len(),
        placed: problem.assets.len() - unplaced_asset_ids.len(),
        unplaced_asset_ids,
        placed_by_type,
        footprint_m2,
        coverage: ratio(footprint_m2, problem.boundary_area_m2),
        buildable_utilization: ratio(footprint_m2, problem.buildable_area_m2),
        compactness,
        // Start from +0.0: an empty f64 sum is -0.0, which reads oddly in reports.
        road_length_m: layout
            .roads
            .iter()
            .map(|r| r.length_m())
            .fold(0.0, |total, length| total + length),
        mean_entrance_distance_m,
        road_length_by_class,
        road_area_m2,
        mean_road_distance_m,
        parking_stalls,
        earthwork,
        earthwork_status,
        slope_disturbance_percent,
        cost,
        objectives: ObjectiveScores::default(),
    };
    m.objectives = objective_scores(problem, layout, &m);
    m
}

/// The objective scores (see `objectives` for the formulas).
fn objective_scores(problem: &Problem, layout: &Layout, m: &Metrics) -> ObjectiveScores {
    let requested_area: f64 = problem.assets.iter().map(|a| a.area_m2()).sum();
    let buildable_area = if problem.assets.is_empty() {
        1.0
    } else {
        0.5 * m.placed as f64 / m.requested as f64
            + 0.5
                * if requested_area > 0.0 {
                    m.footprint_m2 / requested_area
                } else {
                    0.0
                }
    };
    let spend = m.cost.assets + m.cost.roads + m.cost.earthwork.unwrap_or(0.0);
    let cost = if spend > 0.0 {
        m.cost.assets / spend
    } else {
        0.0
    };

    let nearest_entrance = |c: [f64; 2]| {
        problem
            .entrances_m
            .iter()
            .map(|e| (c[0] - e[0]).hypot(c[1] - e[1]))
            .fold(f64::INFINITY, f64::min)
    };
    let reach = problem
        .boundary_m
        .0
        .iter()
        .flat_map(|p| p.exterior().coords())
        .map(|c| nearest_entrance([c.x, c.y]))
        .filter(|d| d.is_finite())
        .fold(0.0, f64::max);
    let accessibility = if layout.assets.is_empty() {
        0.0
    } else {
        let nearness = match m.mean_entrance_distance_m {
            Some(d) if reach > 0.0 => (1.0 - d / reach).clamp(0.0, 1.0),
            _ => 0.0,
        };
        0.5 * road_economy(problem, m.road_length_m) + 0.5 * nearness
    };

    let mut env = Vec::new();
    let built = m.road_area_m2 + m.footprint_m2;
    env.push(if built > 0.0 {
        1.0 - m.road_area_m2 / built
    } else {
        1.0
    });
    let sensitive: Vec<&MultiPolygon<f64>> = problem
        .exclusions_m
        .iter()
        .filter(|e| matches!(e.kind, ExclusionKind::Wetland | ExclusionKind::Floodplain))
        .map(|e| &e.keep_out)
        .collect();
    if !layout.assets.is_empty() {
        let far = layout
            .assets
            .iter()
            .filter(|a| {
                let fp = a.footprint();
                sensitive
                    .iter()
                    .all(|s| Euclidean.distance(&fp, *s) >= SENSITIVE_DISTANCE_M)
            })
            .count();
        env.push(far as f64 / layout.assets.len() as f64);
    }
    if let Some(e) = &m.earthwork
        && m.footprint_m2 > 0.0
    {
        let depth = (e.cut_m3 + e.fill_m3) / m.footprint_m2;
        env.push(1.0 / (1.0 + depth));
        if problem.max_slope_percent > 0.0 {
            env.push((1.0 - e.mean_slope_percent / problem.max_slope_percent).clamp(0.0, 1.0));
        }
    }
    let environmental_impact = env.iter().sum::<f64>() / env.len() as f64;

    let aesthetics = if layout.assets.is_empty() {
        0.0
    } else {
        let angle = crate::roads::natural_angle(problem, &layout.assets);
        let aligned = layout
            .assets
            .iter()
            .filter(|a| crate::geometry::angles_match(a.rotation_deg, angle, 90.0, 1e-3))
            .count();
        0.5 * m.compactness.unwrap_or(0.0) + 0.5 * aligned as f64 / layout.assets.len() as f64
    };
    ObjectiveScores {
        cost,
        buildable_area,
        accessibility,
        environmental_impact,
        aesthetics,
        weighted: 0.0,
    }
    .weigh(&problem.objective_weights)
}

/// How little road the layout uses, against a yardstick fixed by the program:
/// `R / (R + road length)` with `R = √(n · A)`, `n` the requested assets and `A` their
/// requested footprint — the spanning tree between the centres of `n` equal squares of total
/// area `A` packed edge to edge, the road a very compact layout of the program would need.
/// 1 without roads, ½ when the roads are as long as `R`, and strictly lower for every metre
/// more, whatever the placement: the yardstick is the same for every layout of a problem,
/// so a compact layout with short roads always beats a spread one with long roads. (An
/// earlier form divided by the spanning tree of the layout's own asset centres; it reached
/// its cap of 1 on programs of large assets, whose roads reach edges, not centres, and then
/// no longer saw road length at all.)
///
/// ```
/// use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
/// use entmoot_plugin_sdk::metrics::road_economy;
/// use entmoot_plugin_sdk::prepare::prepare_problem;
///
/// let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
/// assert_eq!(road_economy(&problem, 0.0), 1.0);
/// assert!(road_economy(&problem, 40.0) > road_economy(&problem, 200.0));
/// ```
pub fn road_economy(problem: &Problem, road_length_m: f64) -> f64 {
    let count = problem.assets.len() as f64;
    let footprint: f64 = problem.assets.iter().map(|asset| asset.area_m2()).sum();
    let yardstick = (count * footprint).sqrt();
    if road_length_m <= 0.0 || yardstick.is_nan() || yardstick <= 0.0 {
        return 1.0;
    }
    yardstick / (yardstick + road_length_m)
}

/// Length of the Euclidean minimum spanning tree of `points` (Prim, O(n²): a few
/// milliseconds at 1,000 points).
pub fn spanning_tree_length(points: &[[f64; 2]]) -> f64 {
    if points.len() < 2 {
        return 0.0;
    }
    let distance = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let mut joined = vec![false; points.len()];
    let mut nearest: Vec<f64> = points.iter().map(|p| distance(points[0], *p)).collect();
    joined[0] = true;
    let mut total = 0.0;
    for _ in 1..points.len() {
        let Some((next, length)) = nearest
            .iter()
            .enumerate()
            .filter(|(index, _)| !joined[*index])
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(index, length)| (index, *length))
        else {
            break;
        };
        joined[next] = true;
        total += length;
        for (index, point) in points.iter().enumerate() {
            if !joined[index] {
                nearest[index] = nearest[index].min(distance(points[next], *point));
            }
        }
    }
    total
}

/// Per asset (layout order), the distance from an entrance along the roads to the point of a
/// road nearest the asset's centre, plus the straight stretch from there; `None` when no road
/// that serves it is connected to an entrance.
pub fn road_distances(problem: &Problem, layout: &Layout) -> Vec<Option<f64>> {
    let key = |p: [f64; 2]| {
        (
            (p[0] * 1000.0).round() as i64,
            (p[1] * 1000.0).round() as i64,
        )
    };
    let mut ids: HashMap<(i64, i64), usize> = HashMap::new();
    let mut points: Vec<[f64; 2]> = Vec::new();
    let mut adj: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut id = |p: [f64; 2], points: &mut Vec<[f64; 2]>, adj: &mut Vec<Vec<(usize, f64)>>| {
        *ids.entry(key(p)).or_insert_with(|| {
            points.push(p);
            adj.push(Vec::new());
            points.len() - 1
        })
    };
    let mut segments = Vec::new();
    for r in &layout.roads {
        for w in r.points.windows(2) {
            let (a, b) = (
                id(w[0], &mut points, &mut adj),
                id(w[1], &mut points, &mut adj),
            );
            let len = (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
            adj[a].push((b, len));
            adj[b].push((a, len));
            segments.push((a, b, r.width_m));
        }
    }
    let mut dist = vec![f64::INFINITY; points.len()];
    let mut heap = BinaryHeap::new();
    for (k, p) in points.iter().enumerate() {
        for e in &problem.entrances_m {
            let d = (p[0] - e[0]).hypot(p[1] - e[1]);
            if d <= crate::validate::ENTRANCE_SNAP_M && d < dist[k] {
                dist[k] = d;
                heap.push(std::cmp::Reverse((d.to_bits(), k)));
            }
        }
    }
    while let Some(std::cmp::Reverse((bits, k))) = heap.pop() {
        let d = f64::from_bits(bits);
        if d > dist[k] {
            continue;
        }
        for &(o, len) in &adj[k] {
            if d + len < dist[o] {
                dist[o] = d + len;
                heap.push(std::cmp::Reverse((dist[o].to_bits(), o)));
            }
        }
    }
    let gap = problem.roads.access_gap_m;
    layout
        .assets
        .iter()
        .map(|a| {
            let c = a.center;
            let radius = a.width_m.hypot(a.length_m) / 2.0;
            let mut best: Option<f64> = None;
            for &(u, v, width) in &segments {
                let (pu, pv) = (points[u], points[v]);
                let d = point_segment_distance(c, pu, pv);
                if d > radius + width / 2.0 + gap {
                    continue;
                }
                let along = |from: usize, p: [f64; 2]| {
                    let t = project(c, pu, pv);
                    let q = [pu[0] + t * (pv[0] - pu[0]), pu[1] + t * (pv[1] - pu[1])];
                    dist[from] + (q[0] - p[0]).hypot(q[1] - p[1]) + d
                };
                let cand = along(u, pu).min(along(v, pv));
                if cand.is_finite() {
                    best = Some(best.map_or(cand, |b: f64| b.min(cand)));
                }
            }
            best
        })
        .collect()
}

fn project(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    if len2 > 0.0 {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{PlacedAsset, Road};
    use crate::test_support::square_problem;

    #[test]
    fn measures_a_layout() {
        let p = square_problem();
        let spec = &p.assets[0];
        let at = |id: &str, x: f64| PlacedAsset {
            asset_id: id.into(),
            name: spec.name.clone(),
            asset_type: spec.asset_type,
            center: [x, 20.0],
            width_m: 10.0,
            length_m: 20.0,
            rotation_deg: 0.0,
            shape: Default::default(),
        };
        let layout = Layout {
            assets: vec![at("building-1", 20.0), at("building-2", 30.0)],
            roads: vec![Road::new(vec![[0.0, 0.0], [3.0, 4.0], [3.0, 10.0]], 5.0)],
        };
        let m = layout_metrics(&p, &layout);
        assert_eq!(m.requested, 3);
        assert_eq!(m.placed, 2);
        assert_eq!(m.unplaced_asset_ids, vec!["building-3"]);
        assert_eq!(m.placed_by_type["building"], 2);
        assert!((m.footprint_m2 - 400.0).abs() < 1e-9);
        assert!((m.coverage - 0.04).abs() < 1e-12);
        assert!((m.buildable_utilization - 400.0 / 8100.0).abs() < 1e-12);
        assert!(
            (m.compactness.unwrap() - 1.0).abs() < 1e-9,
            "two touching boxes form a block"
        );
        assert!((m.road_length_m - 11.0).abs() < 1e-12);
        // entrance at (50, 0)
        let d1 = (30.0f64).hypot(20.0);
        let d2 = (20.0f64).hypot(20.0);
        assert!((m.mean_entrance_distance_m.unwrap() - (d1 + d2) / 2.0).abs() < 1e-9);

        let empty = layout_metrics(&p, &Layout::default());
        assert_eq!(empty.placed, 0);
        assert_eq!(empty.compactness, None);
    }
}
