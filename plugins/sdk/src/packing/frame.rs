//! A packing frame: the world (UTM metres) rotated by `angle_deg` and optionally mirrored, so
//! that the packer always works with axis-aligned boxes and fills from the bottom-left corner.

use crate::geo::{Coord, MapCoords, MultiPolygon};

/// World ⇄ local transform: `local = mirror(R(-angle) · (world - origin))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Rotation of the frame's x axis from grid east, degrees counter-clockwise.
    pub angle_deg: f64,
    /// -1 mirrors the local x axis (pack from the right).
    pub sx: f64,
    /// -1 mirrors the local y axis (pack from the top).
    pub sy: f64,
    /// World point mapped to the local origin (keeps local numbers small and precise).
    pub origin: [f64; 2],
    sin: f64,
    cos: f64,
}

impl Frame {
    /// A frame rotated by `angle_deg`, mirrored by `sx`/`sy` (±1), centred on `origin`.
    pub fn new(angle_deg: f64, sx: f64, sy: f64, origin: [f64; 2]) -> Frame {
        let (sin, cos) = angle_deg.to_radians().sin_cos();
        Frame {
            angle_deg,
            sx,
            sy,
            origin,
            sin,
            cos,
        }
    }

    /// World → local.
    pub fn to_local(&self, c: Coord<f64>) -> Coord<f64> {
        let (dx, dy) = (c.x - self.origin[0], c.y - self.origin[1]);
        Coord {
            x: self.sx * (dx * self.cos + dy * self.sin),
            y: self.sy * (-dx * self.sin + dy * self.cos),
        }
    }

    /// Local → world.
    pub fn to_world(&self, c: Coord<f64>) -> Coord<f64> {
        let (x, y) = (self.sx * c.x, self.sy * c.y);
        Coord {
            x: self.origin[0] + x * self.cos - y * self.sin,
            y: self.origin[1] + x * self.sin + y * self.cos,
        }
    }

    /// The local axis-aligned bounding box `[min, max]` of a world polygon.
    pub fn local_box(&self, polygon: &crate::geo::Polygon<f64>) -> ([f64; 2], [f64; 2]) {
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for c in polygon.exterior().coords() {
            let l = self.to_local(*c);
            min = [min[0].min(l.x), min[1].min(l.y)];
            max = [max[0].max(l.x), max[1].max(l.y)];
        }
        (min, max)
    }

    /// A world area in local coordinates.
    pub fn area_to_local(&self, area: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        area.map_coords(|c| self.to_local(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (sx, sy) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
            let f = Frame::new(31.0, sx, sy, [500_000.0, 4_000_000.0]);
            let w = Coord {
                x: 500_123.25,
                y: 4_000_321.5,
            };
            let back = f.to_world(f.to_local(w));
            assert!((back.x - w.x).abs() < 1e-9 && (back.y - w.y).abs() < 1e-9);
        }
        // A point along the frame's x axis maps to the local x axis.
        let f = Frame::new(90.0, 1.0, 1.0, [0.0, 0.0]);
        let l = f.to_local(Coord { x: 0.0, y: 2.0 });
        assert!((l.x - 2.0).abs() < 1e-12 && l.y.abs() < 1e-12);
    }
}
