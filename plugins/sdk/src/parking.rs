//! Parking stall counts from real 90° parking modules: stalls 9 ft wide and 18 ft deep on
//! 24 ft two-way aisles. A double-loaded module (stall, aisle, stall) is 60 ft deep; a
//! single-loaded one (stall, aisle) is 42 ft. Modules are laid across the lot one way or the
//! other, whichever holds more stalls.
//!
//! ```
//! use entmoot_plugin_sdk::parking::stall_layout;
//! // A 120 × 60 ft lot: one double-loaded module of 2 rows × 13 stalls.
//! let s = stall_layout(120.0 * 0.3048, 60.0 * 0.3048);
//! assert_eq!(s.stalls, 26);
//! ```

use serde::{Deserialize, Serialize};

use crate::program::METRES_PER_FOOT;

/// Stall width, metres (9 ft).
pub const STALL_WIDTH_M: f64 = 9.0 * METRES_PER_FOOT;
/// Stall depth, metres (18 ft).
pub const STALL_DEPTH_M: f64 = 18.0 * METRES_PER_FOOT;
/// Two-way aisle width, metres (24 ft).
pub const AISLE_WIDTH_M: f64 = 24.0 * METRES_PER_FOOT;

/// How a lot is striped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StallLayout {
    pub stalls: u32,
    /// Rows of stalls.
    pub rows: u32,
    pub stalls_per_row: u32,
    /// Aisles run along the lot's width (`true`) or its length (`false`).
    pub aisles_along_width: bool,
}

/// The best 90° striping of a `width_m` × `length_m` lot.
pub fn stall_layout(width_m: f64, length_m: f64) -> StallLayout {
    let along_width = striping(width_m, length_m);
    let along_length = striping(length_m, width_m);
    if along_length.0 * along_length.1 > along_width.0 * along_width.1 {
        StallLayout {
            stalls: along_length.0 * along_length.1,
            rows: along_length.0,
            stalls_per_row: along_length.1,
            aisles_along_width: false,
        }
    } else {
        StallLayout {
            stalls: along_width.0 * along_width.1,
            rows: along_width.0,
            stalls_per_row: along_width.1,
            aisles_along_width: true,
        }
    }
}

/// `(rows, stalls per row)` with aisles parallel to a side of length `run`, modules stacked
/// across `depth`.
fn striping(run: f64, depth: f64) -> (u32, u32) {
    let eps = 1e-9;
    let per_row = ((run + eps) / STALL_WIDTH_M).floor().max(0.0) as u32;
    let double = 2.0 * STALL_DEPTH_M + AISLE_WIDTH_M;
    let single = STALL_DEPTH_M + AISLE_WIDTH_M;
    let modules = ((depth + eps) / double).floor().max(0.0);
    let rest = depth - modules * double;
    let rows = 2 * modules as u32 + u32::from(rest + eps >= single);
    (rows, per_row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules() {
        let ft = METRES_PER_FOOT;
        // 60 ft deep: one double-loaded module.
        assert_eq!(striping(90.0 * ft, 60.0 * ft), (2, 10));
        // 102 ft: a double plus a single module.
        assert_eq!(striping(90.0 * ft, 102.0 * ft), (3, 10));
        // 41 ft: too shallow even for a single-loaded module.
        assert_eq!(striping(90.0 * ft, 41.0 * ft), (0, 10));
        // 40 × 50 m lot: 5 rows of 14 one way, 4 rows of 18 the other; the better wins.
        let s = stall_layout(40.0, 50.0);
        assert_eq!((s.stalls, s.rows, s.stalls_per_row), (72, 4, 18));
        assert!(!s.aisles_along_width);
        assert_eq!(stall_layout(5.0, 5.0).stalls, 0);
    }
}
