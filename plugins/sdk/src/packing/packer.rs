//! One bottom-left packing pass in one frame: assets largest first, each at the lowest, then
//! leftmost position (over its allowed orientations) where the box lies inside the buildable
//! area and keeps the minimum spacing to every box already placed, until the coverage limit.
//!
//! Candidate rows are a fine grid plus the rows that line up with placed boxes (their tops plus
//! the spacing, and their bottoms); along a row the scan jumps straight past any box it
//! collides with, so identical assets pack edge to edge at exactly the spacing.

use std::collections::HashMap;

use crate::geo::Coord;
use crate::geometry::normalize_deg;
use crate::index::FootprintIndex;
use crate::program::AssetType;
use crate::validate::rotation_allowed;
use crate::{Layout, PlacedAsset, Problem, ProblemAsset, RunContext, StrategyError};

use crate::packing::frame::Frame;
use crate::packing::region::Region;

/// Slack (metres) in the spacing test, far below the validator's 1 mm tolerance; it keeps
/// boxes placed at exactly the spacing from being rejected by rounding.
const SPACING_EPS: f64 = 1e-6;

/// How many candidate rows are scanned between checks of the time limit and cancellation.
const ROWS_BETWEEN_STOP_CHECKS: usize = 32;

/// Smallest and largest automatic grid steps, metres.
const MIN_AUTO_STEP: f64 = 0.25;
const MAX_AUTO_STEP: f64 = 2.0;

/// Result of one pass.
#[derive(Debug, Clone)]
pub struct Packing {
    pub layout: Layout,
    pub footprint_m2: f64,
    /// The pass stopped early because the time limit passed.
    pub truncated: bool,
}

/// Inputs of one pass.
pub struct Pass<'a> {
    pub problem: &'a Problem,
    pub frame: Frame,
    pub region: &'a Region,
    /// Asset indices in placement order.
    pub order: &'a [usize],
    pub grid_step_m: Option<f64>,
    /// Local boxes `[min, max]` no footprint may enter (touching is allowed): street corridors
    /// and entrance aprons kept free for roads.
    pub obstacles: &'a [([f64; 2], [f64; 2])],
    /// Clear distance kept between footprints, at least the problem's minimum spacing; a
    /// larger value leaves room for roads between every pair of assets.
    pub spacing_m: f64,
    /// Assets already placed (kept, and packed around); they appear first in the result.
    pub fixed: &'a [PlacedAsset],
}

/// One first-fit search: a `w` × `l` box, grid `step`, rows from `from_y` up.
#[derive(Clone, Copy)]
struct Search {
    w: f64,
    l: f64,
    step: f64,
    from_y: f64,
    spacing: f64,
    /// The type of the asset being placed, for the spacings of its pairs.
    asset_type: AssetType,
}

/// Placed boxes in local coordinates.
struct Placed {
    index: FootprintIndex,
    /// Candidate rows contributed by placed boxes.
    rows: Vec<f64>,
    /// Boxes kept free (no spacing needed, touching allowed).
    obstacles: FootprintIndex,
    /// The type of each placed box, by its id in `index`.
    types: Vec<AssetType>,
}

impl Pass<'_> {
    /// Runs the pass. Stops early (returning what is placed) when out of time; fails only on
    /// cancellation.
    pub fn run(&self, ctx: &RunContext<'_>) -> Result<Packing, StrategyError> {
        let spacing = self.spacing_m.max(self.problem.min_spacing_m);
        let limit = self.problem.max_footprint_m2();
        let mut placed = Placed {
            index: FootprintIndex::new(),
            rows: Vec::new(),
            obstacles: FootprintIndex::new(),
            types: Vec::new(),
        };
        for (k, (min, max)) in self.obstacles.iter().enumerate() {
            placed.obstacles.insert_box(*min, *max, k);
            placed.rows.push(max[1]);
        }
        // Lowest row still worth scanning for boxes of a given local size: rows below were
        // rejected before and placements only add obstacles.
        let mut hints: HashMap<(u64, u64, AssetType), f64> = HashMap::new();
        let mut layout = Layout::default();
        let mut footprint = 0.0;
        let mut truncated = false;
        let mut done: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for a in self.fixed {
            let (min, max) = self.frame.local_box(&a.bounding_box());
            placed.index.insert_box(min, max, layout.assets.len());
            placed.types.push(a.asset_type);
            placed.rows.push(min[1]);
            placed.rows.push(max[1] + spacing);
            footprint += a.area_m2();
            done.insert(a.asset_id.as_str());
            layout.assets.push(a.clone());
        }

        for &i in self.order {
            if ctx.is_cancelled() {
                return Err(StrategyError::Cancelled);
            }
            if ctx.is_out_of_time() {
                truncated = true;
                break;
            }
            let asset = &self.problem.assets[i];
            if done.contains(asset.asset_id.as_str()) {
                continue;
            }
            let area = asset.area_m2();
            if footprint + area > limit {
                continue;
            }
            let step = self.grid_step_m.unwrap_or_else(|| {
                (asset.width_m.min(asset.length_m) / 8.0).clamp(MIN_AUTO_STEP, MAX_AUTO_STEP)
            });
            let mut best: Option<([f64; 2], f64, f64, f64)> = None; // (min, w, l, local rotation)
            for (w, l, local_rot) in self.orientations(asset) {
                // Per type too: pairs of types may need different spacings.
                let key = (w.to_bits(), l.to_bits(), asset.asset_type);
                let from_y = hints.get(&key).copied().unwrap_or(f64::NEG_INFINITY);
                let search = Search {
                    w,
                    l,
                    step,
                    from_y,
                    spacing,
                    asset_type: asset.asset_type,
                };
                let Some(found) = self.first_fit(&placed, &search, ctx) else {
                    // Out of time (or cancelled) in the middle of a scan.
                    if ctx.is_cancelled() {
                        return Err(StrategyError::Cancelled);
                    }
                    truncated = true;
                    break;
                };
                hints.insert(key, found.map_or(f64::INFINITY, |p| p[1]));
                if let Some(p) = found
                    && best.is_none_or(|(b, ..)| (p[1], p[0]) < (b[1], b[0]))
                {
                    best = Some((p, w, l, local_rot));
                }
            }
            if truncated {
                break;
            }
            let Some((min, w, l, local_rot)) = best else {
                continue;
            };
            let max = [min[0] + w, min[1] + l];
            placed.index.insert_box(min, max, layout.assets.len());
            placed.types.push(asset.asset_type);
            placed.rows.push(min[1]);
            placed.rows.push(max[1] + spacing);
            let centre = self.frame.to_world(Coord {
                x: min[0] + w / 2.0,
                y: min[1] + l / 2.0,
            });
            layout.assets.push(PlacedAsset {
                asset_id: asset.asset_id.clone(),
                name: asset.name.clone(),
                asset_type: asset.asset_type,
                center: [centre.x, centre.y],
                width_m: asset.width_m,
                length_m: asset.length_m,
                rotation_deg: normalize_deg(self.frame.angle_deg + local_rot),
                shape: asset.shape.clone(),
            });
            footprint += area;
        }
        Ok(Packing {
            layout,
            footprint_m2: footprint,
            truncated,
        })
    }

    /// Local box sizes `(w, l, local rotation)` the asset may take in this frame.
    fn orientations(&self, asset: &ProblemAsset) -> Vec<(f64, f64, f64)> {
        let reference = self.problem.reference_angle_deg;
        let mut out = Vec::with_capacity(2);
        for (w, l, local_rot) in [
            (asset.width_m, asset.length_m, 0.0),
            (asset.length_m, asset.width_m, 90.0),
        ] {
            let duplicate = out.iter().any(|&(ow, ol, _)| ow == w && ol == l);
            if !duplicate
                && rotation_allowed(asset.rotations, self.frame.angle_deg + local_rot, reference)
            {
                out.push((w, l, local_rot));
            }
        }
        out
    }

    /// Lowest-then-leftmost position (box minimum corner) for a `w` × `l` box, scanning rows
    /// from `from_y` up: `Some(None)` when nothing fits, `None` when the run must stop.
    fn first_fit(
        &self,
        placed: &Placed,
        search: &Search,
        ctx: &RunContext<'_>,
    ) -> Option<Option<[f64; 2]>> {
        let Search {
            w,
            l,
            step,
            from_y,
            spacing,
            asset_type,
        } = *search;
        let (min, max) = (self.region.min, self.region.max);
        let (x_last, y_last) = (max[0] - w + 1e-9, max[1] - l + 1e-9);
        if x_last < min[0] || y_last < min[1] {
            return Some(None);
        }
        let grid_rows = ((y_last - min[1]) / step).floor() as usize + 1;
        let mut rows: Vec<f64> = (0..grid_rows)
            .map(|k| min[1] + k as f64 * step)
            .chain(placed.rows.iter().copied())
            .filter(|&y| y >= from_y && y >= min[1] && y <= y_last)
            .collect();
        rows.sort_by(f64::total_cmp);
        rows.dedup_by(|a, b| (*a - *b).abs() < 1e-9);

        for (n, y) in rows.into_iter().enumerate() {
            if n % ROWS_BETWEEN_STOP_CHECKS == ROWS_BETWEEN_STOP_CHECKS - 1 && ctx.should_stop() {
                return None;
            }
            let mut x = min[0];
            while x <= x_last {
                let (bmin, bmax) = ([x, y], [x + w, y + l]);
                if let Some(next) =
                    past_conflicts(self.problem, placed, bmin, bmax, spacing, asset_type)
                {
                    x = next.max(x + 1e-9);
                    continue;
                }
                if self.region.contains_box(bmin, bmax) {
                    return Some(Some(bmin));
                }
                x = min[0] + (((x - min[0]) / step + 1e-9).floor() + 1.0) * step;
            }
        }
        Some(None)
    }
}

/// If the box `[bmin, bmax]` of an `asset_type` comes closer than its spacing to placed
/// boxes (`spacing`, or more where the program asks more for a pair of types) or enters a
/// kept-free box, the smallest x (for the box's left side) that clears all of them by
/// moving right.
fn past_conflicts(
    problem: &Problem,
    placed: &Placed,
    bmin: [f64; 2],
    bmax: [f64; 2],
    spacing: f64,
    asset_type: AssetType,
) -> Option<f64> {
    let mut next: Option<f64> = None;
    for (pmin, pmax, _) in placed.obstacles.boxes_near(bmin, bmax, 0.0) {
        let gx = (bmin[0] - pmax[0]).max(pmin[0] - bmax[0]);
        let gy = (bmin[1] - pmax[1]).max(pmin[1] - bmax[1]);
        if gx < -SPACING_EPS && gy < -SPACING_EPS {
            next = Some(next.map_or(pmax[0], |n: f64| n.max(pmax[0])));
        }
    }
    let reach = spacing.max(problem.widest_spacing_m());
    for (pmin, pmax, id) in placed.index.boxes_near(bmin, bmax, reach) {
        // A pair's own spacing may be smaller than the minimum; the packer keeps the
        // larger of the two, which is always valid.
        let spacing = placed.types.get(id).map_or(spacing, |&other| {
            spacing.max(problem.spacing_between(asset_type, other))
        });
        let gx = (bmin[0] - pmax[0]).max(pmin[0] - bmax[0]);
        let gy = (bmin[1] - pmax[1]).max(pmin[1] - bmax[1]);
        let too_close = if spacing > 0.0 {
            gx.max(0.0).hypot(gy.max(0.0)) < spacing - SPACING_EPS
        } else {
            gx < -SPACING_EPS && gy < -SPACING_EPS
        };
        if too_close {
            let dy = gy.max(0.0);
            let dx_needed = (spacing * spacing - dy * dy).max(0.0).sqrt();
            let clear = pmax[0] + dx_needed;
            next = Some(next.map_or(clear, |n| n.max(clear)));
        }
    }
    next
}
