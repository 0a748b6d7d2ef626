//! Building blocks of an improving search's moves, in a packing frame: [`Room`] answers
//! "may this box go here?" with the spatial index, [`entrance_aprons`] keeps the ground at
//! the entrances free, [`nudge_asset`] shifts one asset by the largest step that fits, and
//! [`region_around`] clips the region to a window around some assets so a repair stays local.
//! The built-in `anneal` strategy's moves are made of these; a third-party strategy gets the
//! same.
//!
//! ```
//! use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
//! use entmoot_plugin_sdk::packing::frame::Frame;
//! use entmoot_plugin_sdk::packing::moves::nudge_asset;
//! use entmoot_plugin_sdk::packing::region::Region;
//! use entmoot_plugin_sdk::prepare::prepare_problem;
//! use entmoot_plugin_sdk::{Layout, PlacedAsset, roads, validate_layout};
//!
//! let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(1)).unwrap();
//! let a = &problem.assets[0];
//! let layout = Layout {
//!     assets: vec![PlacedAsset {
//!         asset_id: a.asset_id.clone(), name: a.name.clone(), asset_type: a.asset_type,
//!         center: [637_900.0, 4_357_000.0], width_m: a.width_m, length_m: a.length_m,
//!         rotation_deg: 0.0, shape: Default::default(),
//!     }],
//!     roads: vec![],
//! };
//! let frame = Frame::new(0.0, 1.0, 1.0, [637_900.0, 4_357_000.0]);
//! let region = Region::new(frame.area_to_local(&problem.buildable_m)).unwrap();
//! // Ten metres east, or the largest part of it that fits.
//! let mut moved = nudge_asset(&problem, &layout, &frame, &region, 0, [1.0, 0.0], 10.0).unwrap();
//! assert!((moved.assets[0].center[0] - 637_910.0).abs() < 1e-6);
//! roads::connect_layout(&problem, &mut moved, Some(0.0));
//! assert_eq!(validate_layout(&problem, &moved), vec![]);
//! ```

use geo::{BooleanOps, Coord, MultiPolygon, Rect};

use crate::index::FootprintIndex;
use crate::layout::{Layout, PlacedAsset};
use crate::packing::frame::Frame;
use crate::packing::region::Region;
use crate::problem::Problem;
use crate::program::AssetType;

/// A local axis-aligned box `(min, max)`.
pub type LocalBox = ([f64; 2], [f64; 2]);

/// Where a box may go, in a frame's local coordinates: inside the region, clear of the
/// obstacles, and at least the spacing (the pair's own where the program gives a larger one)
/// from every box of the index. Index ids are positions in `assets`.
pub struct Room<'a> {
    pub problem: &'a Problem,
    pub region: &'a Region,
    pub obstacles: &'a [LocalBox],
    pub index: &'a FootprintIndex,
    pub assets: &'a [PlacedAsset],
    /// The least spacing between boxes, metres (at least the problem's minimum is sensible).
    pub spacing: f64,
}

impl Room<'_> {
    /// Whether a box of an asset of `asset_type` fits at `[bmin, bmax]`, not counting the
    /// indexed box `ignore` (the asset being moved).
    pub fn fits(
        &self,
        asset_type: AssetType,
        bmin: [f64; 2],
        bmax: [f64; 2],
        ignore: Option<usize>,
    ) -> bool {
        if !self.region.contains_box(bmin, bmax) {
            return false;
        }
        let blocked = self.obstacles.iter().any(|(omin, omax)| {
            bmin[0] < omax[0] && omin[0] < bmax[0] && bmin[1] < omax[1] && omin[1] < bmax[1]
        });
        if blocked {
            return false;
        }
        let reach = self.spacing.max(self.problem.widest_spacing_m());
        let crowded = self
            .index
            .boxes_near(bmin, bmax, reach)
            .filter(|(.., id)| Some(*id) != ignore)
            .any(|(pmin, pmax, id)| {
                let spacing = self.assets.get(id).map_or(self.spacing, |other| {
                    self.spacing
                        .max(self.problem.spacing_between(asset_type, other.asset_type))
                });
                let gx = (bmin[0] - pmax[0]).max(pmin[0] - bmax[0]).max(0.0);
                let gy = (bmin[1] - pmax[1]).max(pmin[1] - bmax[1]).max(0.0);
                let overlap = bmin[0] < pmax[0]
                    && pmin[0] < bmax[0]
                    && bmin[1] < pmax[1]
                    && pmin[1] < bmax[1];
                overlap || gx.hypot(gy) < spacing + 1e-6
            });
        !crowded
    }
}

/// A square of free ground around every entrance, in the frame (room for the trunk road to
/// turn in; the constructive packer keeps it free too).
pub fn entrance_aprons(problem: &Problem, frame: &Frame) -> Vec<LocalBox> {
    let settings = &problem.roads;
    let apron = (2.0 * settings.route_radius_m()).max(settings.main_width_m);
    problem
        .entrances_m
        .iter()
        .map(|e| {
            let l = frame.to_local(Coord { x: e[0], y: e[1] });
            ([l.x - apron, l.y - apron], [l.x + apron, l.y + apron])
        })
        .collect()
}

/// The steps a nudge tries, each half the one before.
const NUDGE_TRIES: usize = 6;

/// `layout` with asset `moved` shifted along the local unit `direction` by `step_m`, or by
/// the largest of its halves (down to a quarter metre, six tries) that fits the region, the
/// entrance aprons and the spacing; `None` when none does. The result has no roads: connect
/// it (`roads::connect_layout`) before scoring it.
pub fn nudge_asset(
    problem: &Problem,
    layout: &Layout,
    frame: &Frame,
    region: &Region,
    moved: usize,
    direction: [f64; 2],
    step_m: f64,
) -> Option<Layout> {
    let asset = layout.assets.get(moved)?;
    let mut index = FootprintIndex::new();
    for (k, a) in layout.assets.iter().enumerate() {
        let (min, max) = frame.local_box(&a.bounding_box());
        index.insert_box(min, max, k);
    }
    let (min, max) = frame.local_box(&asset.bounding_box());
    let obstacles = entrance_aprons(problem, frame);
    let room = Room {
        problem,
        region,
        obstacles: &obstacles,
        index: &index,
        assets: &layout.assets,
        spacing: problem.min_spacing_m,
    };
    let mut step = step_m;
    for _ in 0..NUDGE_TRIES {
        if !(step.is_finite() && step >= 0.25) {
            break;
        }
        let shift = [direction[0] * step, direction[1] * step];
        let bmin = [min[0] + shift[0], min[1] + shift[1]];
        let bmax = [max[0] + shift[0], max[1] + shift[1]];
        if room.fits(asset.asset_type, bmin, bmax, Some(moved)) {
            let world = frame.to_world(Coord {
                x: (bmin[0] + bmax[0]) / 2.0,
                y: (bmin[1] + bmax[1]) / 2.0,
            });
            let mut nudged = Layout {
                assets: layout.assets.clone(),
                roads: Vec::new(),
            };
            nudged.assets[moved].center = [world.x, world.y];
            return Some(nudged);
        }
        step /= 2.0;
    }
    None
}

/// The part of `region` around `assets`: their bounding box in the frame, grown by
/// `margin_m` on every side. `None` when that window covers most (70 %) of the region's
/// bounding box anyway, or `assets` is empty.
///
/// Why: a bottom-left pass over the whole region puts re-inserted assets in its far corner;
/// on a parcel much larger than its program that is hundreds of metres from the others, and
/// the roads grow by as much. Re-packing in a window where they were is a local move.
pub fn region_around(
    frame: &Frame,
    region: &Region,
    assets: &[&PlacedAsset],
    margin_m: f64,
) -> Option<Region> {
    if assets.is_empty() {
        return None;
    }
    let mut min = [f64::INFINITY; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    for a in assets {
        let (lo, hi) = frame.local_box(&a.bounding_box());
        min = [min[0].min(lo[0]), min[1].min(lo[1])];
        max = [max[0].max(hi[0]), max[1].max(hi[1])];
    }
    let (min, max) = (
        [min[0] - margin_m, min[1] - margin_m],
        [max[0] + margin_m, max[1] + margin_m],
    );
    let window_area = (max[0] - min[0]) * (max[1] - min[1]);
    let region_area = (region.max[0] - region.min[0]) * (region.max[1] - region.min[1]);
    if window_area > 0.7 * region_area {
        return None;
    }
    let window = Rect::new(
        Coord {
            x: min[0],
            y: min[1],
        },
        Coord {
            x: max[0],
            y: max[1],
        },
    );
    Region::new(
        region
            .area()
            .intersection(&MultiPolygon(vec![window.to_polygon()])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::square_problem;

    fn placed(problem: &Problem, centres: &[[f64; 2]]) -> Layout {
        let spec = &problem.assets[0];
        Layout {
            assets: centres
                .iter()
                .enumerate()
                .map(|(k, c)| PlacedAsset {
                    asset_id: format!("a{k}"),
                    name: spec.name.clone(),
                    asset_type: spec.asset_type,
                    center: *c,
                    width_m: spec.width_m,
                    length_m: spec.length_m,
                    rotation_deg: 0.0,
                    shape: spec.shape.clone(),
                })
                .collect(),
            roads: Vec::new(),
        }
    }

    #[test]
    fn a_nudge_stops_short_of_a_neighbour_and_keeps_the_spacing() {
        let problem = square_problem();
        let (w, spacing) = (problem.assets[0].width_m, problem.min_spacing_m);
        // Two assets side by side with room for exactly 3 m more between them.
        let gap = spacing + 3.0;
        let layout = placed(&problem, &[[30.0, 50.0], [30.0 + w + gap, 50.0]]);
        let frame = Frame::new(0.0, 1.0, 1.0, [0.0, 0.0]);
        let region = Region::new(frame.area_to_local(&problem.buildable_m)).unwrap();
        // Asked for 8 m towards the neighbour: 8 and 4 do not fit, 2 does.
        let nudged = nudge_asset(&problem, &layout, &frame, &region, 0, [1.0, 0.0], 8.0).unwrap();
        assert!((nudged.assets[0].center[0] - 32.0).abs() < 1e-9);
        assert_eq!(nudged.assets[1].center, layout.assets[1].center);
        // Away from the neighbour, the whole step.
        let away = nudge_asset(&problem, &layout, &frame, &region, 0, [-1.0, 0.0], 8.0).unwrap();
        assert!((away.assets[0].center[0] - 22.0).abs() < 1e-9);
        // Into the neighbour by less than a quarter metre of room: nothing fits.
        let packed = placed(&problem, &[[30.0, 50.0], [30.0 + w + spacing + 0.1, 50.0]]);
        assert!(nudge_asset(&problem, &packed, &frame, &region, 0, [1.0, 0.0], 8.0).is_none());
    }

    #[test]
    fn the_window_holds_the_assets_and_is_smaller_than_the_region() {
        let problem = square_problem();
        let layout = placed(&problem, &[[30.0, 50.0]]);
        let frame = Frame::new(0.0, 1.0, 1.0, [0.0, 0.0]);
        let region = Region::new(frame.area_to_local(&problem.buildable_m)).unwrap();
        let assets: Vec<&PlacedAsset> = layout.assets.iter().collect();
        let window = region_around(&frame, &region, &assets, 2.0).expect("a window");
        let (min, max) = frame.local_box(&layout.assets[0].bounding_box());
        assert!(window.contains_box(min, max));
        assert!(window.max[0] - window.min[0] < region.max[0] - region.min[0]);
        // A margin as large as the region: no window, the region itself is the answer.
        assert!(region_around(&frame, &region, &assets, 1_000.0).is_none());
    }
}
