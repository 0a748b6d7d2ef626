//! Earthwork from terrain: each footprint is graded to a flat pad at the balanced elevation
//! (the mean ground elevation under it, so cut equals fill), and the cut and fill volumes are
//! integrated on a sample grid no coarser than the terrain's cells. Without terrain — or where
//! a footprint has no elevation data — earthwork is unknown (`None`), never estimated.
//!
//! ```
//! use entmoot_plugin_sdk::earthwork::pad_earthwork;
//! use entmoot_plugin_sdk::terrain::Terrain;
//! // 10 % slope across a 20 × 10 m pad: the pad sits 1 m below the high side.
//! let t = Terrain::from_fn([0.0, 0.0], 1.0, 101, 101, |x, _| 0.1 * x);
//! let e = pad_earthwork(&t, [50.0, 50.0], 20.0, 10.0, 0.0).unwrap();
//! assert!((e.pad_elevation_m - 5.0).abs() < 1e-6);
//! // Cut = fill = 2 × (½ · 10 m · 1 m · 10 m) = 50 m³.
//! assert!((e.cut_m3 - 50.0).abs() < 1.0, "{}", e.cut_m3);
//! assert!((e.cut_m3 - e.fill_m3).abs() < 1e-6);
//! ```

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::terrain::Terrain;

/// Cubic yards per cubic metre.
pub const YD3_PER_M3: f64 = 1.307_950_619_314_392;

/// Earthwork of one pad.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PadEarthwork {
    #[serde(default)]
    pub asset_id: String,
    pub pad_elevation_m: f64,
    pub cut_m3: f64,
    pub fill_m3: f64,
    /// Area-weighted mean terrain slope under the pad, percent.
    pub mean_slope_percent: f64,
}

/// Earthwork of a layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EarthworkSummary {
    pub cut_m3: f64,
    pub fill_m3: f64,
    /// Cut minus fill (0 for balanced pads).
    pub net_m3: f64,
    pub cut_yd3: f64,
    pub fill_yd3: f64,
    /// Footprint-area-weighted mean slope under the pads, percent.
    pub mean_slope_percent: f64,
    pub pads: Vec<PadEarthwork>,
}

/// Cut and fill of a `width` × `length` pad centred on `center`, rotated `rotation_deg`;
/// `None` when the terrain lacks data under it.
pub fn pad_earthwork(
    terrain: &Terrain,
    center: [f64; 2],
    width: f64,
    length: f64,
    rotation_deg: f64,
) -> Option<PadEarthwork> {
    let step = (terrain.cell_m / 2.0).max(0.25);
    let nw = (width / step).ceil().max(1.0) as usize;
    let nl = (length / step).ceil().max(1.0) as usize;
    let da = (width / nw as f64) * (length / nl as f64);
    let (s, c) = rotation_deg.to_radians().sin_cos();
    let mut samples = Vec::with_capacity(nw * nl);
    let mut slope_sum = 0.0;
    for i in 0..nw {
        for j in 0..nl {
            let dx = -width / 2.0 + (i as f64 + 0.5) * width / nw as f64;
            let dy = -length / 2.0 + (j as f64 + 0.5) * length / nl as f64;
            let x = center[0] + dx * c - dy * s;
            let y = center[1] + dx * s + dy * c;
            samples.push(terrain.elevation(x, y)?);
            slope_sum += terrain.slope_at(x, y).unwrap_or(0.0);
        }
    }
    let pad = samples.iter().sum::<f64>() / samples.len() as f64;
    let cut = samples.iter().map(|z| (z - pad).max(0.0)).sum::<f64>() * da;
    let fill = samples.iter().map(|z| (pad - z).max(0.0)).sum::<f64>() * da;
    Some(PadEarthwork {
        asset_id: String::new(),
        pad_elevation_m: pad,
        cut_m3: cut,
        fill_m3: fill,
        mean_slope_percent: 100.0 * slope_sum / samples.len() as f64,
    })
}

/// Earthwork of every footprint of `layout`; `None` when any footprint lacks terrain data.
pub fn layout_earthwork(terrain: &Terrain, layout: &Layout) -> Option<EarthworkSummary> {
    let mut out = EarthworkSummary::default();
    let mut area = 0.0;
    let mut slope_area = 0.0;
    for a in &layout.assets {
        let mut pad = pad_earthwork(terrain, a.center, a.width_m, a.length_m, a.rotation_deg)?;
        pad.asset_id = a.asset_id.clone();
        out.cut_m3 += pad.cut_m3;
        out.fill_m3 += pad.fill_m3;
        area += a.area_m2();
        slope_area += pad.mean_slope_percent * a.area_m2();
        out.pads.push(pad);
    }
    out.net_m3 = out.cut_m3 - out.fill_m3;
    out.cut_yd3 = out.cut_m3 * YD3_PER_M3;
    out.fill_yd3 = out.fill_m3 * YD3_PER_M3;
    out.mean_slope_percent = if area > 0.0 { slope_area / area } else { 0.0 };
    Some(out)
}
