//! A layout: the placed assets and roads one alternative consists of, in the problem's UTM
//! metres. Strategies return these; the host validates and stores them.

use geo::{Area, Coord, LineString, Polygon};
use serde::{Deserialize, Serialize};

use crate::geometry::rectangle;
use crate::program::AssetType;
use crate::roads::RoadClass;
use crate::shape::Shape;

/// One placed asset. Its box is the `width_m` × `length_m` rectangle centred on `center`,
/// its width axis turned `rotation_deg` counter-clockwise from grid east (the UTM x axis;
/// see docs/rotation.md for how that relates to true north).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlacedAsset {
    /// The problem's id of the asset placed (`building-1`).
    pub asset_id: String,
    /// The program's asset name.
    pub name: String,
    pub asset_type: AssetType,
    /// `[easting, northing]` in metres, in the problem's UTM zone.
    pub center: [f64; 2],
    /// Size of the box along the asset's own x axis, metres.
    pub width_m: f64,
    /// Size of the box along the asset's own y axis, metres.
    pub length_m: f64,
    /// Degrees counter-clockwise from grid east to the asset's width axis.
    pub rotation_deg: f64,
    /// The outline within the box; the program's shape of this asset.
    #[serde(default, skip_serializing_if = "Shape::is_rectangle")]
    pub shape: Shape,
}

impl PlacedAsset {
    /// The footprint polygon in metres: the outline, placed and turned.
    pub fn footprint(&self) -> Polygon<f64> {
        self.shape
            .outline(self.center, self.width_m, self.length_m, self.rotation_deg)
    }

    /// The `width_m × length_m` box the outline sits in, placed and turned: what
    /// packers keep apart.
    pub fn bounding_box(&self) -> Polygon<f64> {
        rectangle(self.center, self.width_m, self.length_m, self.rotation_deg)
    }

    /// Footprint area in m².
    pub fn area_m2(&self) -> f64 {
        self.shape.area_m2(self.width_m, self.length_m)
    }
}

/// A road: a centreline in metres, its paved width and its class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Road {
    /// Centreline vertices, `[easting, northing]` in metres, in the problem's UTM zone.
    pub points: Vec<[f64; 2]>,
    /// Paved width, metres.
    pub width_m: f64,
    /// What the road is for (`access` when not given).
    #[serde(default)]
    pub class: RoadClass,
}

impl Road {
    /// The centreline as a geo LineString.
    pub fn centreline(&self) -> LineString<f64> {
        LineString::new(self.points.iter().map(|&[x, y]| Coord { x, y }).collect())
    }

    /// An access-class road along `points` with the given width.
    pub fn new(points: Vec<[f64; 2]>, width_m: f64) -> Road {
        Road {
            points,
            width_m,
            class: RoadClass::Access,
        }
    }

    /// Centreline length in metres.
    pub fn length_m(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
            .sum()
    }
}

/// One layout alternative: what a strategy returns and what a `.layout.json` document
/// carries under `layout` (docs/schemas/layout.schema.json).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Layout {
    pub assets: Vec<PlacedAsset>,
    #[serde(default)]
    pub roads: Vec<Road>,
}

impl Layout {
    /// Every asset's footprint, in asset order.
    pub fn footprints(&self) -> Vec<Polygon<f64>> {
        self.assets.iter().map(PlacedAsset::footprint).collect()
    }

    /// Total footprint area in m² (overlaps counted twice; a valid layout has none).
    pub fn footprint_m2(&self) -> f64 {
        self.assets
            .iter()
            .map(|a| a.footprint().unsigned_area())
            .sum()
    }
}
