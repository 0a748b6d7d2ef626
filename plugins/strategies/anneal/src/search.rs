//! The improving search: simulated annealing over a large neighbourhood. A small move (a
//! nudge) shifts one asset by up to half its size. A large move removes a few
//! placed assets (a random handful, a cluster around one asset, or some of those farthest
//! from an entrance, to be pulled in) and repairs the layout:
//! the removed and the still unplaced assets are re-inserted — by random feasible positions or
//! by a bottom-left pass from a random corner, around the kept assets and, half the time, the
//! current roads — then the roads are rebuilt and anything they cannot reach is dropped.
//! A candidate placing fewer assets is rejected (before its roads are built, when the repair
//! already left one out), one placing more is accepted, and otherwise the weighted objective
//! decides with the Metropolis rule at a temperature that cools as the chain goes on.

use std::collections::HashSet;

use entmoot_plugin_sdk::geo::{Centroid, Coord};
use entmoot_plugin_sdk::geometry::normalize_deg;
use entmoot_plugin_sdk::index::FootprintIndex;
use entmoot_plugin_sdk::metrics::{layout_metrics, spanning_tree_length};
use entmoot_plugin_sdk::packing::frame::Frame;
use entmoot_plugin_sdk::packing::moves::{Room, entrance_aprons, nudge_asset, region_around};
use entmoot_plugin_sdk::packing::packer::Pass;
use entmoot_plugin_sdk::packing::region::Region;
use entmoot_plugin_sdk::roads::connect_layout;
use entmoot_plugin_sdk::validate::rotation_allowed;
use entmoot_plugin_sdk::{Layout, PlacedAsset, Problem, RunContext, StrategyError};

use crate::rng::Rng;

/// A layout with its score.
#[derive(Debug, Clone)]
pub struct Scored {
    pub layout: Layout,
    pub placed: usize,
    pub objective: f64,
    /// Total road length, metres (reported with the best-so-far).
    pub road_length_m: f64,
    /// Spanning tree of the entrances and asset centres, metres: the cheap stand-in for the
    /// road length a move is screened with before its roads are built.
    pub tree_m: f64,
    /// Frame angle its roads and rotations follow.
    pub angle_deg: f64,
}

impl Scored {
    /// Scores a layout.
    pub fn new(problem: &Problem, layout: Layout, angle_deg: f64) -> Scored {
        let metrics = layout_metrics(problem, &layout);
        let tree_m = centres_tree_m(problem, &layout);
        Scored {
            placed: layout.assets.len(),
            layout,
            objective: metrics.objectives.weighted,
            road_length_m: metrics.road_length_m,
            tree_m,
            angle_deg,
        }
    }

    /// Best first: more placed, then a higher objective (for `sort_by`).
    pub fn best_first(a: &Scored, b: &Scored) -> std::cmp::Ordering {
        b.placed
            .cmp(&a.placed)
            .then(b.objective.total_cmp(&a.objective))
    }

    /// Whether `self` is better than `other`: more placed, then a higher objective.
    pub fn better_than(&self, other: &Scored) -> bool {
        (self.placed, self.objective) > (other.placed, other.objective)
    }
}

/// Random positions tried per asset by the random-insertion repair.
const RANDOM_TRIES: usize = 40;

/// The four packing frames (one per corner) of one angle.
pub struct Frames {
    pub frames: Vec<(Frame, Region)>,
}

impl Frames {
    /// Frames at `angle_deg` from each corner of the buildable area.
    pub fn new(problem: &Problem, angle_deg: f64) -> Frames {
        let origin = problem
            .buildable_m
            .centroid()
            .map_or([0.0, 0.0], |c| [c.x(), c.y()]);
        let frames = [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)]
            .iter()
            .filter_map(|&(sx, sy)| {
                let frame = Frame::new(angle_deg, sx, sy, origin);
                Region::new(frame.area_to_local(&problem.buildable_m)).map(|r| (frame, r))
            })
            .collect();
        Frames { frames }
    }
}

/// One destroy-and-repair move from `current`; `None` when there is no candidate to weigh
/// (no packing frame, or the repair could not put every removed asset back).
pub fn neighbour(
    problem: &Problem,
    current: &Scored,
    frames: &Frames,
    destroy_fraction: f64,
    rng: &mut Rng,
    ctx: &RunContext<'_>,
) -> Result<Option<Scored>, StrategyError> {
    if frames.frames.is_empty() {
        return Ok(None);
    }
    if !current.layout.assets.is_empty() && rng.unit() < NUDGE_SHARE {
        return Ok(nudge(problem, current, frames, rng));
    }
    let assets = &current.layout.assets;
    let n = assets.len();
    let most = ((n as f64 * destroy_fraction).ceil() as usize).max(n.min(3));
    // Small moves are the ones that succeed on a full layout: a size up to a random bound,
    // so one or two assets are the most frequent and `most` the rarest.
    let k = if n == 0 {
        0
    } else {
        let bound = 1 + rng.below(most.min(n));
        1 + rng.below(bound)
    };
    let mut removed: HashSet<usize> = HashSet::new();
    // Pulling in: the removed assets are among the farthest from an entrance and go back as
    // near the entrances and roads as they fit, which is what shortens the roads.
    let mut pull_in = false;
    let mut cluster = false;
    if k > 0 {
        let pick = rng.unit();
        if pick < 0.25 && !problem.entrances_m.is_empty() {
            pull_in = true;
            let mut by_distance: Vec<(f64, usize)> = assets
                .iter()
                .enumerate()
                .map(|(i, a)| (distance_to_an_entrance(problem, a.center), i))
                .collect();
            by_distance.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut farthest: Vec<usize> =
                by_distance.iter().take(2 * k).map(|(_, i)| *i).collect();
            rng.shuffle(&mut farthest);
            removed.extend(farthest.into_iter().take(k));
        } else if pick < 0.625 {
            cluster = true;
            // A cluster: the k assets nearest a random one.
            let c = assets[rng.below(n)].center;
            let mut by_distance: Vec<(f64, usize)> = assets
                .iter()
                .enumerate()
                .map(|(i, a)| ((a.center[0] - c[0]).hypot(a.center[1] - c[1]), i))
                .collect();
            by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            removed.extend(by_distance.iter().take(k).map(|(_, i)| *i));
        } else {
            while removed.len() < k {
                removed.insert(rng.below(n));
            }
        }
    }
    let kept: Vec<PlacedAsset> = assets
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, a)| a.clone())
        .collect();
    let kept_ids: HashSet<&str> = kept.iter().map(|a| a.asset_id.as_str()).collect();
    let mut missing: Vec<usize> = (0..problem.assets.len())
        .filter(|&i| !kept_ids.contains(problem.assets[i].asset_id.as_str()))
        .collect();
    if rng.unit() < 0.5 {
        rng.shuffle(&mut missing);
    } else {
        missing.sort_by(|&a, &b| {
            problem.assets[b]
                .area_m2()
                .total_cmp(&problem.assets[a].area_m2())
                .then(a.cmp(&b))
        });
    }
    // Higher priority first in either order (the sort is stable): what does not fit
    // is the lower priority.
    missing.sort_by_key(|&i| std::cmp::Reverse(problem.assets[i].priority));
    let (frame, region) = &frames.frames[rng.below(frames.frames.len())];
    let settings = &problem.roads;
    let mut obstacles = entrance_aprons(problem, frame);
    if rng.unit() < KEEP_ROADS_CLEAR {
        for r in &current.layout.roads {
            let half = r.width_m / 2.0 + settings.clearance_m;
            for w in r.points.windows(2) {
                let a = frame.to_local(Coord {
                    x: w[0][0],
                    y: w[0][1],
                });
                let b = frame.to_local(Coord {
                    x: w[1][0],
                    y: w[1][1],
                });
                obstacles.push((
                    [a.x.min(b.x) - half, a.y.min(b.y) - half],
                    [a.x.max(b.x) + half, a.y.max(b.y) + half],
                ));
            }
        }
    }
    let spacing = if rng.unit() < 0.2 {
        problem.min_spacing_m.max(settings.corridor_width_m())
    } else {
        problem.min_spacing_m
    };
    // In layout order: a hash set's order differs between processes, which would make a
    // seeded run irreproducible.
    let removed_assets: Vec<&PlacedAsset> = assets
        .iter()
        .enumerate()
        .filter(|(i, _)| removed.contains(i))
        .map(|(_, a)| a)
        .collect();
    // A cluster is re-packed bottom-left in a window around where it was, half the time;
    // otherwise every asset goes back at the best of some random positions near where it
    // was or, pulling in, near the entrances. Only an asset the current layout could not
    // place may go anywhere.
    let mut layout = if pull_in || !cluster || rng.unit() < 0.5 {
        let anchors: Vec<[f64; 2]> = if pull_in {
            problem.entrances_m.clone()
        } else {
            removed_assets.iter().map(|a| a.center).collect()
        };
        let anchors: Vec<[f64; 2]> = anchors
            .iter()
            .map(|p| {
                let l = frame.to_local(Coord { x: p[0], y: p[1] });
                [l.x, l.y]
            })
            .collect();
        let anywhere: HashSet<&str> = missing
            .iter()
            .map(|&i| problem.assets[i].asset_id.as_str())
            .filter(|id| !removed_assets.iter().any(|a| a.asset_id == *id))
            .collect();
        random_insertion(
            problem, frame, region, &kept, &missing, &obstacles, spacing, &anchors, &anywhere, rng,
        )
    } else {
        let largest = missing
            .iter()
            .map(|&i| problem.assets[i].width_m.max(problem.assets[i].length_m))
            .fold(0.0, f64::max);
        let margin = largest + problem.roads.corridor_width_m() + problem.min_spacing_m;
        let nearby = region_around(frame, region, &removed_assets, margin);
        Pass {
            problem,
            frame: *frame,
            region: nearby.as_ref().unwrap_or(region),
            order: &missing,
            grid_step_m: None,
            obstacles: &obstacles,
            spacing_m: spacing,
            fixed: &kept,
        }
        .run(ctx)?
        .layout
    };
    if layout.assets.len() < current.placed {
        // Roads can only drop more; building them would be wasted work.
        return Ok(None);
    }
    if screened_out(problem, current, &layout, rng) {
        return Ok(None);
    }
    connect_layout(problem, &mut layout, Some(current.angle_deg));
    Ok(Some(Scored::new(problem, layout, current.angle_deg)))
}

/// Share of large moves that keep the current roads' corridors clear while repairing: an
/// asset put back across a road makes the new network detour around it (hundreds of metres
/// on a large site), so most moves keep them; the rest may find a different network.
const KEEP_ROADS_CLEAR: f64 = 0.9;

/// Share of moves that nudge one asset instead of destroying and repairing.
const NUDGE_SHARE: f64 = 0.8;

/// A small move: one asset shifted (towards the nearest entrance, towards the other assets,
/// or along a random axis of the frame) by up to half its size, the largest step that fits;
/// then the roads are rebuilt. `None` when no step fits.
fn nudge(problem: &Problem, current: &Scored, frames: &Frames, rng: &mut Rng) -> Option<Scored> {
    let (frame, region) = frames.frames.first()?;
    let assets = &current.layout.assets;
    let n = assets.len();
    if n == 0 {
        return None;
    }
    let moved = rng.below(n);
    let (min, max) = frame.local_box(&assets[moved].bounding_box());
    let centre = [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0];
    let local = |p: [f64; 2]| {
        let l = frame.to_local(Coord { x: p[0], y: p[1] });
        [l.x, l.y]
    };
    let pick = rng.unit();
    let target = if pick < 0.5 {
        problem
            .entrances_m
            .iter()
            .map(|e| local(*e))
            .min_by(|a, b| {
                let d = |p: &[f64; 2]| (p[0] - centre[0]).hypot(p[1] - centre[1]);
                d(a).total_cmp(&d(b))
            })
    } else if pick < 0.75 && n > 1 {
        let others: Vec<[f64; 2]> = assets
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != moved)
            .map(|(_, a)| local(a.center))
            .collect();
        let count = others.len() as f64;
        Some([
            others.iter().map(|p| p[0]).sum::<f64>() / count,
            others.iter().map(|p| p[1]).sum::<f64>() / count,
        ])
    } else {
        None
    };
    let direction = match target {
        Some(t) => {
            let (dx, dy) = (t[0] - centre[0], t[1] - centre[1]);
            let length = dx.hypot(dy);
            if length < 1e-6 {
                return None;
            }
            [dx / length, dy / length]
        }
        None => [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]][rng.below(4)],
    };
    let size = (max[0] - min[0]).max(max[1] - min[1]);
    let step = (0.1 + 0.4 * rng.unit()) * size;
    let mut layout = nudge_asset(
        problem,
        &current.layout,
        frame,
        region,
        moved,
        direction,
        step,
    )?;
    if screened_out(problem, current, &layout, rng) {
        return None;
    }
    connect_layout(problem, &mut layout, Some(current.angle_deg));
    Some(Scored::new(problem, layout, current.angle_deg))
}

/// Share by which a move may lengthen the spanning tree of the entrances and asset centres
/// and still have its roads built and weighed; a move that lengthens it more is dropped
/// unbuilt. On the 600-acre ranch, building the roads is nine tenths of a move's time.
const SCREEN_TREE_GROWTH: f64 = 0.005;

/// Of the moves the screen would drop, about this many per layout asset, and at most a
/// tenth, are built and weighed all the same: a better layout is sometimes reached through a
/// longer tree (on the 3-building demo, without this, the search stays at a 49 m road it
/// otherwise takes to 19 m), while on a large site, where roads are expensive to build, few
/// are let through.
const SCREEN_BYPASS_PER_ASSET: f64 = 0.2;

/// Whether a move's layout (without roads) is dropped unbuilt: its spanning tree of centres
/// grew by more than `SCREEN_TREE_GROWTH`, and it is not one of those let through.
fn screened_out(problem: &Problem, current: &Scored, layout: &Layout, rng: &mut Rng) -> bool {
    let bypass = (SCREEN_BYPASS_PER_ASSET / layout.assets.len().max(1) as f64).min(0.1);
    centres_tree_m(problem, layout) > current.tree_m * (1.0 + SCREEN_TREE_GROWTH)
        && rng.unit() >= bypass
}

/// Length of the spanning tree of the entrances and the layout's asset centres.
fn centres_tree_m(problem: &Problem, layout: &Layout) -> f64 {
    let points: Vec<[f64; 2]> = problem
        .entrances_m
        .iter()
        .copied()
        .chain(layout.assets.iter().map(|a| a.center))
        .collect();
    spanning_tree_length(&points)
}

/// Straight-line distance from `point` to the nearest entrance (infinite without one).
fn distance_to_an_entrance(problem: &Problem, point: [f64; 2]) -> f64 {
    problem
        .entrances_m
        .iter()
        .map(|e| (e[0] - point[0]).hypot(e[1] - point[1]))
        .fold(f64::INFINITY, f64::min)
}

/// Places each missing asset at the best of `RANDOM_TRIES` random frame-aligned positions that
/// fit (keeping the spacing and the coverage limit): the one nearest an anchor (where the
/// removed assets were, or the entrances, and the assets placed so far — local coordinates),
/// which keeps the move local and the roads short. Samples are drawn around a random anchor;
/// for the assets in `anywhere` (those the layout had not placed), some anywhere.
#[allow(clippy::too_many_arguments)]
fn random_insertion(
    problem: &Problem,
    frame: &Frame,
    region: &Region,
    kept: &[PlacedAsset],
    missing: &[usize],
    obstacles: &[([f64; 2], [f64; 2])],
    spacing: f64,
    anchors: &[[f64; 2]],
    anywhere: &HashSet<&str>,
    rng: &mut Rng,
) -> Layout {
    let mut anchors: Vec<[f64; 2]> = anchors.to_vec();
    let mut index = FootprintIndex::new();
    let mut layout = Layout {
        assets: kept.to_vec(),
        roads: Vec::new(),
    };
    for (k, a) in kept.iter().enumerate() {
        let (min, max) = frame.local_box(&a.bounding_box());
        index.insert_box(min, max, k);
    }
    let mut footprint = layout.footprint_m2();
    let limit = problem.max_footprint_m2();
    for &i in missing {
        let spec = &problem.assets[i];
        if footprint + spec.area_m2() > limit {
            continue;
        }
        let mut orientations = Vec::new();
        for (w, l, rot) in [
            (spec.width_m, spec.length_m, 0.0),
            (spec.length_m, spec.width_m, 90.0),
        ] {
            if rotation_allowed(
                spec.rotations,
                frame.angle_deg + rot,
                problem.reference_angle_deg,
            ) {
                orientations.push((w, l, rot));
            }
        }
        if orientations.is_empty() {
            continue;
        }
        let mut best: Option<(f64, [f64; 2], f64, f64, f64)> = None;
        for _ in 0..RANDOM_TRIES {
            let (w, l, rot) = orientations[rng.below(orientations.len())];
            let near = !anywhere.contains(spec.asset_id.as_str()) || rng.unit() < 0.7;
            let (x, y) = if !anchors.is_empty() && near {
                let a = anchors[rng.below(anchors.len())];
                let r = 2.0 * w.max(l) + 20.0;
                (
                    a[0] - w / 2.0 + (2.0 * rng.unit() - 1.0) * r,
                    a[1] - l / 2.0 + (2.0 * rng.unit() - 1.0) * r,
                )
            } else {
                (
                    region.min[0] + rng.unit() * (region.max[0] - region.min[0] - w).max(0.0),
                    region.min[1] + rng.unit() * (region.max[1] - region.min[1] - l).max(0.0),
                )
            };
            let (bmin, bmax) = ([x, y], [x + w, y + l]);
            let room = Room {
                problem,
                region,
                obstacles,
                index: &index,
                assets: &layout.assets,
                spacing,
            };
            if !room.fits(spec.asset_type, bmin, bmax, None) {
                continue;
            }
            let c = [x + w / 2.0, y + l / 2.0];
            let score = anchors
                .iter()
                .map(|a| (a[0] - c[0]).hypot(a[1] - c[1]))
                .fold(f64::INFINITY, f64::min);
            if best.is_none_or(|b| score < b.0) {
                best = Some((score, [x, y], w, l, rot));
            }
        }
        let Some((_, [x, y], w, l, rot)) = best else {
            continue;
        };
        let centre = frame.to_world(Coord {
            x: x + w / 2.0,
            y: y + l / 2.0,
        });
        index.insert_box([x, y], [x + w, y + l], layout.assets.len());
        anchors.push([x + w / 2.0, y + l / 2.0]);
        layout.assets.push(PlacedAsset {
            asset_id: spec.asset_id.clone(),
            name: spec.name.clone(),
            asset_type: spec.asset_type,
            center: [centre.x, centre.y],
            width_m: spec.width_m,
            length_m: spec.length_m,
            rotation_deg: normalize_deg(frame.angle_deg + rot),
            shape: spec.shape.clone(),
        });
        footprint += spec.area_m2();
    }
    layout
}

/// Share of assets in which two layouts differ: placed in only one of them, turned, or moved
/// by more than their own width (the shorter side), so that a difference is one a planner
/// sees on the plan, not a shift of a few metres.
///
/// ```
/// use entmoot_plugin_sdk::program::AssetType;
/// use entmoot_plugin_sdk::{Layout, PlacedAsset};
/// use entmoot_strategy_anneal::search::difference;
///
/// let asset = |id: &str, x: f64| PlacedAsset {
///     asset_id: id.into(), name: id.into(), asset_type: AssetType::Building,
///     center: [x, 0.0], width_m: 10.0, length_m: 20.0, rotation_deg: 0.0,
///     shape: Default::default(),
/// };
/// let a = Layout { assets: vec![asset("a", 0.0), asset("b", 100.0)], roads: vec![] };
/// let nudged = Layout { assets: vec![asset("a", 5.0), asset("b", 100.0)], roads: vec![] };
/// let moved = Layout { assets: vec![asset("a", 50.0), asset("b", 100.0)], roads: vec![] };
/// assert_eq!(difference(&a, &nudged), 0.0);
/// assert_eq!(difference(&a, &moved), 0.5);
/// ```
pub fn difference(a: &Layout, b: &Layout) -> f64 {
    let in_b: std::collections::HashMap<&str, &PlacedAsset> =
        b.assets.iter().map(|x| (x.asset_id.as_str(), x)).collect();
    let mut ids: HashSet<&str> = a.assets.iter().map(|x| x.asset_id.as_str()).collect();
    ids.extend(in_b.keys().copied());
    if ids.is_empty() {
        return 0.0;
    }
    let matched = a
        .assets
        .iter()
        .filter_map(|p| in_b.get(p.asset_id.as_str()).map(|q| (p, *q)));
    let same = matched
        .filter(|(p, q)| {
            let moved = (p.center[0] - q.center[0]).hypot(p.center[1] - q.center[1]);
            moved <= p.width_m.min(p.length_m)
                && entmoot_plugin_sdk::geometry::angles_match(
                    p.rotation_deg,
                    q.rotation_deg,
                    180.0,
                    1e-6,
                )
        })
        .count();
    (ids.len() - same) as f64 / ids.len() as f64
}
