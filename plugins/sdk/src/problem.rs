//! The prepared problem a strategy solves: everything in metres in one UTM zone, assets
//! expanded one per instance with stable ids. It crosses the plugin boundary as JSON
//! (geometries as GeoJSON geometry objects whose coordinates are UTM metres).

use geo::{Geometry, MultiPolygon};
use serde::{Deserialize, Serialize};

use crate::cost::UnitCosts;
use crate::geometry::{serde_geometry, serde_multipolygon};
use crate::objectives::ObjectiveWeights;
use crate::program::{AssetType, ExclusionKind, Rotations};
use crate::projection::Projection;
use crate::roads::RoadSettings;
use crate::shape::Shape;
use crate::terrain::Terrain;

/// One asset instance to place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemAsset {
    /// Stable id: `{asset_type}-{n}`, numbered per type in program order (`building-1`).
    pub asset_id: String,
    /// The program's asset name.
    pub name: String,
    pub asset_type: AssetType,
    pub width_m: f64,
    pub length_m: f64,
    pub rotations: Rotations,
    /// The outline within the `width_m × length_m` box.
    #[serde(default, skip_serializing_if = "Shape::is_rectangle")]
    pub shape: Shape,
    /// Higher is placed first (the program's `priority`).
    #[serde(default)]
    pub priority: i32,
}

/// A spacing in metres between two asset types, replacing `min_spacing_m` for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSpacing {
    pub between: [AssetType; 2],
    pub spacing_m: f64,
}

impl ProblemAsset {
    /// Footprint area in m² (of the outline, not the box).
    pub fn area_m2(&self) -> f64 {
        self.shape.area_m2(self.width_m, self.length_m)
    }
}

/// An exclusion zone in metres: the original geometry and the area it keeps free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemExclusion {
    pub kind: ExclusionKind,
    pub buffer_m: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it came from, e.g. `site.exclusions[0]` or `program.exclusions[1]`.
    pub source: String,
    /// The geometry as given, projected.
    #[serde(with = "serde_geometry")]
    pub geometry: Geometry<f64>,
    /// The geometry grown by `buffer_m`: what is removed from the buildable area.
    #[serde(with = "serde_multipolygon")]
    pub keep_out: MultiPolygon<f64>,
}

/// A prepared layout problem (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub projection: Projection,
    /// Parcel boundary in metres.
    #[serde(with = "serde_multipolygon")]
    pub boundary_m: MultiPolygon<f64>,
    /// Where footprints may go: boundary inset by the setback, minus every exclusion.
    #[serde(with = "serde_multipolygon")]
    pub buildable_m: MultiPolygon<f64>,
    pub exclusions_m: Vec<ProblemExclusion>,
    /// Entrances in metres (at least one).
    pub entrances_m: Vec<[f64; 2]>,
    pub assets: Vec<ProblemAsset>,
    pub setback_m: f64,
    pub min_spacing_m: f64,
    /// Spacings between pairs of types that replace `min_spacing_m` for them; use
    /// `spacing_between` rather than reading either directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pair_spacings: Vec<PairSpacing>,
    /// Maximum total footprint / boundary area.
    pub max_coverage: f64,
    pub boundary_area_m2: f64,
    pub buildable_area_m2: f64,
    /// Direction of the buildable area's dominant edge (from its minimum rotated rectangle),
    /// degrees counter-clockwise from grid east, in `[0, 90)`. `quarter_turns` rotations are
    /// multiples of 90° from 0 or from this angle.
    pub reference_angle_deg: f64,
    /// Road widths, classes and rules (defaults when absent).
    #[serde(default)]
    pub roads: RoadSettings,
    /// Unit costs of the cost breakdown (defaults overridden by the program's `costs`).
    #[serde(default)]
    pub costs: UnitCosts,
    /// Weights of the objectives (defaults overridden by the program's `objectives`).
    #[serde(default)]
    pub objective_weights: ObjectiveWeights,
    /// Steepest terrain footprints may stand on, percent; applied when terrain is known.
    #[serde(default = "default_max_slope_percent")]
    pub max_slope_percent: f64,
    /// Ground elevations resampled onto this problem's UTM grid; `None` when no DEM was
    /// given, in which case earthwork and slope are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terrain: Option<Terrain>,
    /// The setback line: the boundary inset by the uniform setback and, on each side that
    /// has one, by the program's per-side setback (before exclusions and steep ground are
    /// removed). Empty without any setback; exports draw it.
    #[serde(
        default = "no_area",
        skip_serializing_if = "has_no_parts",
        with = "serde_multipolygon"
    )]
    pub setback_line_m: MultiPolygon<f64>,
    /// Ground of the parcel steeper than `max_slope_percent`, which was removed from the
    /// buildable area. Empty without terrain or when nothing is that steep; exports draw
    /// it as its own layer.
    #[serde(
        default = "no_area",
        skip_serializing_if = "has_no_parts",
        with = "serde_multipolygon"
    )]
    pub steep_ground_m: MultiPolygon<f64>,
}

/// Default of `Problem::max_slope_percent` and the program's `max_slope_percent`.
pub const DEFAULT_MAX_SLOPE_PERCENT: f64 = 15.0;

fn no_area() -> MultiPolygon<f64> {
    MultiPolygon::new(vec![])
}

fn has_no_parts(area: &MultiPolygon<f64>) -> bool {
    area.0.is_empty()
}

fn default_max_slope_percent() -> f64 {
    DEFAULT_MAX_SLOPE_PERCENT
}

impl Problem {
    /// The asset with this id.
    pub fn asset(&self, asset_id: &str) -> Option<&ProblemAsset> {
        self.assets.iter().find(|a| a.asset_id == asset_id)
    }

    /// The clear distance two assets of these types must keep: the pair's own spacing
    /// when the program gives one, else the minimum spacing.
    pub fn spacing_between(&self, a: AssetType, b: AssetType) -> f64 {
        self.pair_spacings
            .iter()
            .find(|pair| pair.between == [a, b] || pair.between == [b, a])
            .map_or(self.min_spacing_m, |pair| pair.spacing_m)
    }

    /// The largest spacing any pair needs: how far to look for neighbours.
    pub fn widest_spacing_m(&self) -> f64 {
        self.pair_spacings
            .iter()
            .map(|pair| pair.spacing_m)
            .fold(self.min_spacing_m, f64::max)
    }

    /// The largest total footprint the coverage limit allows, in m².
    pub fn max_footprint_m2(&self) -> f64 {
        self.max_coverage * self.boundary_area_m2
    }

    /// Parses a problem from JSON (e.g. as received by a plugin).
    pub fn from_json_str(json: &str) -> Result<Problem, serde_json::Error> {
        serde_json::from_str(json)
    }
}
