//! From a grown tree to roads: loads (assets served downstream of each edge), chains of edges
//! with one class, the widest class the chain's corridor allows, and string-pulling that
//! replaces runs of grid edges by the longest straight segments that stay valid.

use geo::{Coord, Polygon};

use super::RoadClass;
use super::grid::{Grid, NONE, point_segment_distance, segment_hits_lines, segments_intersect};
use super::steiner::Tree;
use crate::index::FootprintIndex;
use crate::layout::{PlacedAsset, Road};
use crate::problem::Problem;

/// Turns `tree` into roads (world coordinates).
pub fn roads_from_tree(
    problem: &Problem,
    assets: &[PlacedAsset],
    grid: &Grid<'_>,
    tree: &Tree,
) -> Vec<Road> {
    let n = grid.len();
    let mut load = vec![0u32; n];
    let mut fixed = vec![false; n];
    for node in tree.attach.iter().flatten() {
        load[*node as usize] += 1;
        fixed[*node as usize] = true;
    }
    let mut children = vec![0u32; n];
    for &v in tree.order.iter().rev() {
        let p = tree.parent[v as usize];
        if p != NONE {
            load[p as usize] += load[v as usize];
            children[p as usize] += 1;
        }
    }
    let _ = assets;
    let checker = SegmentChecker::new(grid);
    let settings = &problem.roads;
    let mut roads = Vec::new();
    // A chain starts at every tree node with a parent whose own child edge (if single) has a
    // different class, or which is a leaf or a branch.
    let mut single_child = vec![NONE; n];
    for &v in &tree.order {
        let p = tree.parent[v as usize];
        if p != NONE && children[p as usize] == 1 {
            single_child[p as usize] = v;
        }
    }
    for &v in &tree.order {
        let p = tree.parent[v as usize];
        if p == NONE {
            continue;
        }
        let class = settings.class_for_load(load[v as usize]);
        let continues = children[v as usize] == 1
            && settings.class_for_load(load[single_child[v as usize] as usize]) == class;
        if continues {
            continue;
        }
        let mut chain = vec![v];
        let mut cur = v;
        loop {
            let up = tree.parent[cur as usize];
            chain.push(up);
            let up_parent = tree.parent[up as usize];
            if up_parent == NONE
                || children[up as usize] != 1
                || settings.class_for_load(load[up as usize]) != class
            {
                break;
            }
            cur = up;
        }
        let points: Vec<[f64; 2]> = chain.iter().map(|&k| grid.local(k)).collect();
        let is_fixed: Vec<bool> = chain
            .iter()
            .enumerate()
            .map(|(k, &node)| k == 0 || k + 1 == chain.len() || fixed[node as usize])
            .collect();
        // The widest class the load asks for whose width every grid edge of the chain allows.
        let mut chosen = RoadClass::Access;
        for c in RoadClass::ALL {
            if settings.width(c) > settings.width(class) {
                continue;
            }
            let half = settings.width(c) / 2.0;
            if points
                .windows(2)
                .all(|w| checker.clear_of_assets(w[0], w[1], half))
            {
                chosen = c;
                break;
            }
        }
        let half = settings.width(chosen) / 2.0;
        let smoothed = string_pull(&points, &is_fixed, |a, b| checker.valid(a, b, half));
        roads.push(Road {
            points: smoothed
                .iter()
                .map(|p| {
                    let c = grid.frame.to_world(Coord { x: p[0], y: p[1] });
                    [c.x, c.y]
                })
                .collect(),
            width_m: settings.width(chosen),
            class: chosen,
        });
    }
    roads
}

/// Keeps the first point, then repeatedly jumps to the farthest point (not past the next fixed
/// one) reachable by a valid straight segment.
pub fn string_pull(
    points: &[[f64; 2]],
    fixed: &[bool],
    mut valid: impl FnMut([f64; 2], [f64; 2]) -> bool,
) -> Vec<[f64; 2]> {
    let Some(&first) = points.first() else {
        return Vec::new();
    };
    let mut out = vec![first];
    let mut a = 0;
    while a + 1 < points.len() {
        let mut best = a + 1;
        let mut k = a + 1;
        while !fixed[k] && k + 1 < points.len() {
            k += 1;
            if valid(points[a], points[k]) {
                best = k;
            } else {
                break;
            }
        }
        out.push(points[best]);
        a = best;
    }
    out
}

/// Exact segment tests in the grid's local frame.
struct SegmentChecker<'g, 'a> {
    grid: &'g Grid<'a>,
    index: FootprintIndex,
}

impl<'g, 'a> SegmentChecker<'g, 'a> {
    fn new(grid: &'g Grid<'a>) -> Self {
        SegmentChecker {
            grid,
            index: FootprintIndex::from_polygons(grid.local_footprints.iter().zip(0..)),
        }
    }

    /// Whether a road of half width `half` centred on `a`–`b` stays clear of every footprint.
    fn clear_of_assets(&self, a: [f64; 2], b: [f64; 2], half: f64) -> bool {
        let min = [a[0].min(b[0]), a[1].min(b[1])];
        let max = [a[0].max(b[0]), a[1].max(b[1])];
        self.index
            .near_box(min, max, half)
            .into_iter()
            .all(|k| segment_polygon_distance(a, b, &self.grid.local_footprints[k]) >= half + 1e-6)
    }

    fn valid(&self, a: [f64; 2], b: [f64; 2], half: f64) -> bool {
        if !self.clear_of_assets(a, b, half) {
            return false;
        }
        let wa = self.grid.frame.to_world(Coord { x: a[0], y: a[1] });
        let wb = self.grid.frame.to_world(Coord { x: b[0], y: b[1] });
        if self.crosses_rings(a, b) {
            return false;
        }
        match &self.grid.problem.terrain {
            Some(t) => t.segment_within_grade(
                [wa.x, wa.y],
                [wb.x, wb.y],
                self.grid.problem.roads.max_grade_percent / 100.0,
            ),
            None => true,
        }
    }

    fn crosses_rings(&self, mut a: [f64; 2], mut b: [f64; 2]) -> bool {
        let d = [b[0] - a[0], b[1] - a[1]];
        let len = d[0].hypot(d[1]);
        if len == 0.0 {
            return false;
        }
        let nudge = 1e-5 / len;
        let is_root = |p: [f64; 2]| self.grid.roots.iter().any(|&r| self.grid.local(r) == p);
        if is_root(a) {
            a = [a[0] + d[0] * nudge, a[1] + d[1] * nudge];
        }
        if is_root(b) {
            b = [b[0] - d[0] * nudge, b[1] - d[1] * nudge];
        }
        segment_hits_lines(self.grid_rings(), a, b)
    }

    fn grid_rings(&self) -> &rstar::RTree<rstar::primitives::Line<[f64; 2]>> {
        self.grid.rings()
    }
}

/// Distance between a segment and a polygon's exterior (0 when they meet or the segment is
/// inside).
pub fn segment_polygon_distance(a: [f64; 2], b: [f64; 2], polygon: &Polygon<f64>) -> f64 {
    use geo::Contains;
    if polygon.contains(&Coord { x: a[0], y: a[1] }) {
        return 0.0;
    }
    let mut best = f64::INFINITY;
    for l in polygon.exterior().lines() {
        let (p, q) = ([l.start.x, l.start.y], [l.end.x, l.end.y]);
        if segments_intersect(a, b, p, q) {
            return 0.0;
        }
        best = best
            .min(point_segment_distance(a, p, q))
            .min(point_segment_distance(b, p, q))
            .min(point_segment_distance(p, a, b));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_pull_keeps_fixed_points() {
        let pts: Vec<[f64; 2]> = (0..6).map(|k| [k as f64, 0.0]).collect();
        let mut fixed = vec![false; 6];
        fixed[0] = true;
        fixed[5] = true;
        assert_eq!(
            string_pull(&pts, &fixed, |_, _| true),
            vec![[0.0, 0.0], [5.0, 0.0]]
        );
        fixed[3] = true;
        assert_eq!(
            string_pull(&pts, &fixed, |_, _| true),
            vec![[0.0, 0.0], [3.0, 0.0], [5.0, 0.0]]
        );
    }

    #[test]
    fn segment_polygon_distances() {
        let sq = geo::Rect::new((0.0, 0.0), (1.0, 1.0)).to_polygon();
        assert_eq!(segment_polygon_distance([-1.0, 0.5], [2.0, 0.5], &sq), 0.0);
        assert!((segment_polygon_distance([-1.0, 2.0], [2.0, 2.0], &sq) - 1.0).abs() < 1e-12);
    }
}
