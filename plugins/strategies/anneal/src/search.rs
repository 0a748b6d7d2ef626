//! The improving search: simulated annealing over a large neighbourhood. A move removes a few
//! placed assets (a random handful, or a cluster around one asset) and repairs the layout:
//! the removed and the still unplaced assets are re-inserted — by random feasible positions or
//! by a bottom-left pass from a random corner, around the kept assets and, half the time, the
//! current roads — then the roads are rebuilt and anything they cannot reach is dropped.
//! A candidate placing fewer assets is rejected, one placing more is accepted, and otherwise
//! the weighted objective decides with the Metropolis rule at a temperature that cools
//! linearly to zero.

use std::collections::HashSet;

use entmoot_plugin_sdk::geo::{Centroid, Coord};
use entmoot_plugin_sdk::geometry::normalize_deg;
use entmoot_plugin_sdk::index::FootprintIndex;
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::packing::frame::Frame;
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
    /// Frame angle its roads and rotations follow.
    pub angle_deg: f64,
}

impl Scored {
    /// Scores a layout.
    pub fn new(problem: &Problem, layout: Layout, angle_deg: f64) -> Scored {
        let objective = layout_metrics(problem, &layout).objectives.weighted;
        Scored {
            placed: layout.assets.len(),
            layout,
            objective,
            angle_deg,
        }
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

/// One destroy-and-repair move from `current`; `None` when the repair found nothing to do.
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
    let assets = &current.layout.assets;
    let n = assets.len();
    let most = ((n as f64 * destroy_fraction).ceil() as usize).max(n.min(3));
    let k = if n == 0 {
        0
    } else {
        1 + rng.below(most.min(n))
    };
    let mut removed: HashSet<usize> = HashSet::new();
    if k > 0 {
        if rng.unit() < 0.5 {
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
    let mut obstacles = Vec::new();
    let apron = (2.0 * settings.route_radius_m()).max(settings.main_width_m);
    for e in &problem.entrances_m {
        let l = frame.to_local(Coord { x: e[0], y: e[1] });
        obstacles.push(([l.x - apron, l.y - apron], [l.x + apron, l.y + apron]));
    }
    if rng.unit() < 0.5 {
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
    let mut layout = if rng.unit() < 0.4 {
        let mut anchors: Vec<[f64; 2]> = problem.entrances_m.clone();
        if rng.unit() < 0.5 {
            anchors.extend(
                current
                    .layout
                    .roads
                    .iter()
                    .flat_map(|r| r.points.iter().copied()),
            );
        }
        let anchors: Vec<[f64; 2]> = anchors
            .iter()
            .map(|p| {
                let l = frame.to_local(Coord { x: p[0], y: p[1] });
                [l.x, l.y]
            })
            .collect();
        random_insertion(
            problem, frame, region, &kept, &missing, &obstacles, spacing, &anchors, rng,
        )
    } else {
        Pass {
            problem,
            frame: *frame,
            region,
            order: &missing,
            grid_step_m: None,
            obstacles: &obstacles,
            spacing_m: spacing,
            fixed: &kept,
        }
        .run(ctx)?
        .layout
    };
    connect_layout(problem, &mut layout, Some(current.angle_deg));
    Ok(Some(Scored::new(problem, layout, current.angle_deg)))
}

/// Places each missing asset at the best of `RANDOM_TRIES` random frame-aligned positions that
/// fit (keeping the spacing and the coverage limit): the one nearest an anchor (entrances,
/// road points, placed assets — local coordinates), which keeps roads short and the layout
/// compact. Most samples are drawn around a random anchor, the rest anywhere.
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
            let (x, y) = if !anchors.is_empty() && rng.unit() < 0.7 {
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
            if !region.contains_box(bmin, bmax) {
                continue;
            }
            let blocked = obstacles.iter().any(|(omin, omax)| {
                bmin[0] < omax[0] && omin[0] < bmax[0] && bmin[1] < omax[1] && omin[1] < bmax[1]
            });
            if blocked {
                continue;
            }
            let crowded = index
                .boxes_near(bmin, bmax, spacing.max(problem.widest_spacing_m()))
                .any(|(pmin, pmax, id)| {
                    // The pair's own spacing where the program gives a larger one.
                    let spacing = layout.assets.get(id).map_or(spacing, |other| {
                        spacing.max(problem.spacing_between(spec.asset_type, other.asset_type))
                    });
                    let gx = (bmin[0] - pmax[0]).max(pmin[0] - bmax[0]).max(0.0);
                    let gy = (bmin[1] - pmax[1]).max(pmin[1] - bmax[1]).max(0.0);
                    let overlap = bmin[0] < pmax[0]
                        && pmin[0] < bmax[0]
                        && bmin[1] < pmax[1]
                        && pmin[1] < bmax[1];
                    overlap || gx.hypot(gy) < spacing + 1e-6
                });
            if crowded {
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

/// Share of assets in which two layouts differ: placed in only one, or moved by more than a
/// metre, or turned.
pub fn difference(a: &Layout, b: &Layout) -> f64 {
    let mut ids: HashSet<&str> = a.assets.iter().map(|x| x.asset_id.as_str()).collect();
    ids.extend(b.assets.iter().map(|x| x.asset_id.as_str()));
    if ids.is_empty() {
        return 0.0;
    }
    let find = |l: &'_ Layout, id: &str| l.assets.iter().find(|x| x.asset_id == id).cloned();
    let differing = ids
        .iter()
        .filter(|id| match (find(a, id), find(b, id)) {
            (Some(p), Some(q)) => {
                (p.center[0] - q.center[0]).hypot(p.center[1] - q.center[1]) > 1.0
                    || !entmoot_plugin_sdk::geometry::angles_match(
                        p.rotation_deg,
                        q.rotation_deg,
                        180.0,
                        1e-6,
                    )
            }
            _ => true,
        })
        .count();
    differing as f64 / ids.len() as f64
}
