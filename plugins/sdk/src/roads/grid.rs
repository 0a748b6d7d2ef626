//! The routing graph: a non-uniform rectilinear grid in a frame aligned with the assets, with
//! 8-connected edges. Its lines are a uniform background grid plus the edges of every footprint
//! grown by the route radius (half the narrowest road plus the clearance), so that every
//! corridor wide enough for a road contains a grid line and every grown footprint is exactly a
//! union of grid cells. A node is free when a road centred on it keeps its paved half width
//! inside the parcel, clear of exclusion zones and clear of every footprint; near an entrance
//! the parcel margin is waived so the road can meet the entrance point on the boundary.

use std::collections::HashMap;

use geo::{Area, BooleanOps, Buffer, Centroid, Coord, MultiPolygon, Polygon};
use rstar::{AABB, RTree, primitives::Line};

use crate::layout::PlacedAsset;
use crate::packing::frame::Frame;
use crate::prepare::exclusion_core;
use crate::problem::Problem;

/// Lines closer than this (metres) are merged.
const LINE_EPS: f64 = 1e-7;

/// Number of background lines wanted along the longer side of the parcel.
const BACKGROUND_LINES: f64 = 140.0;

/// Index of "no node".
pub const NONE: u32 = u32::MAX;

/// Cost multiplier of an edge inside an exclusion's buffer (but outside the zone itself).
const BUFFER_PENALTY: f64 = 4.0;

/// The routing graph (see the module documentation).
pub struct Grid<'a> {
    pub problem: &'a Problem,
    pub frame: Frame,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub free: Vec<bool>,
    penalty: Vec<bool>,
    /// Cells `(nx - 1) × (ny - 1)` that a boundary or exclusion edge passes through.
    cell_flag: Vec<bool>,
    rings: RTree<Line<[f64; 2]>>,
    /// Entrance nodes (the roots of the tree).
    pub roots: Vec<u32>,
    /// Per asset, the free nodes from which a road serves it.
    pub terminals: Vec<Vec<u32>>,
    /// Per node, the assets it serves.
    pub node_assets: HashMap<u32, Vec<u32>>,
    /// Asset footprints in local coordinates.
    pub local_footprints: Vec<Polygon<f64>>,
}

impl<'a> Grid<'a> {
    /// Builds the graph; `None` when the parcel is empty.
    // Nodes are addressed by (i, j) into both coordinate lists and the node arrays at once.
    #[allow(clippy::needless_range_loop)]
    pub fn build(problem: &'a Problem, assets: &[PlacedAsset], angle_deg: f64) -> Option<Self> {
        let settings = &problem.roads;
        let hw = settings.narrowest_width_m() / 2.0;
        let r = settings.route_radius_m();
        let origin = problem.boundary_m.centroid()?;
        let frame = Frame::new(angle_deg, 1.0, 1.0, [origin.x(), origin.y()]);

        let cores: Vec<MultiPolygon<f64>> =
            problem.exclusions_m.iter().map(exclusion_core).collect();
        let mut free_world = problem.boundary_m.buffer(-(hw + 1e-3));
        let mut penalty_world = MultiPolygon::new(vec![]);
        for (core, e) in cores.iter().zip(&problem.exclusions_m) {
            if core.unsigned_area() > 0.0 {
                free_world = free_world.difference(&core.buffer(r));
            }
            if e.keep_out.unsigned_area() > 0.0 {
                penalty_world = penalty_world.union(&e.keep_out.buffer(hw));
            }
        }
        let boundary = frame.area_to_local(&problem.boundary_m);
        let free_region = frame.area_to_local(&free_world);
        let penalty_region = frame.area_to_local(&penalty_world);
        let local_cores: Vec<MultiPolygon<f64>> =
            cores.iter().map(|c| frame.area_to_local(c)).collect();

        let (bmin, bmax) = bbox(&boundary)?;
        let step = ((bmax[0] - bmin[0]).max(bmax[1] - bmin[1]) / BACKGROUND_LINES).clamp(1.5, 10.0);
        // Roads keep off each asset's whole box, not only its outline: the grid's
        // guarantee that no edge cuts a grown footprint holds for rectangles, and the
        // box is the asset's lot (a round tank's or an L's corners are not for roads).
        let local_footprints: Vec<Polygon<f64>> = assets
            .iter()
            .map(|a| {
                let fp = a.bounding_box();
                Polygon::new(
                    fp.exterior().coords().map(|c| frame.to_local(*c)).collect(),
                    vec![],
                )
            })
            .collect();
        let boxes: Vec<([f64; 2], [f64; 2])> = assets
            .iter()
            .map(|a| frame.local_box(&a.bounding_box()))
            .collect();
        let entrances: Vec<Coord<f64>> = problem
            .entrances_m
            .iter()
            .map(|e| frame.to_local(Coord { x: e[0], y: e[1] }))
            .collect();

        let axis = |k: usize| -> Vec<f64> {
            let mut v: Vec<f64> = Vec::new();
            let n = ((bmax[k] - bmin[k]) / step).ceil() as usize;
            for s in 0..=n {
                v.push(bmin[k] + s as f64 * step);
            }
            v.push(bmin[k] + hw + 2e-3);
            v.push(bmax[k] - hw - 2e-3);
            for (lo, hi) in &boxes {
                v.push(lo[k] - r);
                v.push(hi[k] + r);
                // A line through the middle guarantees that every cell inside a grown
                // footprint has a corner strictly inside it, so no edge crosses it.
                v.push((lo[k] + hi[k]) / 2.0);
            }
            for e in &entrances {
                v.push(if k == 0 { e.x } else { e.y });
            }
            v.retain(|x| x.is_finite() && *x >= bmin[k] - 1e-6 && *x <= bmax[k] + 1e-6);
            v.sort_by(f64::total_cmp);
            v.dedup_by(|a, b| (*a - *b).abs() < LINE_EPS);
            v
        };
        let xs = axis(0);
        let ys = axis(1);
        let (nx, ny) = (xs.len(), ys.len());
        if nx < 2 || ny < 2 {
            return None;
        }
        let raster = |mp: &MultiPolygon<f64>| rasterize(mp, &xs, &ys);
        let mut free = raster(&free_region);
        let penalty = raster(&penalty_region);

        // Entrance aprons: within reach of an entrance the parcel margin is waived.
        let apron = r + 2.0 * step;
        let inside = if entrances.is_empty() {
            Vec::new()
        } else {
            raster(&boundary)
        };
        let mut in_core = vec![false; nx * ny];
        for c in &local_cores {
            for (k, v) in raster(c).into_iter().enumerate() {
                in_core[k] |= v;
            }
        }
        for e in &entrances {
            let (i0, i1) = range(&xs, e.x - apron, e.x + apron);
            let (j0, j1) = range(&ys, e.y - apron, e.y + apron);
            for j in j0..j1 {
                for i in i0..i1 {
                    let k = j * nx + i;
                    if (xs[i] - e.x).hypot(ys[j] - e.y) <= apron && inside[k] && !in_core[k] {
                        free[k] = true;
                    }
                }
            }
        }
        // Footprints grown by the route radius are closed to roads (their edges stay open).
        for (lo, hi) in &boxes {
            let (i0, i1) = range_open(&xs, lo[0] - r, hi[0] + r);
            let (j0, j1) = range_open(&ys, lo[1] - r, hi[1] + r);
            for j in j0..j1 {
                for i in i0..i1 {
                    free[j * nx + i] = false;
                }
            }
        }
        let mut roots = Vec::new();
        for e in &entrances {
            let i = nearest(&xs, e.x);
            let j = nearest(&ys, e.y);
            let k = j * nx + i;
            let blocked = boxes.iter().any(|(lo, hi)| {
                xs[i] > lo[0] - r + LINE_EPS
                    && xs[i] < hi[0] + r - LINE_EPS
                    && ys[j] > lo[1] - r + LINE_EPS
                    && ys[j] < hi[1] + r - LINE_EPS
            });
            if !blocked {
                free[k] = true;
                roots.push(k as u32);
            }
        }

        // Boundary and exclusion edges, for exact tests of edges near them.
        let mut lines = Vec::new();
        for mp in std::iter::once(&boundary).chain(local_cores.iter()) {
            for p in &mp.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    for l in ring.lines() {
                        lines.push(Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]));
                    }
                }
            }
        }
        let mut cell_flag = vec![false; (nx - 1) * (ny - 1)];
        for l in &lines {
            let (i0, i1) = range(
                &xs,
                l.from[0].min(l.to[0]) - 1e-6,
                l.from[0].max(l.to[0]) + 1e-6,
            );
            let (j0, j1) = range(
                &ys,
                l.from[1].min(l.to[1]) - 1e-6,
                l.from[1].max(l.to[1]) + 1e-6,
            );
            for j in j0.saturating_sub(1)..j1.min(ny - 1) {
                for i in i0.saturating_sub(1)..i1.min(nx - 1) {
                    cell_flag[j * (nx - 1) + i] = true;
                }
            }
        }

        // Terminals: free nodes from which a road of the narrowest class reaches the asset.
        let reach = hw + settings.access_gap_m - 1e-3;
        let mut terminals = vec![Vec::new(); assets.len()];
        let mut node_assets: HashMap<u32, Vec<u32>> = HashMap::new();
        for (a, (lo, hi)) in boxes.iter().enumerate() {
            let (i0, i1) = range(&xs, lo[0] - reach, hi[0] + reach);
            let (j0, j1) = range(&ys, lo[1] - reach, hi[1] + reach);
            for j in j0..j1 {
                for i in i0..i1 {
                    let k = j * nx + i;
                    if free[k]
                        && point_polygon_distance([xs[i], ys[j]], &local_footprints[a]) <= reach
                    {
                        terminals[a].push(k as u32);
                        node_assets.entry(k as u32).or_default().push(a as u32);
                    }
                }
            }
        }

        Some(Grid {
            problem,
            frame,
            xs,
            ys,
            free,
            penalty,
            cell_flag,
            rings: RTree::bulk_load(lines),
            roots,
            terminals,
            node_assets,
            local_footprints,
        })
    }

    /// Boundary and exclusion edges in local coordinates.
    pub fn rings(&self) -> &RTree<Line<[f64; 2]>> {
        &self.rings
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.xs.len() * self.ys.len()
    }

    /// Whether the grid has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Local coordinates of a node.
    pub fn local(&self, node: u32) -> [f64; 2] {
        let nx = self.xs.len();
        let (i, j) = (node as usize % nx, node as usize / nx);
        [self.xs[i], self.ys[j]]
    }

    /// World (UTM) coordinates of a node.
    pub fn world(&self, node: u32) -> [f64; 2] {
        let [x, y] = self.local(node);
        let c = self.frame.to_world(Coord { x, y });
        [c.x, c.y]
    }

    /// Calls `f(neighbour, cost)` for every usable edge from `node`.
    pub fn for_each_edge(&self, node: u32, mut f: impl FnMut(u32, f64)) {
        let nx = self.xs.len() as i64;
        let ny = self.ys.len() as i64;
        let (i, j) = (node as i64 % nx, node as i64 / nx);
        for (di, dj) in [
            (1, 0),
            (-1, 0),
            (0, 1),
            (0, -1),
            (1, 1),
            (1, -1),
            (-1, 1),
            (-1, -1),
        ] {
            let (i2, j2) = (i + di, j + dj);
            if i2 < 0 || j2 < 0 || i2 >= nx || j2 >= ny {
                continue;
            }
            let other = (j2 * nx + i2) as u32;
            if !self.free[other as usize] {
                continue;
            }
            // A diagonal needs its whole cell open: the other two corners free too.
            if di != 0
                && dj != 0
                && !(self.free[(j * nx + i2) as usize] && self.free[(j2 * nx + i) as usize])
            {
                continue;
            }
            if let Some(cost) = self.edge_cost(node, other, (i, j), (i2, j2)) {
                f(other, cost);
            }
        }
    }

    fn edge_cost(&self, a: u32, b: u32, (i, j): (i64, i64), (i2, j2): (i64, i64)) -> Option<f64> {
        let pa = self.local(a);
        let pb = self.local(b);
        if self.near_rings(i, j, i2, j2) && self.crosses_rings(a, b, pa, pb) {
            return None;
        }
        let len = (pb[0] - pa[0]).hypot(pb[1] - pa[1]);
        if let Some(terrain) = &self.problem.terrain {
            let max = self.problem.roads.max_grade_percent / 100.0;
            if !terrain.segment_within_grade(self.world(a), self.world(b), max) {
                return None;
            }
        }
        let factor = if self.penalty[a as usize] || self.penalty[b as usize] {
            BUFFER_PENALTY
        } else {
            1.0
        };
        Some(len * factor)
    }

    fn near_rings(&self, i: i64, j: i64, i2: i64, j2: i64) -> bool {
        let cx = (self.xs.len() - 1) as i64;
        let cy = (self.ys.len() - 1) as i64;
        let cells: [(i64, i64); 2] = if i == i2 {
            [(i - 1, j.min(j2)), (i, j.min(j2))]
        } else if j == j2 {
            [(i.min(i2), j - 1), (i.min(i2), j)]
        } else {
            [(i.min(i2), j.min(j2)); 2]
        };
        cells.iter().any(|&(ci, cj)| {
            ci >= 0 && cj >= 0 && ci < cx && cj < cy && self.cell_flag[(cj * cx + ci) as usize]
        })
    }

    /// Whether the segment between two nodes touches a boundary or exclusion edge (the part
    /// at an entrance node, which lies on the boundary, excepted).
    fn crosses_rings(&self, a: u32, b: u32, mut pa: [f64; 2], mut pb: [f64; 2]) -> bool {
        let d = [pb[0] - pa[0], pb[1] - pa[1]];
        let len = d[0].hypot(d[1]);
        if len == 0.0 {
            return false;
        }
        let nudge = 1e-5 / len;
        if self.roots.contains(&a) {
            pa = [pa[0] + d[0] * nudge, pa[1] + d[1] * nudge];
        }
        if self.roots.contains(&b) {
            pb = [pb[0] - d[0] * nudge, pb[1] - d[1] * nudge];
        }
        segment_hits_lines(&self.rings, pa, pb)
    }
}

/// Whether the segment `a`–`b` touches any of `lines`.
pub fn segment_hits_lines(lines: &RTree<Line<[f64; 2]>>, a: [f64; 2], b: [f64; 2]) -> bool {
    let env = AABB::from_corners(
        [a[0].min(b[0]), a[1].min(b[1])],
        [a[0].max(b[0]), a[1].max(b[1])],
    );
    lines
        .locate_in_envelope_intersecting(&env)
        .any(|l| segments_intersect(a, b, l.from, l.to))
}

/// Whether two closed segments share a point.
pub fn segments_intersect(p1: [f64; 2], p2: [f64; 2], q1: [f64; 2], q2: [f64; 2]) -> bool {
    let orient = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    };
    let on = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        c[0] >= a[0].min(b[0]) - 1e-12
            && c[0] <= a[0].max(b[0]) + 1e-12
            && c[1] >= a[1].min(b[1]) - 1e-12
            && c[1] <= a[1].max(b[1]) + 1e-12
    };
    let (d1, d2) = (orient(q1, q2, p1), orient(q1, q2, p2));
    let (d3, d4) = (orient(p1, p2, q1), orient(p1, p2, q2));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on(q1, q2, p1))
        || (d2 == 0.0 && on(q1, q2, p2))
        || (d3 == 0.0 && on(p1, p2, q1))
        || (d4 == 0.0 && on(p1, p2, q2))
}

/// Distance from a point to a polygon's exterior ring (0 inside).
pub fn point_polygon_distance(p: [f64; 2], polygon: &Polygon<f64>) -> f64 {
    use geo::Contains;
    if polygon.contains(&Coord { x: p[0], y: p[1] }) {
        return 0.0;
    }
    polygon
        .exterior()
        .lines()
        .map(|l| point_segment_distance(p, [l.start.x, l.start.y], [l.end.x, l.end.y]))
        .fold(f64::INFINITY, f64::min)
}

/// Distance from a point to a segment.
pub fn point_segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * d[0]).hypot(p[1] - a[1] - t * d[1])
}

fn bbox(mp: &MultiPolygon<f64>) -> Option<([f64; 2], [f64; 2])> {
    let r = geo::BoundingRect::bounding_rect(mp)?;
    Some(([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Indices `[i0, i1)` of sorted `v` within the closed interval `[lo, hi]`.
fn range(v: &[f64], lo: f64, hi: f64) -> (usize, usize) {
    (
        v.partition_point(|x| *x < lo),
        v.partition_point(|x| *x <= hi),
    )
}

/// Indices `[i0, i1)` of sorted `v` strictly inside `(lo, hi)` (by more than `LINE_EPS`).
fn range_open(v: &[f64], lo: f64, hi: f64) -> (usize, usize) {
    (
        v.partition_point(|x| *x <= lo + LINE_EPS),
        v.partition_point(|x| *x < hi - LINE_EPS),
    )
}

fn nearest(v: &[f64], x: f64) -> usize {
    let i = v.partition_point(|y| *y < x);
    if i == 0 {
        0
    } else if i >= v.len() || (x - v[i - 1]) <= (v[i] - x) {
        (i - 1).min(v.len() - 1)
    } else {
        i
    }
}

/// Which grid nodes lie inside `mp` (even-odd rule on horizontal scanlines).
pub fn rasterize(mp: &MultiPolygon<f64>, xs: &[f64], ys: &[f64]) -> Vec<bool> {
    let (nx, ny) = (xs.len(), ys.len());
    let mut out = vec![false; nx * ny];
    let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); ny];
    for p in &mp.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in ring.lines() {
                let (a, b) = (l.start, l.end);
                if a.y == b.y {
                    continue;
                }
                let (lo, hi) = (a.y.min(b.y), a.y.max(b.y));
                let j0 = ys.partition_point(|y| *y < lo);
                for (j, &y) in ys.iter().enumerate().skip(j0) {
                    if y >= hi {
                        break;
                    }
                    // Half-open rule: the edge counts for lo <= y < hi.
                    let x = a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y);
                    crossings[j].push(x);
                }
            }
        }
    }
    for (j, c) in crossings.iter_mut().enumerate() {
        c.sort_by(f64::total_cmp);
        for pair in c.chunks_exact(2) {
            let (i0, i1) = range(xs, pair[0], pair[1]);
            for i in i0..i1 {
                out[j * nx + i] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Rect;

    #[test]
    fn rasterizes_a_square_with_a_hole() {
        let outer = Rect::new((0.0, 0.0), (10.0, 10.0)).to_polygon();
        let hole = Rect::new((4.0, 4.0), (6.0, 6.0)).to_polygon();
        let mp = MultiPolygon::new(vec![Polygon::new(
            outer.exterior().clone(),
            vec![hole.exterior().clone()],
        )]);
        let v: Vec<f64> = (0..=10).map(f64::from).map(|x| x + 0.5).collect();
        let r = rasterize(&mp, &v, &v);
        assert!(r[0]);
        assert!(!r[4 * 11 + 4], "in the hole");
        assert!(!r[10 * 11 + 10], "outside");
        assert_eq!(r.iter().filter(|b| **b).count(), 100 - 4);
    }

    #[test]
    fn segment_tests() {
        assert!(segments_intersect(
            [0.0, 0.0],
            [2.0, 2.0],
            [0.0, 2.0],
            [2.0, 0.0]
        ));
        assert!(!segments_intersect(
            [0.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 1.0]
        ));
        assert!(segments_intersect(
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, 0.0],
            [1.0, 1.0]
        ));
        assert!((point_segment_distance([0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]) - 1.0).abs() < 1e-12);
    }
}
