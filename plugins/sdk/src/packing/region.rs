//! The buildable area in a packing frame, with an R-tree of its edges: answers "is this
//! axis-aligned box inside the area?" in logarithmic time.

use crate::geo::{BoundingRect, Coord, Intersects, MultiPolygon};
use rstar::{AABB, RTree, primitives::Line};

/// Boxes are shrunk by this much (metres) before the edge test, so a box lying exactly on an
/// edge of the area counts as inside.
const EDGE_EPS: f64 = 1e-7;

/// The buildable area in local coordinates.
pub struct Region {
    area: MultiPolygon<f64>,
    edges: RTree<Line<[f64; 2]>>,
    /// Local bounding box `[min, max]`.
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl Region {
    /// Indexes an area given in local coordinates; `None` if it is empty.
    pub fn new(area: MultiPolygon<f64>) -> Option<Region> {
        let bbox = area.bounding_rect()?;
        let mut edges = Vec::new();
        for polygon in &area.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for l in ring.lines() {
                    edges.push(Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]));
                }
            }
        }
        Some(Region {
            area,
            edges: RTree::bulk_load(edges),
            min: [bbox.min().x, bbox.min().y],
            max: [bbox.max().x, bbox.max().y],
        })
    }

    /// The area, in local coordinates (to clip it, e.g. to a window around some assets).
    pub fn area(&self) -> &MultiPolygon<f64> {
        &self.area
    }

    /// Whether the closed box `[min, max]` lies inside the area (boundary included).
    pub fn contains_box(&self, min: [f64; 2], max: [f64; 2]) -> bool {
        if min[0] < self.min[0] - EDGE_EPS
            || min[1] < self.min[1] - EDGE_EPS
            || max[0] > self.max[0] + EDGE_EPS
            || max[1] > self.max[1] + EDGE_EPS
        {
            return false;
        }
        let inner_min = [min[0] + EDGE_EPS, min[1] + EDGE_EPS];
        let inner_max = [max[0] - EDGE_EPS, max[1] - EDGE_EPS];
        let query = AABB::from_corners(inner_min, inner_max);
        if self
            .edges
            .locate_in_envelope_intersecting(&query)
            .any(|e| segment_hits_box(e.from, e.to, inner_min, inner_max))
        {
            return false;
        }
        // No edge enters the box, so the box is entirely inside or entirely outside: test its
        // centre.
        let centre = Coord {
            x: (min[0] + max[0]) / 2.0,
            y: (min[1] + max[1]) / 2.0,
        };
        self.area.intersects(&centre)
    }
}

/// Liang–Barsky: does the segment `a`–`b` touch the closed box `[min, max]`?
pub fn segment_hits_box(a: [f64; 2], b: [f64; 2], min: [f64; 2], max: [f64; 2]) -> bool {
    let d = [b[0] - a[0], b[1] - a[1]];
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for axis in 0..2 {
        if d[axis] == 0.0 {
            if a[axis] < min[axis] || a[axis] > max[axis] {
                return false;
            }
        } else {
            let mut ta = (min[axis] - a[axis]) / d[axis];
            let mut tb = (max[axis] - a[axis]) / d[axis];
            if ta > tb {
                std::mem::swap(&mut ta, &mut tb);
            }
            t0 = t0.max(ta);
            t1 = t1.min(tb);
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{Polygon, Rect, polygon};

    fn square_with_hole() -> Region {
        let outer = Rect::new((0.0, 0.0), (100.0, 100.0)).to_polygon();
        let hole = Rect::new((40.0, 40.0), (60.0, 60.0)).to_polygon();
        Region::new(MultiPolygon::new(vec![Polygon::new(
            outer.exterior().clone(),
            vec![hole.exterior().clone()],
        )]))
        .unwrap()
    }

    #[test]
    fn boxes_inside_outside_and_around_holes() {
        let r = square_with_hole();
        assert!(
            r.contains_box([0.0, 0.0], [10.0, 10.0]),
            "touching the boundary is inside"
        );
        assert!(
            r.contains_box([60.0, 40.0], [70.0, 60.0]),
            "touching the hole is inside"
        );
        assert!(!r.contains_box([95.0, 0.0], [105.0, 10.0]));
        assert!(
            !r.contains_box([35.0, 35.0], [65.0, 65.0]),
            "covers the hole"
        );
        assert!(
            !r.contains_box([45.0, 45.0], [55.0, 55.0]),
            "inside the hole"
        );
        assert!(
            !r.contains_box([50.0, 30.0], [55.0, 45.0]),
            "pokes into the hole"
        );
    }

    #[test]
    fn triangle() {
        let r = Region::new(MultiPolygon::new(vec![polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 0.0, y: 10.0)
        ]]))
        .unwrap();
        assert!(r.contains_box([0.0, 0.0], [4.0, 4.0]));
        assert!(!r.contains_box([0.0, 0.0], [6.0, 6.0]));
    }

    #[test]
    fn segment_box() {
        assert!(segment_hits_box(
            [-1.0, 0.5],
            [2.0, 0.5],
            [0.0, 0.0],
            [1.0, 1.0]
        ));
        assert!(!segment_hits_box(
            [-1.0, 2.0],
            [2.0, 2.0],
            [0.0, 0.0],
            [1.0, 1.0]
        ));
        assert!(!segment_hits_box(
            [-1.0, 1.5],
            [1.5, -1.0],
            [0.0, 0.0],
            [0.2, 0.2]
        ));
        assert!(
            segment_hits_box([0.5, 0.5], [0.6, 0.6], [0.0, 0.0], [1.0, 1.0]),
            "inside"
        );
    }
}
