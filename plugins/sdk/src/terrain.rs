//! Terrain in a problem: ground elevations on a regular grid in the problem's UTM metres,
//! resampled from a DEM (`geotiff::Dem`) in any supported CRS. It answers elevation queries
//! (bilinear), road grades along a segment, and the area steeper than a slope limit.
//!
//! ```
//! use entmoot_plugin_sdk::terrain::Terrain;
//! // A plane rising 1 m per 20 m eastwards (5 %).
//! let t = Terrain::from_fn([0.0, 0.0], 10.0, 11, 11, |x, _| x / 20.0);
//! assert!((t.elevation(55.0, 20.0).unwrap() - 2.75).abs() < 1e-9);
//! assert!(t.segment_within_grade([0.0, 0.0], [100.0, 0.0], 0.05 + 1e-9));
//! assert!(!t.segment_within_grade([0.0, 0.0], [100.0, 0.0], 0.04));
//! assert!(t.steep_area(0.04).0.len() > 0);
//! ```

use geo::{BoundingRect, Coord, MultiPolygon, Rect};
use serde::{Deserialize, Serialize};

use crate::geotiff::{Dem, DemCrs};
use crate::projection::{Projection, ProjectionError};

/// Largest terrain grid kept in a problem (nodes); coarser cells are used beyond it.
pub const MAX_TERRAIN_NODES: usize = 250_000;

/// Why terrain could not be prepared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TerrainError {
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("the DEM does not cover the parcel (no elevation at any point of it)")]
    NoCoverage,
    #[error("the parcel has no extent")]
    EmptyParcel,
}

/// Elevations (metres) at the nodes `(origin.x + col·cell, origin.y + row·cell)`, row-major
/// from the south-west; NaN where unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Terrain {
    pub origin: [f64; 2],
    pub cell_m: f64,
    pub cols: usize,
    pub rows: usize,
    #[serde(with = "nan_as_null")]
    pub elevations: Vec<f32>,
}

impl Terrain {
    /// A terrain from a function of `(x, y)` (tests, synthetic fixtures).
    pub fn from_fn(
        origin: [f64; 2],
        cell_m: f64,
        cols: usize,
        rows: usize,
        f: impl Fn(f64, f64) -> f64,
    ) -> Terrain {
        let mut elevations = Vec::with_capacity(cols * rows);
        for r in 0..rows {
            for c in 0..cols {
                elevations
                    .push(f(origin[0] + c as f64 * cell_m, origin[1] + r as f64 * cell_m) as f32);
            }
        }
        Terrain {
            origin,
            cell_m,
            cols,
            rows,
            elevations,
        }
    }

    /// Resamples `dem` onto a grid over `boundary_m` (problem metres, zone `projection`), at
    /// about the DEM's own resolution.
    pub fn from_dem(
        dem: &Dem,
        projection: &Projection,
        boundary_m: &MultiPolygon<f64>,
    ) -> Result<Terrain, TerrainError> {
        let bbox = boundary_m
            .bounding_rect()
            .ok_or(TerrainError::EmptyParcel)?;
        let projector = projection.projector()?;
        let centre = projector.to_wgs84(bbox.center())?;
        let native_m = match dem.crs {
            DemCrs::Geographic => {
                let m_per_deg = 111_320.0;
                (dem.pixel[0] * m_per_deg * centre.y.to_radians().cos())
                    .min(dem.pixel[1] * m_per_deg)
            }
            DemCrs::Utm { .. } => dem.pixel[0].min(dem.pixel[1]),
        };
        let (w, h) = (bbox.width(), bbox.height());
        let min_cell = ((w * h) / MAX_TERRAIN_NODES as f64).sqrt();
        let cell_m = native_m.max(min_cell).max(0.5);
        let cols = (w / cell_m).ceil() as usize + 1;
        let rows = (h / cell_m).ceil() as usize + 1;
        let origin = [bbox.min().x, bbox.min().y];
        let source = match dem.crs {
            DemCrs::Utm { zone, south } if zone != projection.zone || south != projection.south => {
                Some(Projection { zone, south }.projector()?)
            }
            _ => None,
        };
        let mut elevations = Vec::with_capacity(cols * rows);
        let mut known = 0usize;
        for r in 0..rows {
            for c in 0..cols {
                let p = Coord {
                    x: origin[0] + c as f64 * cell_m,
                    y: origin[1] + r as f64 * cell_m,
                };
                let q = match dem.crs {
                    DemCrs::Geographic => projector.to_wgs84(p)?,
                    DemCrs::Utm { .. } => match &source {
                        Some(s) => s.to_metres(projector.to_wgs84(p)?)?,
                        None => p,
                    },
                };
                let z = dem.sample(q.x, q.y).map_or(f32::NAN, |z| z as f32);
                known += usize::from(z.is_finite());
                elevations.push(z);
            }
        }
        if known == 0 {
            return Err(TerrainError::NoCoverage);
        }
        Ok(Terrain {
            origin,
            cell_m,
            cols,
            rows,
            elevations,
        })
    }

    fn node(&self, c: i64, r: i64) -> Option<f64> {
        if c < 0 || r < 0 || c as usize >= self.cols || r as usize >= self.rows {
            return None;
        }
        let z = self.elevations[r as usize * self.cols + c as usize];
        z.is_finite().then_some(f64::from(z))
    }

    /// Bilinear elevation at `(x, y)`; `None` outside or next to unknown nodes.
    pub fn elevation(&self, x: f64, y: f64) -> Option<f64> {
        let fc = (x - self.origin[0]) / self.cell_m;
        let fr = (y - self.origin[1]) / self.cell_m;
        if !fc.is_finite() || !fr.is_finite() {
            return None;
        }
        let (c0, r0) = (fc.floor(), fr.floor());
        let (tx, ty) = (fc - c0, fr - r0);
        let (c0, r0) = (c0 as i64, r0 as i64);
        let get = |c: i64, r: i64, w: f64| -> Option<f64> {
            if w == 0.0 {
                Some(0.0)
            } else {
                self.node(c, r).map(|z| z * w)
            }
        };
        Some(
            get(c0, r0, (1.0 - tx) * (1.0 - ty))?
                + get(c0 + 1, r0, tx * (1.0 - ty))?
                + get(c0, r0 + 1, (1.0 - tx) * ty)?
                + get(c0 + 1, r0 + 1, tx * ty)?,
        )
    }

    /// The steepest grade (rise / run) along the segment `a`–`b`, sampled in equal pieces no
    /// longer than a cell; pieces with unknown ends are skipped. `None` when no piece is known.
    pub fn segment_max_grade(&self, a: [f64; 2], b: [f64; 2]) -> Option<f64> {
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        if len == 0.0 {
            return None;
        }
        let pieces = (len / self.cell_m).ceil().max(1.0) as usize;
        let piece = len / pieces as f64;
        let at = |t: f64| self.elevation(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t);
        let mut worst: Option<f64> = None;
        let mut prev = at(0.0);
        for k in 1..=pieces {
            let z = at(k as f64 / pieces as f64);
            if let (Some(p), Some(q)) = (prev, z) {
                let g = (q - p).abs() / piece;
                worst = Some(worst.map_or(g, |w: f64| w.max(g)));
            }
            prev = z;
        }
        worst
    }

    /// Whether no piece of the segment is steeper than `max_grade` (rise / run).
    pub fn segment_within_grade(&self, a: [f64; 2], b: [f64; 2], max_grade: f64) -> bool {
        self.segment_max_grade(a, b)
            .is_none_or(|g| g <= max_grade + 1e-9)
    }

    /// Slope (rise / run) of cell `(c, r)` (between nodes `c..c+1`, `r..r+1`).
    pub fn cell_slope(&self, c: usize, r: usize) -> Option<f64> {
        let (c, r) = (c as i64, r as i64);
        let z00 = self.node(c, r)?;
        let z10 = self.node(c + 1, r)?;
        let z01 = self.node(c, r + 1)?;
        let z11 = self.node(c + 1, r + 1)?;
        let dx = ((z10 + z11) - (z00 + z01)) / (2.0 * self.cell_m);
        let dy = ((z01 + z11) - (z00 + z10)) / (2.0 * self.cell_m);
        Some(dx.hypot(dy))
    }

    /// Slope (rise / run) at a point: that of the cell containing it.
    pub fn slope_at(&self, x: f64, y: f64) -> Option<f64> {
        let c = ((x - self.origin[0]) / self.cell_m).floor();
        let r = ((y - self.origin[1]) / self.cell_m).floor();
        if c < 0.0 || r < 0.0 {
            return None;
        }
        self.cell_slope(c as usize, r as usize)
    }

    /// The union of the cells steeper than `max_slope` (rise / run).
    pub fn steep_area(&self, max_slope: f64) -> MultiPolygon<f64> {
        self.slope_band_area(max_slope, f64::INFINITY)
    }

    /// The union of the cells whose slope (rise / run) is above `above` and at most
    /// `at_most`: one class of a slope map. Cells with an unknown corner are in no band.
    ///
    /// ```
    /// use entmoot_plugin_sdk::terrain::Terrain;
    /// use geo::Area;
    /// // Flat west of x = 50, a 10 % climb east of it.
    /// let t = Terrain::from_fn([0.0, 0.0], 10.0, 11, 11, |x, _| (x - 50.0).max(0.0) * 0.1);
    /// let gentle = t.slope_band_area(-1.0, 0.05).unsigned_area();
    /// let climb = t.slope_band_area(0.05, 0.15).unsigned_area();
    /// assert_eq!(gentle + climb, 100.0 * 100.0);
    /// assert_eq!(climb, 50.0 * 100.0);
    /// ```
    pub fn slope_band_area(&self, above: f64, at_most: f64) -> MultiPolygon<f64> {
        let in_band = |c: usize, r: usize| {
            self.cell_slope(c, r)
                .is_some_and(|s| s > above && s <= at_most)
        };
        // Runs of cells along a row first: far fewer rectangles for the union.
        let mut rects = Vec::new();
        for r in 0..self.rows.saturating_sub(1) {
            let mut c = 0;
            while c + 1 < self.cols {
                if in_band(c, r) {
                    let start = c;
                    while c + 1 < self.cols && in_band(c, r) {
                        c += 1;
                    }
                    let x0 = self.origin[0] + start as f64 * self.cell_m;
                    let x1 = self.origin[0] + c as f64 * self.cell_m;
                    let y0 = self.origin[1] + r as f64 * self.cell_m;
                    rects.push(Rect::new((x0, y0), (x1, y0 + self.cell_m)).to_polygon());
                } else {
                    c += 1;
                }
            }
        }
        if rects.is_empty() {
            return MultiPolygon::new(vec![]);
        }
        geo::unary_union(&rects)
    }
}

/// serde adapter: NaN elevations as JSON `null`.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let o: Vec<Option<f32>> = v.iter().map(|z| z.is_finite().then_some(*z)).collect();
        o.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let o = Vec::<Option<f32>>::deserialize(d)?;
        Ok(o.into_iter().map(|z| z.unwrap_or(f32::NAN)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    #[test]
    fn steep_half_is_found_and_json_keeps_unknowns() {
        // Flat west of x = 50, 30 % east of it.
        let mut t = Terrain::from_fn([0.0, 0.0], 5.0, 21, 21, |x, _| {
            if x <= 50.0 { 0.0 } else { 0.3 * (x - 50.0) }
        });
        let steep = t.steep_area(0.15);
        let area = steep.unsigned_area();
        assert!((area - 50.0 * 100.0).abs() < 1e-6, "{area}");
        t.elevations[0] = f32::NAN;
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("[null,"));
        let back: Terrain = serde_json::from_str(&json).unwrap();
        assert!(back.elevations[0].is_nan());
        assert_eq!(back.elevation(0.0, 0.0), None);
        assert_eq!(back.elevation(10.0, 10.0), Some(0.0));
    }
}
