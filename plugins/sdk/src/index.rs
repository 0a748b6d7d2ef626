//! Collision index: an R-tree over footprint bounding boxes that answers "which placed
//! footprints may be closer than d to this one" without comparing every pair.

use geo::{BoundingRect, Polygon};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Footprints (or any polygons) indexed by their bounding boxes, each with a caller's id.
#[derive(Debug, Default, Clone)]
pub struct FootprintIndex {
    tree: RTree<Entry>,
}

impl FootprintIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bulk-loads `(polygon, id)` pairs (faster than inserting one by one).
    pub fn from_polygons<'a>(items: impl IntoIterator<Item = (&'a Polygon<f64>, usize)>) -> Self {
        let entries = items
            .into_iter()
            .filter_map(|(p, id)| envelope(p).map(|r| GeomWithData::new(r, id)))
            .collect();
        FootprintIndex {
            tree: RTree::bulk_load(entries),
        }
    }

    /// Adds a polygon with an id; empty polygons are ignored.
    pub fn insert(&mut self, polygon: &Polygon<f64>, id: usize) {
        if let Some(r) = envelope(polygon) {
            self.tree.insert(GeomWithData::new(r, id));
        }
    }

    /// Adds an axis-aligned box `[min, max]` with an id.
    pub fn insert_box(&mut self, min: [f64; 2], max: [f64; 2], id: usize) {
        self.tree
            .insert(GeomWithData::new(Rectangle::from_corners(min, max), id));
    }

    /// Ids whose bounding box comes within `distance` of the box `[min, max]`.
    pub fn near_box(&self, min: [f64; 2], max: [f64; 2], distance: f64) -> Vec<usize> {
        let query = AABB::from_corners(
            [min[0] - distance, min[1] - distance],
            [max[0] + distance, max[1] + distance],
        );
        self.tree
            .locate_in_envelope_intersecting(&query)
            .map(|e| e.data)
            .collect()
    }

    /// Ids whose bounding box comes within `distance` of `polygon`'s bounding box: a superset
    /// of the polygons actually within `distance`.
    pub fn near(&self, polygon: &Polygon<f64>, distance: f64) -> Vec<usize> {
        match polygon.bounding_rect() {
            Some(r) => self.near_box([r.min().x, r.min().y], [r.max().x, r.max().y], distance),
            None => Vec::new(),
        }
    }

    /// The bounding boxes (with ids) within `distance` of the box `[min, max]`.
    pub fn boxes_near(
        &self,
        min: [f64; 2],
        max: [f64; 2],
        distance: f64,
    ) -> impl Iterator<Item = ([f64; 2], [f64; 2], usize)> + '_ {
        let query = AABB::from_corners(
            [min[0] - distance, min[1] - distance],
            [max[0] + distance, max[1] + distance],
        );
        self.tree.locate_in_envelope_intersecting(&query).map(|e| {
            let env = rstar::RTreeObject::envelope(e.geom());
            (env.lower(), env.upper(), e.data)
        })
    }

    /// Number of indexed items.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }
}

fn envelope(p: &Polygon<f64>) -> Option<Rectangle<[f64; 2]>> {
    p.bounding_rect()
        .map(|r| Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::rectangle;

    #[test]
    fn finds_only_nearby_boxes() {
        let a = rectangle([0.0, 0.0], 2.0, 2.0, 0.0);
        let b = rectangle([5.0, 0.0], 2.0, 2.0, 0.0);
        let c = rectangle([50.0, 0.0], 2.0, 2.0, 0.0);
        let index = FootprintIndex::from_polygons([(&a, 0), (&b, 1), (&c, 2)]);
        assert_eq!(index.len(), 3);
        let mut near = index.near(&a, 3.0);
        near.sort();
        assert_eq!(near, vec![0, 1]);
        assert_eq!(index.near(&a, 2.9), vec![0]);
    }
}
