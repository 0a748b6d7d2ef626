//! The development program: what to place and under which rules — the JSON program file of
//! `entmoot solve --program`, the GraphQL `program` input and what a plugin receives are all
//! this one serde model. `docs/program.md` describes every field with examples, and
//! `docs/schemas/program.schema.json` is generated from these types (`crate::json_schema`).
//!
//! Every length in a program (`setback`, `side_setbacks`, `min_spacing`, `spacing_overrides`,
//! exclusion `buffer`, asset `width`, `length` and polygon vertices, `roads` widths and gap) is
//! in the program's `units`. Unknown fields are rejected so that typos surface as errors
//! instead of silently using defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::geometry::geojson_to_geo;

/// Metres per international foot.
pub const METRES_PER_FOOT: f64 = 0.3048;

/// Default maximum coverage (footprint / boundary area) when a program does not give one.
pub const DEFAULT_MAX_COVERAGE: f64 = 0.4;

/// Length unit of every length in a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum Units {
    /// Metres.
    #[default]
    #[serde(rename = "m")]
    Metres,
    /// International feet (0.3048 m).
    #[serde(rename = "ft")]
    Feet,
}

impl Units {
    /// Converts a length in these units to metres.
    pub fn to_metres(self, value: f64) -> f64 {
        match self {
            Units::Metres => value,
            Units::Feet => value * METRES_PER_FOOT,
        }
    }
}

/// What an exclusion zone is; informs reports and future per-kind rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionKind {
    Wetland,
    Easement,
    Floodplain,
    Utility,
    /// Also what `prepare` calls ground steeper than `max_slope_percent` found on a DEM.
    SteepSlope,
    ExistingStructure,
    Custom,
}

impl ExclusionKind {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ExclusionKind::Wetland => "wetland",
            ExclusionKind::Easement => "easement",
            ExclusionKind::Floodplain => "floodplain",
            ExclusionKind::Utility => "utility",
            ExclusionKind::SteepSlope => "steep_slope",
            ExclusionKind::ExistingStructure => "existing_structure",
            ExclusionKind::Custom => "custom",
        }
    }
}

impl fmt::Display for ExclusionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a placeable asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    Building,
    ParkingLot,
    EquipmentYard,
    StorageTank,
    Pond,
    Custom,
}

impl AssetType {
    /// The snake_case name used in JSON and in asset ids (`building-1`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Building => "building",
            AssetType::ParkingLot => "parking_lot",
            AssetType::EquipmentYard => "equipment_yard",
            AssetType::StorageTank => "storage_tank",
            AssetType::Pond => "pond",
            AssetType::Custom => "custom",
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rotations an asset may be placed with.
///
/// `quarter_turns` keeps the footprint's sides parallel either to the projected grid axes or
/// to the buildable area's dominant edge (`Problem::reference_angle_deg`): the rotation is
/// `k·90°` or `reference + k·90°`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rotations {
    /// Rotation 0 only: width along grid east, length along grid north.
    Fixed,
    /// Multiples of 90° from the grid axes or from the site's reference angle.
    #[default]
    QuarterTurns,
    /// Any angle.
    Free,
}

/// An exclusion zone given in the program (in addition to the site's own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionInput {
    pub kind: ExclusionKind,
    /// Extra clearance around the geometry, in program units (default 0). Points and lines
    /// are grown by at least 0.05 m even with 0.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub buffer: f64,
    /// GeoJSON geometry in WGS84 longitude/latitude.
    #[schemars(schema_with = "crate::json_schema::geojson_geometry")]
    pub geometry: geojson::Geometry,
}

/// An asset's outline as a program gives it: `"rectangle"` (the default), `"circle"`
/// (diameter `width`) or a list of `[x, y]` vertices in program units (any origin; the
/// width and length are then its bounding box).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum FootprintInput {
    #[default]
    Rectangle,
    Circle,
    Polygon(Vec<[f64; 2]>),
}

impl FootprintInput {
    pub fn is_rectangle(&self) -> bool {
        matches!(self, FootprintInput::Rectangle)
    }
}

impl JsonSchema for FootprintInput {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FootprintInput".into()
    }

    // Written by hand because serde is: a name or a list of vertices.
    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The asset's outline: \"rectangle\" (the default: the whole width × length box), \"circle\" (diameter `width`), or a simple polygon as a list of 3 to 200 [x, y] vertices in program units, any origin, whose bounding box gives width and length.",
            "oneOf": [
                { "type": "string", "enum": ["rectangle", "circle"] },
                {
                    "type": "array",
                    "minItems": 3,
                    "maxItems": crate::shape::MAX_POLYGON_VERTICES,
                    "items": {
                        "type": "array",
                        "items": { "type": "number" },
                        "minItems": 2,
                        "maxItems": 2
                    }
                }
            ]
        })
    }
}

impl Serialize for FootprintInput {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FootprintInput::Rectangle => serializer.serialize_str("rectangle"),
            FootprintInput::Circle => serializer.serialize_str("circle"),
            FootprintInput::Polygon(vertices) => vertices.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for FootprintInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as a plain value first, so that a wrong one gets one clear message
        // instead of serde's "did not match any variant".
        let value = serde_json::Value::deserialize(deserializer)?;
        match &value {
            serde_json::Value::String(name) if name == "rectangle" => Ok(Self::Rectangle),
            serde_json::Value::String(name) if name == "circle" => Ok(Self::Circle),
            serde_json::Value::Array(_) => serde_json::from_value::<Vec<[f64; 2]>>(value)
                .map(Self::Polygon)
                .map_err(|_| {
                    serde::de::Error::custom(
                        "footprint: a polygon footprint is a list of [x, y] number pairs",
                    )
                }),
            other => Err(serde::de::Error::custom(format!(
                "footprint: expected \"rectangle\", \"circle\" or a list of [x, y] vertices, got {other}"
            ))),
        }
    }
}

/// One line of the program: `quantity` identical assets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// Shown in outputs and reports; must not be blank.
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    /// Footprint size along the asset's own x axis, in program units (the diameter of a
    /// circle; omitted for a polygon, whose bounding box gives it).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub width: f64,
    /// Footprint size along the asset's own y axis, in program units (omitted for a
    /// circle or a polygon).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub length: f64,
    /// The outline within the `width × length` box.
    #[serde(default, skip_serializing_if = "FootprintInput::is_rectangle")]
    pub footprint: FootprintInput,
    /// How many identical assets to place (default 1).
    #[serde(default = "default_quantity")]
    #[schemars(range(min = 1, max = MAX_QUANTITY_PER_ASSET))]
    pub quantity: u32,
    #[serde(default)]
    pub rotations: Rotations,
    /// Higher is placed first: when not everything fits, the lower priorities are the
    /// ones left out. Default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

/// A side of the parcel, by the compass direction its boundary edges face (outward), in
/// the projected grid.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    North,
    East,
    South,
    West,
}

/// A spacing between two asset types that replaces `min_spacing` for such pairs (larger
/// or smaller), in program units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpacingOverride {
    /// The two types (the same type twice for pairs of one type).
    pub between: [AssetType; 2],
    /// Clear distance between two such assets, in program units.
    #[schemars(range(min = 0))]
    pub spacing: f64,
}

fn default_quantity() -> u32 {
    1
}

fn default_max_coverage() -> f64 {
    DEFAULT_MAX_COVERAGE
}

/// A development program (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    #[serde(default)]
    pub units: Units,
    /// Distance kept from the boundary, in program units.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub setback: f64,
    /// Minimum clear distance between any two placed assets, in program units.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub min_spacing: f64,
    /// Maximum total footprint as a fraction of the boundary area, in (0, 1].
    #[serde(default = "default_max_coverage")]
    #[schemars(range(max = 1), extend("exclusiveMinimum" = 0))]
    pub max_coverage: f64,
    /// Site entrance as `[lon, lat]` (WGS84).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::json_schema::entrance")]
    pub entrance: Option<[f64; 2]>,
    /// Exclusion zones in addition to the site's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<ExclusionInput>,
    /// What to place, in program order (at least one line; at most 100 000 assets in all).
    #[schemars(length(min = 1))]
    pub assets: Vec<AssetSpec>,
    /// Unit costs overriding the defaults (`cost::UnitCosts`); always metric (per m, m², m³).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costs: Option<crate::cost::CostOverrides>,
    /// Objective weights overriding the defaults (cost 40, buildable area 30, accessibility 15,
    /// environmental impact 10, aesthetics 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<crate::objectives::WeightOverrides>,
    /// Road widths and rules overriding the defaults; lengths in the program's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roads: Option<RoadOptions>,
    /// Steepest terrain a footprint may stand on, percent (default 15); used with a DEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_slope_percent: Option<f64>,
    /// Setbacks for the boundary edges facing one side, replacing `setback` there (for
    /// example a larger one along a road frontage), in program units.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::json_schema::side_setbacks")]
    pub side_setbacks: std::collections::BTreeMap<Side, f64>,
    /// Spacings between pairs of asset types that replace `min_spacing` for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spacing_overrides: Vec<SpacingOverride>,
}

/// Road options of a program (lengths in the program's units; absent fields keep defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoadOptions {
    /// Paved width of a main road (default 24 ft = 7.3152 m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub main_width: Option<f64>,
    /// Paved width of a secondary road (default 20 ft = 6.096 m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub secondary_width: Option<f64>,
    /// Paved width of an access lane (default 12 ft = 3.6576 m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub access_width: Option<f64>,
    /// Largest gap between a road's paved edge and a footprint it serves (default 3 m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub access_gap: Option<f64>,
    /// Steepest road grade, percent (default 10); used with a DEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_grade_percent: Option<f64>,
}

/// One problem found in a program, located by its field path (`assets[2].width`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a program was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProgramError {
    /// Not JSON, or not the program's shape (wrong type, unknown or missing field).
    #[error("program is not valid JSON for a program: {message} (line {line}, column {column})")]
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    /// Well-formed but with values out of range; every problem found is listed.
    #[error("invalid program: {}", join_errors(.0))]
    Invalid(Vec<FieldError>),
}

impl ProgramError {
    /// The individual field errors (empty for a JSON syntax error).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ProgramError::Json { .. } => &[],
            ProgramError::Invalid(errors) => errors,
        }
    }
}

pub(crate) fn join_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects field errors with their paths.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<FieldError>);

impl Problems {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `value` must be finite and `>= 0`.
    pub(crate) fn non_negative(&mut self, path: impl Into<String>, value: f64) {
        if !value.is_finite() {
            self.push(path, format!("must be a finite number, got {value}"));
        } else if value < 0.0 {
            self.push(path, format!("must be >= 0, got {value}"));
        }
    }

    /// A length or distance: finite, `>= 0`, and at most MAX_DISTANCE (a value of
    /// 1e308 would otherwise reach the geometry and the optimiser).
    pub(crate) fn distance(&mut self, path: impl Into<String>, value: f64) {
        let path = path.into();
        if value.is_finite() && value > MAX_DISTANCE {
            self.push(path, format!("must be at most {MAX_DISTANCE}, got {value}"));
        } else {
            self.non_negative(path, value);
        }
    }

    /// A size: finite, `> 0`, and at most MAX_DISTANCE.
    pub(crate) fn size(&mut self, path: impl Into<String>, value: f64) {
        let path = path.into();
        if value.is_finite() && value > MAX_DISTANCE {
            self.push(path, format!("must be at most {MAX_DISTANCE}, got {value}"));
        } else {
            self.positive(path, value);
        }
    }

    /// A name shown back to people: at most MAX_NAME_CHARS characters, none of them a
    /// control character.
    pub(crate) fn name(&mut self, path: impl Into<String>, value: &str) {
        if value.chars().count() > MAX_NAME_CHARS {
            self.push(path, format!("must be at most {MAX_NAME_CHARS} characters"));
        } else if value.chars().any(char::is_control) {
            self.push(path, "must not contain control characters");
        }
    }

    /// `value` must be finite and `> 0`.
    pub(crate) fn positive(&mut self, path: impl Into<String>, value: f64) {
        if !value.is_finite() {
            self.push(path, format!("must be a finite number, got {value}"));
        } else if value <= 0.0 {
            self.push(path, format!("must be > 0, got {value}"));
        }
    }
}

/// Largest length, distance or size anywhere in a program or site, in its unit (feet
/// or metres): 100 km, far beyond any parcel.
pub const MAX_DISTANCE: f64 = 100_000.0;

/// Longest name (assets, exclusions) in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Largest quantity a single program line may ask for; guards against `quantity: 4000000000`
/// allocating an asset list the size of memory.
pub const MAX_QUANTITY_PER_ASSET: u32 = 100_000;

/// Largest total number of assets in a program.
pub const MAX_TOTAL_ASSETS: u64 = 100_000;

impl Program {
    /// Parses a program from JSON and validates it.
    pub fn from_json_str(json: &str) -> Result<Program, ProgramError> {
        let program: Program = serde_json::from_str(json).map_err(|e| ProgramError::Json {
            message: strip_position(&e.to_string()),
            line: e.line(),
            column: e.column(),
        })?;
        program.validate()?;
        Ok(program)
    }

    /// Checks every value is in range; the error lists all problems found, each with its path.
    pub fn validate(&self) -> Result<(), ProgramError> {
        let mut p = Problems::default();
        p.distance("setback", self.setback);
        p.distance("min_spacing", self.min_spacing);
        if !self.max_coverage.is_finite() || self.max_coverage <= 0.0 || self.max_coverage > 1.0 {
            p.push(
                "max_coverage",
                format!(
                    "must be a fraction in (0, 1], got {} (write 0.4 for 40 %)",
                    self.max_coverage
                ),
            );
        }
        if let Some([lon, lat]) = self.entrance {
            check_lon_lat(&mut p, "entrance", lon, lat);
        }
        for (i, exclusion) in self.exclusions.iter().enumerate() {
            let path = format!("exclusions[{i}]");
            p.distance(format!("{path}.buffer"), exclusion.buffer);
            match geojson_to_geo(&exclusion.geometry) {
                Ok(geometry) => {
                    for (j, c) in geo::CoordsIter::coords_iter(&geometry).enumerate() {
                        if !check_lon_lat(
                            &mut p,
                            &format!("{path}.geometry (coordinate {j})"),
                            c.x,
                            c.y,
                        ) {
                            break;
                        }
                    }
                }
                Err(message) => p.push(format!("{path}.geometry"), message),
            }
        }
        if self.assets.is_empty() {
            p.push("assets", "must list at least one asset");
        }
        if let Some(costs) = &self.costs {
            for (name, v) in costs.values() {
                if let Some(v) = v {
                    p.non_negative(format!("costs.{name}"), v);
                }
            }
        }
        if let Some(w) = &self.objectives {
            for (name, v) in w.values() {
                if let Some(v) = v {
                    p.non_negative(format!("objectives.{name}"), v);
                }
            }
        }
        if let Some(r) = &self.roads {
            for (name, v) in [
                ("main_width", r.main_width),
                ("secondary_width", r.secondary_width),
                ("access_width", r.access_width),
            ] {
                if let Some(v) = v {
                    p.positive(format!("roads.{name}"), v);
                }
            }
            for (name, v) in [
                ("access_gap", r.access_gap),
                ("max_grade_percent", r.max_grade_percent),
            ] {
                if let Some(v) = v {
                    p.non_negative(format!("roads.{name}"), v);
                }
            }
        }
        if let Some(v) = self.max_slope_percent {
            p.positive("max_slope_percent", v);
        }
        for (side, setback) in &self.side_setbacks {
            p.distance(format!("side_setbacks.{}", side_name(*side)), *setback);
        }
        let mut seen_pairs = std::collections::HashSet::new();
        for (i, o) in self.spacing_overrides.iter().enumerate() {
            p.distance(format!("spacing_overrides[{i}].spacing"), o.spacing);
            let mut pair = o.between;
            pair.sort_by_key(|t| t.as_str());
            if !seen_pairs.insert(pair) {
                p.push(
                    format!("spacing_overrides[{i}].between"),
                    format!("{} and {} are given a spacing twice", pair[0], pair[1]),
                );
            }
        }
        let mut total: u64 = 0;
        for (i, asset) in self.assets.iter().enumerate() {
            let path = format!("assets[{i}]");
            if asset.name.trim().is_empty() {
                p.push(format!("{path}.name"), "must not be empty");
            }
            p.name(format!("{path}.name"), &asset.name);
            match &asset.footprint {
                FootprintInput::Rectangle => {
                    p.size(format!("{path}.width"), asset.width);
                    p.size(format!("{path}.length"), asset.length);
                }
                FootprintInput::Circle => {
                    p.size(format!("{path}.width"), asset.width);
                    if asset.length != 0.0 && asset.length != asset.width {
                        p.push(
                            format!("{path}.length"),
                            format!(
                                "a circle's width is its diameter; omit length or give the same, got {} and {}",
                                asset.width, asset.length
                            ),
                        );
                    }
                }
                FootprintInput::Polygon(vertices) => {
                    if asset.width != 0.0 || asset.length != 0.0 {
                        p.push(
                            format!("{path}.width"),
                            "omit width and length for a polygon footprint: its bounding box gives them",
                        );
                    }
                    if let Err(message) = crate::shape::centred_polygon(vertices) {
                        p.push(format!("{path}.footprint"), message);
                    }
                }
            }
            if asset.asset_type == AssetType::ParkingLot && !asset.footprint.is_rectangle() {
                p.push(
                    format!("{path}.footprint"),
                    "a parking lot is rectangular: its stalls are laid out in rectangular modules",
                );
            }
            if asset.quantity == 0 {
                p.push(format!("{path}.quantity"), "must be >= 1, got 0");
            } else if asset.quantity > MAX_QUANTITY_PER_ASSET {
                p.push(
                    format!("{path}.quantity"),
                    format!(
                        "must be <= {MAX_QUANTITY_PER_ASSET}, got {}",
                        asset.quantity
                    ),
                );
            }
            total += u64::from(asset.quantity);
        }
        if total > MAX_TOTAL_ASSETS {
            p.push(
                "assets",
                format!("asks for {total} assets in total; at most {MAX_TOTAL_ASSETS} are allowed"),
            );
        }
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(ProgramError::Invalid(p.0))
        }
    }

    /// An asset line's outline and box in metres: `(shape, width_m, length_m)`. The
    /// program must have passed `validate`.
    pub fn asset_shape(&self, spec: &AssetSpec) -> (crate::shape::Shape, f64, f64) {
        use crate::shape::Shape;
        match &spec.footprint {
            FootprintInput::Rectangle => (
                Shape::Rectangle,
                self.to_metres(spec.width),
                self.to_metres(spec.length),
            ),
            FootprintInput::Circle => {
                let diameter = self.to_metres(spec.width);
                (Shape::Circle, diameter, diameter)
            }
            FootprintInput::Polygon(vertices) => {
                let in_metres: Vec<[f64; 2]> = vertices
                    .iter()
                    .map(|&[x, y]| [self.to_metres(x), self.to_metres(y)])
                    .collect();
                // Invariant: `validate` accepted the polygon, so centring cannot fail;
                // should it, the empty box makes the asset unplaceable, never invalid.
                crate::shape::centred_polygon(&in_metres).unwrap_or((Shape::Rectangle, 0.0, 0.0))
            }
        }
    }

    /// Converts a length given in this program's units to metres.
    pub fn to_metres(&self, value: f64) -> f64 {
        self.units.to_metres(value)
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::North => "north",
        Side::East => "east",
        Side::South => "south",
        Side::West => "west",
    }
}

/// Checks a WGS84 coordinate; returns false (after recording the problem) when it is bad.
pub(crate) fn check_lon_lat(p: &mut Problems, path: &str, lon: f64, lat: f64) -> bool {
    if !lon.is_finite() || !lat.is_finite() {
        p.push(
            path,
            format!("coordinates must be finite, got [{lon}, {lat}]"),
        );
        false
    } else if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        p.push(
            path,
            format!(
                "must be WGS84 [longitude, latitude] with longitude in [-180, 180] and latitude in [-90, 90], got [{lon}, {lat}]"
            ),
        );
        false
    } else {
        true
    }
}

/// serde_json appends " at line L column C" to messages; we report those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"{
        "units": "ft", "setback": 20, "min_spacing": 10,
        "assets": [{"name": "Barn", "type": "building", "width": 60, "length": 80, "quantity": 3}]
    }"#;

    #[test]
    fn parses_with_defaults() {
        let p = Program::from_json_str(DEMO).unwrap();
        assert_eq!(p.units, Units::Feet);
        assert_eq!(p.max_coverage, 0.4);
        assert_eq!(p.assets[0].rotations, Rotations::QuarterTurns);
        assert_eq!(p.assets[0].quantity, 3);
        assert!((p.to_metres(p.setback) - 6.096).abs() < 1e-12);
        let minimal = Program::from_json_str(
            r#"{"assets":[{"name":"a","type":"pond","width":1,"length":2}]}"#,
        )
        .unwrap();
        assert_eq!(minimal.units, Units::Metres);
        assert_eq!(minimal.assets[0].quantity, 1);
        assert_eq!(minimal.setback, 0.0);
    }

    #[test]
    fn footprints_are_rectangles_circles_or_simple_polygons() {
        let program = Program::from_json_str(
            r#"{"units": "ft", "assets": [
                {"name": "Tank", "type": "storage_tank", "width": 40, "footprint": "circle"},
                {"name": "L", "type": "building", "footprint": [[0, 0], [30, 0], [30, 10], [10, 10], [10, 20], [0, 20]]}
            ]}"#,
        )
        .unwrap();
        let (shape, width, length) = program.asset_shape(&program.assets[0]);
        assert_eq!(shape, crate::shape::Shape::Circle);
        assert!((width - 12.192).abs() < 1e-9 && (length - 12.192).abs() < 1e-9);
        let (shape, width, length) = program.asset_shape(&program.assets[1]);
        assert_eq!(shape.kind(), "polygon");
        assert!((width - 9.144).abs() < 1e-9 && (length - 6.096).abs() < 1e-9);
        let again = Program::from_json_str(&serde_json::to_string(&program).unwrap()).unwrap();
        assert_eq!(program, again);

        let refused = |assets: &str| {
            Program::from_json_str(&format!(r#"{{"assets": [{assets}]}}"#))
                .unwrap_err()
                .to_string()
        };
        let text =
            refused(r#"{"name": "P", "type": "parking_lot", "width": 40, "footprint": "circle"}"#);
        assert!(
            text.contains("assets[0].footprint") && text.contains("rectangular"),
            "{text}"
        );
        let text = refused(
            r#"{"name": "T", "type": "storage_tank", "width": 40, "length": 30, "footprint": "circle"}"#,
        );
        assert!(text.contains("assets[0].length"), "{text}");
        let text = refused(
            r#"{"name": "B", "type": "building", "footprint": [[0, 0], [10, 10], [10, 0], [0, 10]]}"#,
        );
        assert!(
            text.contains("assets[0].footprint") && text.contains("simple"),
            "{text}"
        );
        let text = refused(
            r#"{"name": "B", "type": "building", "width": 5, "footprint": [[0, 0], [10, 0], [0, 10]]}"#,
        );
        assert!(text.contains("omit width and length"), "{text}");
        let text = refused(
            r#"{"name": "B", "type": "building", "width": 5, "length": 5, "footprint": "hexagon"}"#,
        );
        assert!(
            text.contains("expected \"rectangle\", \"circle\""),
            "{text}"
        );
    }

    #[test]
    fn round_trips_through_json() {
        let p = Program::from_json_str(DEMO).unwrap();
        let again = Program::from_json_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn unknown_field_is_rejected_with_position() {
        let err = Program::from_json_str(
            r#"{"assets":[{"name":"a","type":"building","widht":1,"width":1,"length":2}]}"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown field `widht`"), "{text}");
        assert!(matches!(err, ProgramError::Json { line: 1, .. }));
    }

    #[test]
    fn unknown_enum_values_are_rejected() {
        assert!(Program::from_json_str(r#"{"units":"yd","assets":[]}"#).is_err());
        let err = Program::from_json_str(
            r#"{"assets":[{"name":"a","type":"castle","width":1,"length":2}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("castle"), "{err}");
    }

    #[test]
    fn bad_values_name_their_path() {
        let err = Program::from_json_str(
            r#"{"setback": -1, "max_coverage": 40, "assets":[
                {"name":"a","type":"building","width":10,"length":2},
                {"name":"b","type":"building","width":10,"length":2},
                {"name":"c","type":"building","width":-3,"length":2,"quantity":0}]}"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("assets[2].width: must be > 0, got -3"),
            "{text}"
        );
        assert!(
            text.contains("assets[2].quantity: must be >= 1, got 0"),
            "{text}"
        );
        assert!(text.contains("setback: must be >= 0, got -1"), "{text}");
        assert!(
            text.contains("max_coverage: must be a fraction in (0, 1], got 40"),
            "{text}"
        );
        assert_eq!(err.field_errors().len(), 4);
    }

    #[test]
    fn empty_program_and_bad_entrance_are_rejected() {
        let err = Program::from_json_str(r#"{"assets":[], "entrance":[200, 10]}"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("assets: must list at least one asset"),
            "{text}"
        );
        assert!(text.contains("entrance: must be WGS84"), "{text}");
    }

    #[test]
    fn exclusion_geometry_is_checked() {
        let ok = r#"{"exclusions":[{"kind":"wetland","buffer":5,"geometry":
            {"type":"Polygon","coordinates":[[[0,0],[0.001,0],[0.001,0.001],[0,0]]]}}],
            "assets":[{"name":"a","type":"building","width":1,"length":2}]}"#;
        let p = Program::from_json_str(ok).unwrap();
        assert_eq!(p.exclusions[0].kind, ExclusionKind::Wetland);
        let bad = ok
            .replace("[0.001,0]", "[500,0]")
            .replace("\"buffer\":5", "\"buffer\":-5");
        let text = Program::from_json_str(&bad).unwrap_err().to_string();
        assert!(
            text.contains("exclusions[0].buffer: must be >= 0, got -5"),
            "{text}"
        );
        assert!(
            text.contains("exclusions[0].geometry (coordinate 1)"),
            "{text}"
        );
        let bad_kind = ok.replace("wetland", "swamp");
        assert!(Program::from_json_str(&bad_kind).is_err());
    }

    #[test]
    fn huge_quantity_is_rejected() {
        let err = Program::from_json_str(
            r#"{"assets":[{"name":"a","type":"building","width":1,"length":2,"quantity":4000000000}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("assets[0].quantity: must be <= 100000"),
            "{err}"
        );
    }
}
