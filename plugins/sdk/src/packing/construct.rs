//! The constructive pipeline both built-in strategies start from: for one packing variant
//! (frame angle and corner) and one street plan, pack the assets bottom-left while keeping
//! street corridors and entrance aprons free, connect the result by roads (`roads`), drop what
//! no road reaches, and try once to fill the space left with the assets still unplaced.
//!
//! Street plans: none (roads use the gaps and the setback strip), streets every two rows of the
//! program's dominant asset (in either orientation), or a spacing widened to a road corridor
//! between every pair of assets.

use crate::geo::Centroid;
use crate::layout::{Layout, PlacedAsset};
use crate::metrics::layout_metrics;
use crate::packing::frame::Frame;
use crate::packing::packer::Pass;
use crate::packing::region::Region;
use crate::problem::Problem;
use crate::roads::connect_layout;
use crate::strategy::{RunContext, StrategyError};

/// One packing variant: a frame angle and the corner it packs from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    pub angle_deg: f64,
    pub sx: f64,
    pub sy: f64,
}

impl Variant {
    /// The corner packed from, for messages.
    pub fn corner_name(&self) -> &'static str {
        match (self.sx > 0.0, self.sy > 0.0) {
            (true, true) => "bottom-left",
            (false, true) => "bottom-right",
            (true, false) => "top-left",
            (false, false) => "top-right",
        }
    }
}

/// How space is kept for roads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreetPlan {
    /// No corridors: roads use gaps and the setback strip.
    Plain,
    /// A street corridor after every two rows of depth `row_depth_m`.
    Streets { row_depth_m: f64 },
    /// Every gap between assets widened to a road corridor.
    Spread,
}

/// A constructed layout and where it came from.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub layout: Layout,
    pub variant: usize,
    pub plan: StreetPlan,
    /// Stopped early by the time limit.
    pub truncated: bool,
    /// Frame angle the roads were routed in.
    pub angle_deg: f64,
}

/// The frames to pack in: aligned with the site's dominant edge (if it differs from the grid)
/// and grid-aligned; each from one or four corners.
pub fn variants(problem: &Problem, align_to_site: bool, mirrors: bool) -> Vec<Variant> {
    let mut angles = vec![0.0];
    let reference = problem.reference_angle_deg;
    if align_to_site && reference.is_finite() && reference.abs() > 1e-9 {
        angles.insert(0, reference);
    }
    let corners: &[(f64, f64)] = if mirrors {
        &[(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)]
    } else {
        &[(1.0, 1.0)]
    };
    angles
        .iter()
        .flat_map(|&angle_deg| {
            corners
                .iter()
                .map(move |&(sx, sy)| Variant { angle_deg, sx, sy })
        })
        .collect()
}

/// Asset indices, largest footprint first (ties keep problem order).
pub fn placement_order(problem: &Problem) -> Vec<usize> {
    let mut order: Vec<usize> = (0..problem.assets.len()).collect();
    // Higher priority first, so that what is left out when space runs short is the
    // lower priority; within one priority, largest first.
    order.sort_by(|&a, &b| {
        let (a_asset, b_asset) = (&problem.assets[a], &problem.assets[b]);
        b_asset
            .priority
            .cmp(&a_asset.priority)
            .then(b_asset.area_m2().total_cmp(&a_asset.area_m2()))
            .then(a.cmp(&b))
    });
    order
}

/// The street plans worth trying for this program.
pub fn street_plans(problem: &Problem) -> Vec<StreetPlan> {
    let mut plans = vec![StreetPlan::Plain];
    // The asset size holding the most footprint decides the row depth.
    let mut sizes: Vec<((u64, u64), f64, f64, f64)> = Vec::new();
    for a in &problem.assets {
        let key = (a.width_m.to_bits(), a.length_m.to_bits());
        match sizes.iter_mut().find(|s| s.0 == key) {
            Some(s) => s.3 += a.area_m2(),
            None => sizes.push((key, a.width_m, a.length_m, a.area_m2())),
        }
    }
    if let Some(&(_, w, l, _)) = sizes.iter().max_by(|a, b| a.3.total_cmp(&b.3)) {
        plans.push(StreetPlan::Streets {
            row_depth_m: w.min(l),
        });
        if (w - l).abs() > 1e-9 {
            plans.push(StreetPlan::Streets {
                row_depth_m: w.max(l),
            });
        }
    }
    plans.push(StreetPlan::Spread);
    plans
}

/// Builds one candidate (see the module documentation). Fails only on cancellation.
pub fn construct(
    problem: &Problem,
    variant: &Variant,
    variant_index: usize,
    plan: StreetPlan,
    order: &[usize],
    grid_step_m: Option<f64>,
    ctx: &RunContext<'_>,
) -> Result<Option<Candidate>, StrategyError> {
    construct_in_window(
        problem,
        variant,
        variant_index,
        plan,
        order,
        grid_step_m,
        None,
        ctx,
    )
}

/// Like [`construct`], but the first pass packs only inside a square window of
/// `window_m2` square metres centred on the first entrance (aligned with the variant's frame,
/// clipped to the buildable area); the refill then places what did not fit anywhere.
///
/// Why: on a parcel much larger than its program, bottom-left packing lays the assets out in
/// a band along one edge (on the 600-acre ranch, 1.8 km by 200 m), and the roads follow the
/// band. Packing next to the entrance first keeps the layout compact and the roads short.
/// `None` when the problem has no entrance or the window misses the buildable area.
#[allow(clippy::too_many_arguments)]
pub fn construct_near_entrance(
    problem: &Problem,
    variant: &Variant,
    variant_index: usize,
    plan: StreetPlan,
    order: &[usize],
    grid_step_m: Option<f64>,
    window_m2: f64,
    ctx: &RunContext<'_>,
) -> Result<Option<Candidate>, StrategyError> {
    if !(window_m2.is_finite() && window_m2 > 0.0) {
        return Ok(None);
    }
    construct_in_window(
        problem,
        variant,
        variant_index,
        plan,
        order,
        grid_step_m,
        Some(window_m2),
        ctx,
    )
}

/// [`construct`] without a window, [`construct_near_entrance`] with one (for a caller that
/// builds both kinds). A window on a problem without an entrance gives `None`.
#[allow(clippy::too_many_arguments)]
pub fn construct_in_window(
    problem: &Problem,
    variant: &Variant,
    variant_index: usize,
    plan: StreetPlan,
    order: &[usize],
    grid_step_m: Option<f64>,
    window_m2: Option<f64>,
    ctx: &RunContext<'_>,
) -> Result<Option<Candidate>, StrategyError> {
    let origin = problem
        .buildable_m
        .centroid()
        .map_or([0.0, 0.0], |c| [c.x(), c.y()]);
    let frame = Frame::new(variant.angle_deg, variant.sx, variant.sy, origin);
    let local_buildable = frame.area_to_local(&problem.buildable_m);
    let Some(region) = Region::new(local_buildable.clone()) else {
        return Ok(None);
    };
    let window_region = match (window_m2, problem.entrances_m.first()) {
        (Some(area), Some(entrance)) => {
            use geo::BooleanOps;
            let e = frame.to_local(geo::Coord {
                x: entrance[0],
                y: entrance[1],
            });
            let half = area.sqrt() / 2.0;
            let window = geo::Rect::new(
                geo::Coord {
                    x: e.x - half,
                    y: e.y - half,
                },
                geo::Coord {
                    x: e.x + half,
                    y: e.y + half,
                },
            )
            .to_polygon();
            let clipped = local_buildable.intersection(&geo::MultiPolygon(vec![window]));
            match Region::new(clipped) {
                Some(r) => Some(r),
                None => return Ok(None),
            }
        }
        (Some(_), None) => return Ok(None),
        (None, _) => None,
    };
    let first_region = window_region.as_ref().unwrap_or(&region);
    let settings = &problem.roads;
    let corridor = settings.corridor_width_m().max(problem.min_spacing_m);
    let mut obstacles = crate::packing::moves::entrance_aprons(problem, &frame);
    let (x0, x1) = (region.min[0] - 1.0, region.max[0] + 1.0);
    let mut spacing = problem.min_spacing_m;
    match plan {
        StreetPlan::Plain => {}
        StreetPlan::Spread => spacing = spacing.max(corridor),
        StreetPlan::Streets { row_depth_m } => {
            let block = 2.0 * row_depth_m + problem.min_spacing_m;
            // From the first pass's corner, so that its rows line up with the corridors.
            let mut y = first_region.min[1] + block;
            while y < region.max[1] {
                obstacles.push(([x0, y], [x1, y + corridor]));
                y += corridor + block;
            }
        }
    }
    let pass = Pass {
        problem,
        frame,
        region: first_region,
        order,
        grid_step_m,
        obstacles: &obstacles,
        spacing_m: spacing,
        fixed: &[],
    };
    let packing = pass.run(ctx)?;
    let mut layout = packing.layout;
    let angle = frame.angle_deg;
    connect_layout(problem, &mut layout, Some(angle));
    let mut truncated = packing.truncated;

    // One refill: pack the still unplaced assets around what is kept, with the roads' corridors
    // kept free, and keep the result if it serves more assets.
    let placed = layout.assets.len();
    let room = problem.max_footprint_m2() - layout.footprint_m2();
    let smallest_unplaced = problem
        .assets
        .iter()
        .filter(|a| !layout.assets.iter().any(|p| p.asset_id == a.asset_id))
        .map(|a| a.area_m2())
        .fold(f64::INFINITY, f64::min);
    if !truncated
        && placed < problem.assets.len()
        && smallest_unplaced <= room
        && !ctx.should_stop()
    {
        let mut more = obstacles.clone();
        for r in &layout.roads {
            let half = r.width_m / 2.0 + settings.clearance_m;
            for w in r.points.windows(2) {
                let a = frame.to_local(geo::Coord {
                    x: w[0][0],
                    y: w[0][1],
                });
                let b = frame.to_local(geo::Coord {
                    x: w[1][0],
                    y: w[1][1],
                });
                more.push((
                    [a.x.min(b.x) - half, a.y.min(b.y) - half],
                    [a.x.max(b.x) + half, a.y.max(b.y) + half],
                ));
            }
        }
        let kept: Vec<PlacedAsset> = layout.assets.clone();
        let refill = Pass {
            problem,
            frame,
            region: &region,
            order,
            grid_step_m,
            obstacles: &more,
            spacing_m: spacing,
            fixed: &kept,
        }
        .run(ctx)?;
        truncated |= refill.truncated;
        if refill.layout.assets.len() > placed {
            let mut again = refill.layout;
            connect_layout(problem, &mut again, Some(angle));
            if again.assets.len() > placed {
                layout = again;
            }
        }
    }
    Ok(Some(Candidate {
        layout,
        variant: variant_index,
        plan,
        truncated,
        angle_deg: angle,
    }))
}

/// Best first: most assets placed, then highest weighted objective, then variant order;
/// identical layouts are returned once.
pub fn rank_distinct(problem: &Problem, candidates: Vec<Candidate>, wanted: usize) -> Vec<Layout> {
    let mut scored: Vec<(usize, f64, usize, Layout)> = candidates
        .into_iter()
        .map(|c| {
            let objective = layout_metrics(problem, &c.layout).objectives.weighted;
            (c.layout.assets.len(), objective, c.variant, c.layout)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (.., layout) in scored {
        if out.len() == wanted {
            break;
        }
        if seen.insert(fingerprint(&layout)) {
            out.push(layout);
        }
    }
    out
}

/// Placements rounded to the millimetre, sorted: equal for layouts that look the same.
pub fn fingerprint(layout: &Layout) -> Vec<(String, i64, i64, i64)> {
    let mut f: Vec<_> = layout
        .assets
        .iter()
        .map(|a| {
            (
                a.asset_id.clone(),
                (a.center[0] * 1000.0).round() as i64,
                (a.center[1] * 1000.0).round() as i64,
                (a.rotation_deg * 1000.0).round() as i64,
            )
        })
        .collect();
    f.sort();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{large_ranch_program, large_ranch_site};
    use crate::prepare::prepare_problem;
    use crate::validate::validate_layout;

    /// The shortest road network over every variant and street plan, with or without a
    /// window around the entrance; every layout placing all the assets validly.
    fn shortest_roads(problem: &Problem, window_m2: Option<f64>) -> f64 {
        let order = placement_order(problem);
        let ctx = RunContext::detached();
        let mut shortest = f64::INFINITY;
        for (k, v) in variants(problem, true, true).iter().enumerate() {
            for plan in street_plans(problem) {
                let built = match window_m2 {
                    None => construct(problem, v, k, plan, &order, None, &ctx),
                    Some(w) => construct_near_entrance(problem, v, k, plan, &order, None, w, &ctx),
                };
                let Some(c) = built.expect("not cancelled") else {
                    continue;
                };
                if c.layout.assets.len() == problem.assets.len() {
                    assert_eq!(validate_layout(problem, &c.layout), vec![]);
                    shortest = shortest.min(layout_metrics(problem, &c.layout).road_length_m);
                }
            }
        }
        shortest
    }

    #[test]
    fn packing_near_the_entrance_first_shortens_the_roads_of_a_sparse_program() {
        // 200 assets on 600 acres: bottom-left packing lays them out in a band.
        let problem = prepare_problem(&large_ranch_site(), &large_ranch_program()).unwrap();
        let footprint: f64 = problem.assets.iter().map(|a| a.area_m2()).sum();
        let everywhere = shortest_roads(&problem, None);
        let near = shortest_roads(&problem, Some(8.0 * footprint));
        assert!(
            near < 0.95 * everywhere,
            "near the entrance {near:.0} m, everywhere {everywhere:.0} m"
        );
    }
}
