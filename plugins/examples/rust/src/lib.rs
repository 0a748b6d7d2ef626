//! `example-rows`: an example Entmoot strategy plugin, built only against `entmoot-plugin-sdk`
//! as a third party would. It fills the buildable area row by row, bottom to top: in each row
//! it slides along from the left and puts down the tallest remaining asset that fits, keeping
//! the minimum spacing and the coverage limit, all unrotated, and leaves a road corridor
//! between rows. Roads are then laid out by construction — a ring road in the setback strip,
//! a connector from each entrance, and a street along every corridor — and checked with the
//! sdk's validator; where that simple plan does not work (a narrow setback, a hole or an
//! exclusion in the way) the sdk's road planner connects every asset instead, dropping any it
//! cannot reach. It reports progress by row, stops promptly when cancelled, keeps time for
//! the roads when there is a time limit (the sdk planner cannot be interrupted), and checks
//! its own result with the validator (the host will do the same).
//!
//! Everything a plugin needs is in the sdk: `Strategy` to implement, `export_strategy!` to
//! emit the C ABI, `package_manifest!` for the manifest (version and licence from
//! Cargo.toml, the parameter schema generated from the parameter type), the problem/layout
//! types, the geometry crates, the road planner and the validator. The parameter type
//! derives serde's `Deserialize` and schemars' `JsonSchema`, its two other dependencies.

use entmoot_plugin_sdk::geo::{
    Buffer, Closest, ClosestPoint, Contains, Intersects, LineString, MultiPolygon, Point, Rect,
};
use entmoot_plugin_sdk::index::FootprintIndex;
use entmoot_plugin_sdk::parameters::{JsonSchema, ParameterError, parse_parameters};
use entmoot_plugin_sdk::serde_json::Value;
use entmoot_plugin_sdk::strategy::{Capabilities, Manifest};
use entmoot_plugin_sdk::{
    Layout, PlacedAsset, Problem, ProblemAsset, Road, RunContext, RunRequest, Strategy,
    StrategyError, roads, validate_layout,
};

/// Registry name of the strategy.
pub const NAME: &str = "example-rows";

/// Clearance kept from the buildable edge and added to the spacing, so floating-point noise
/// never makes a layout fail the host's validator (whose tolerance is 1 mm).
const SAFETY_M: f64 = 0.01;

/// How many candidate positions are tried between two cancellation / time checks.
const CHECK_EVERY: u32 = 256;

/// The strategy. Stateless: the sdk makes a fresh value per call.
#[derive(Debug, Default)]
pub struct RowsStrategy;

entmoot_plugin_sdk::export_strategy!(RowsStrategy);

/// The parameters. The manifest publishes the JSON Schema generated from this type (the
/// doc comments are its descriptions), so the schema and the parser cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Parameters {
    /// How far a candidate position slides along a row when an asset does not fit, in
    /// metres. Smaller packs tighter and takes longer.
    #[schemars(range(max = 50.0), extend("exclusiveMinimum" = 0))]
    pub step_m: f64,
    /// Extra gap between rows, in metres, on top of the corridor left for an access road
    /// (or the minimum spacing, if wider).
    #[schemars(range(min = 0.0))]
    pub row_gap_m: f64,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            step_m: 0.5,
            row_gap_m: 0.0,
        }
    }
}

impl Parameters {
    /// Reads and checks the parameters; the message names the field.
    pub fn from_value(value: &Value) -> Result<Parameters, ParameterError> {
        let p: Parameters = parse_parameters(value)?;
        if !(p.step_m > 0.0 && p.step_m <= 50.0) {
            return Err(ParameterError::Value {
                field: "step_m",
                message: format!("must be in (0, 50], got {}", p.step_m),
            });
        }
        if !(p.row_gap_m >= 0.0 && p.row_gap_m.is_finite()) {
            return Err(ParameterError::Value {
                field: "row_gap_m",
                message: format!("must be >= 0, got {}", p.row_gap_m),
            });
        }
        Ok(p)
    }
}

impl Strategy for RowsStrategy {
    fn manifest(&self) -> Manifest {
        entmoot_plugin_sdk::package_manifest! {
            name: NAME,
            description: "Example plugin in Rust: fills the buildable area row by row, tallest \
                          assets first, unrotated.",
            capabilities: Capabilities {
                rotations: false,
                alternatives: false,
                terrain_aware: false,
                deterministic: true,
            },
            parameters: Parameters,
        }
    }

    fn run(
        &self,
        problem: &Problem,
        request: &RunRequest,
        ctx: &mut RunContext<'_>,
    ) -> Result<Vec<Layout>, StrategyError> {
        let params = Parameters::from_value(&request.parameters)?;
        let (mut layout, streets) = Rows::new(problem, params, request.time_limit_ms).fill(ctx)?;
        ctx.check_cancelled()?;
        let planned = comb_roads(problem, &streets);
        let fits = !planned.is_empty() && {
            let mut candidate = layout.clone();
            candidate.roads = planned.clone();
            validate_layout(problem, &candidate).is_empty()
        };
        let message = if fits {
            layout.roads = planned;
            format!(
                "roads laid along the rows: {} asset(s) served",
                layout.assets.len()
            )
        } else {
            // The sdk's planner routes around anything; it cannot be interrupted, so the fill
            // kept time for it. Unreachable assets are dropped.
            let dropped = roads::connect_layout(problem, &mut layout, Some(0.0));
            format!(
                "roads planned: {} asset(s) served, {} unreachable and left out",
                layout.assets.len(),
                dropped.len()
            )
        };
        ctx.report(1.0, Some(layout.assets.len() as f64), message);
        let violations = validate_layout(problem, &layout);
        if let Some(v) = violations.first() {
            // A bug in this strategy, not in the input: say so rather than return it.
            return Err(StrategyError::Failed(format!(
                "internal error, the layout breaks a rule: {v}"
            )));
        }
        Ok(vec![layout])
    }
}

/// The state of one run.
struct Rows<'a> {
    problem: &'a Problem,
    params: Parameters,
    /// Bounding box of the buildable area.
    min: [f64; 2],
    max: [f64; 2],
    /// Asset indices not placed yet, tallest first.
    remaining: Vec<usize>,
    placed: Vec<PlacedAsset>,
    index: FootprintIndex,
    footprint_m2: f64,
    checks: u32,
    time_limit: Option<std::time::Duration>,
}

impl<'a> Rows<'a> {
    fn new(problem: &'a Problem, params: Parameters, time_limit_ms: Option<u64>) -> Rows<'a> {
        let mut remaining: Vec<usize> = (0..problem.assets.len()).collect();
        let a = &problem.assets;
        remaining.sort_by(|&i, &j| {
            a[j].length_m
                .total_cmp(&a[i].length_m)
                .then(a[j].width_m.total_cmp(&a[i].width_m))
                .then(i.cmp(&j))
        });
        let (min, max) = bounds(&problem.buildable_m).unwrap_or(([0.0, 0.0], [0.0, 0.0]));
        Rows {
            problem,
            params,
            min,
            max,
            remaining,
            placed: Vec::new(),
            index: FootprintIndex::new(),
            footprint_m2: 0.0,
            checks: 0,
            time_limit: time_limit_ms.map(std::time::Duration::from_millis),
        }
    }

    /// Fills the rows; `Err(Cancelled)` when asked to stop, the partial layout when the time
    /// for placing is up (half the limit: the rest is kept for the roads). Also returns the
    /// height (y) of a street along every row: in the corridor above it.
    fn fill(mut self, ctx: &mut RunContext<'_>) -> Result<(Layout, Vec<f64>), StrategyError> {
        let total = self.problem.assets.len();
        let height = (self.max[1] - self.min[1]).max(f64::MIN_POSITIVE);
        let mut y = self.min[1];
        let mut out_of_time = false;
        let mut streets = Vec::new();
        ctx.report(0.0, Some(0.0), "starting the first row");
        while y < self.max[1] && !self.remaining.is_empty() && !out_of_time {
            ctx.check_cancelled()?;
            if self.placing_time_is_up(ctx) {
                break;
            }
            let (row_height, stopped) = self.fill_row(y, ctx)?;
            out_of_time = stopped;
            y += if row_height > 0.0 {
                streets.push(y + row_height + self.row_gap() / 2.0);
                row_height + self.row_gap()
            } else {
                self.params.step_m
            };
            // The last tenth is for the roads.
            ctx.report(
                0.9 * ((y - self.min[1]) / height).min(1.0),
                Some(self.placed.len() as f64),
                format!("placed {} of {total} assets", self.placed.len()),
            );
        }
        // Program order reads better than placement order.
        let order = |a: &PlacedAsset| {
            self.problem
                .assets
                .iter()
                .position(|p| p.asset_id == a.asset_id)
        };
        self.placed.sort_by_key(order);
        let layout = Layout {
            assets: self.placed,
            ..Layout::default()
        };
        Ok((layout, streets))
    }

    /// Places what fits in the row whose bottom is at `y`; returns the row's height (0 when
    /// nothing fitted) and whether the time ran out.
    fn fill_row(&mut self, y: f64, ctx: &RunContext<'_>) -> Result<(f64, bool), StrategyError> {
        let mut x = self.min[0];
        let mut row_height: f64 = 0.0;
        // The size that failed last from position `failed_from`: an asset of the same size
        // cannot fit further along either, since the row only fills up.
        let mut failed: Option<(f64, f64)> = None;
        let problem = self.problem;
        let mut k = 0;
        while k < self.remaining.len() {
            let asset = &problem.assets[self.remaining[k]];
            let size = (asset.width_m, asset.length_m);
            if failed == Some(size) {
                k += 1;
                continue;
            }
            match self.slide(asset, x, y, ctx)? {
                Slide::Placed(at) => {
                    self.put(asset, at, y);
                    self.remaining.remove(k);
                    x = at + asset.width_m + self.problem.min_spacing_m + SAFETY_M;
                    row_height = row_height.max(asset.length_m);
                    failed = None;
                }
                Slide::NoRoom => {
                    failed = Some(size);
                    k += 1;
                }
                Slide::OutOfTime => return Ok((row_height, true)),
            }
        }
        Ok((row_height, false))
    }

    /// Slides `asset` along the row from `x` until it fits.
    fn slide(
        &mut self,
        asset: &ProblemAsset,
        mut x: f64,
        y: f64,
        ctx: &RunContext<'_>,
    ) -> Result<Slide, StrategyError> {
        let (w, l) = (asset.width_m, asset.length_m);
        if y + l > self.max[1] || self.footprint_m2 + w * l > self.problem.max_footprint_m2() {
            return Ok(Slide::NoRoom);
        }
        while x + w <= self.max[0] {
            self.checks += 1;
            if self.checks.is_multiple_of(CHECK_EVERY) {
                ctx.check_cancelled()?;
                if self.placing_time_is_up(ctx) {
                    return Ok(Slide::OutOfTime);
                }
            }
            // The nearest placed footprint too close to this spot: jump past it.
            let gap = self.problem.min_spacing_m + SAFETY_M;
            let blocker = self
                .index
                .boxes_near([x, y], [x + w, y + l], gap)
                .map(|(_, upper, _)| upper[0])
                .max_by(f64::total_cmp);
            if let Some(right) = blocker {
                // Just past its reach (the index counts touching as near), always forward.
                let past = right + gap + 1e-3;
                x = if past > x {
                    past
                } else {
                    x + self.params.step_m
                };
                continue;
            }
            if box_inside(&self.problem.buildable_m, [x, y], [x + w, y + l], SAFETY_M) {
                return Ok(Slide::Placed(x));
            }
            x += self.params.step_m;
        }
        Ok(Slide::NoRoom)
    }

    /// Whether placing must stop: half the time limit is kept for the roads and the checks.
    fn placing_time_is_up(&self, ctx: &RunContext<'_>) -> bool {
        self.time_limit
            .is_some_and(|limit| ctx.elapsed() >= limit / 2)
    }

    /// The gap between two rows: a road corridor (or the spacing, if wider) plus `row_gap_m`.
    fn row_gap(&self) -> f64 {
        self.problem
            .roads
            .corridor_width_m()
            .max(self.problem.min_spacing_m)
            + SAFETY_M
            + self.params.row_gap_m
    }

    fn put(&mut self, asset: &ProblemAsset, x: f64, y: f64) {
        let (w, l) = (asset.width_m, asset.length_m);
        self.index
            .insert_box([x, y], [x + w, y + l], self.placed.len());
        self.footprint_m2 += w * l;
        self.placed.push(PlacedAsset {
            asset_id: asset.asset_id.clone(),
            name: asset.name.clone(),
            asset_type: asset.asset_type,
            center: [x + w / 2.0, y + l / 2.0],
            width_m: w,
            length_m: l,
            rotation_deg: 0.0,
            shape: Default::default(),
        });
    }
}

/// Roads by construction for a rows layout: a ring road halfway across the setback strip, a
/// straight connector from each entrance to it, and a street at each height in `streets`
/// wherever that line runs inside the ring. Empty when the setback is too narrow for a road.
/// The caller validates the result: this plan ignores holes and exclusions.
fn comb_roads(problem: &Problem, streets: &[f64]) -> Vec<Road> {
    let settings = &problem.roads;
    let width = settings.access_width_m;
    let inset = problem.setback_m / 2.0;
    if streets.is_empty() || inset < width / 2.0 + settings.clearance_m + SAFETY_M {
        return Vec::new();
    }
    let rings: Vec<LineString<f64>> = problem
        .boundary_m
        .buffer(-inset)
        .0
        .into_iter()
        .map(|p| p.exterior().clone())
        .filter(|r| r.0.len() >= 4)
        .collect();
    let mut out: Vec<Road> = rings
        .iter()
        .map(|r| Road::new(r.0.iter().map(|c| [c.x, c.y]).collect(), width))
        .collect();
    for e in &problem.entrances_m {
        let entrance = Point::new(e[0], e[1]);
        let nearest = rings
            .iter()
            .filter_map(|r| match r.closest_point(&entrance) {
                Closest::Intersection(p) | Closest::SinglePoint(p) => Some(p),
                Closest::Indeterminate => None,
            })
            .min_by(|a, b| {
                let d = |p: &Point<f64>| (p.x() - e[0]).hypot(p.y() - e[1]);
                d(a).total_cmp(&d(b))
            });
        if let Some(p) = nearest {
            out.push(Road::new(vec![*e, [p.x(), p.y()]], width));
        }
    }
    for &y in streets {
        // Where the horizontal line at `y` crosses the rings, sorted: inside between pairs.
        let mut xs: Vec<f64> = rings
            .iter()
            .flat_map(|r| r.lines())
            .filter_map(|l| {
                let (a, b) = (l.start, l.end);
                ((a.y <= y) != (b.y <= y)).then(|| a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y))
            })
            .collect();
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            if pair[1] - pair[0] > 1e-6 {
                out.push(Road::new(vec![[pair[0], y], [pair[1], y]], width));
            }
        }
    }
    out
}

enum Slide {
    Placed(f64),
    NoRoom,
    OutOfTime,
}

/// The bounding box of an area.
fn bounds(area: &MultiPolygon<f64>) -> Option<([f64; 2], [f64; 2])> {
    use entmoot_plugin_sdk::geo::BoundingRect;
    area.bounding_rect()
        .map(|r| ([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Whether the box, grown by `margin`, lies inside `area`: no ring of the area touches the
/// grown box, and its centre is inside the area.
fn box_inside(area: &MultiPolygon<f64>, min: [f64; 2], max: [f64; 2], margin: f64) -> bool {
    let grown = Rect::new(
        (min[0] - margin, min[1] - margin),
        (max[0] + margin, max[1] + margin),
    );
    let touches_an_edge = area.0.iter().any(|polygon| {
        std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .any(|ring| ring.intersects(&grown))
    });
    let centre = Point::new((min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0);
    !touches_an_edge && area.contains(&centre)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
    use entmoot_plugin_sdk::prepare::prepare_problem;
    use entmoot_plugin_sdk::serde_json::json;

    fn run(problem: &Problem, request: &RunRequest) -> Result<Vec<Layout>, StrategyError> {
        let mut ctx = RunContext::detached().with_time_limit(request.time_limit_ms);
        RowsStrategy.run(problem, request, &mut ctx)
    }

    #[test]
    fn places_the_rural_demo_in_rows() {
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(12)).unwrap();
        let layouts = run(&problem, &RunRequest::default()).unwrap();
        assert_eq!(layouts.len(), 1);
        assert_eq!(layouts[0].assets.len(), 12);
        assert_eq!(validate_layout(&problem, &layouts[0]), vec![]);
        // Rows: few distinct heights for 12 identical buildings.
        let mut ys: Vec<i64> = layouts[0]
            .assets
            .iter()
            .map(|a| a.center[1].round() as i64)
            .collect();
        ys.dedup();
        assert!(ys.len() < 12, "{ys:?}");
    }

    #[test]
    fn parameters_are_checked() {
        assert_eq!(
            Parameters::from_value(&Value::Null).unwrap(),
            Parameters::default()
        );
        let p = Parameters::from_value(&json!({"step_m": 2.0, "row_gap_m": 6})).unwrap();
        assert_eq!(p.step_m, 2.0);
        assert_eq!(p.row_gap_m, 6.0);
        let unknown = Parameters::from_value(&json!({"step": 1})).unwrap_err();
        assert!(
            unknown
                .to_string()
                .starts_with("parameters: unknown field `step`, expected `step_m` or `row_gap_m`"),
            "{unknown}"
        );
        assert_eq!(
            Parameters::from_value(&json!({"step_m": 0}))
                .unwrap_err()
                .to_string(),
            "parameters.step_m: must be in (0, 50], got 0"
        );
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(1)).unwrap();
        let request = RunRequest {
            parameters: json!({"step_m": "fine"}),
            ..RunRequest::default()
        };
        assert!(matches!(
            run(&problem, &request),
            Err(StrategyError::InvalidParameters(_))
        ));
    }

    #[test]
    fn stops_on_cancel_and_at_the_time_limit() {
        let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(400)).unwrap();
        let mut ctx = RunContext::new(|_| {}, || true);
        assert_eq!(
            RowsStrategy.run(&problem, &RunRequest::default(), &mut ctx),
            Err(StrategyError::Cancelled)
        );
        let unlimited = run(&problem, &RunRequest::default()).unwrap();
        let request = RunRequest {
            time_limit_ms: Some(0),
            ..RunRequest::default()
        };
        let limited = run(&problem, &request).unwrap();
        assert!(limited[0].assets.len() < unlimited[0].assets.len());
        assert_eq!(validate_layout(&problem, &limited[0]), vec![]);
    }
}
