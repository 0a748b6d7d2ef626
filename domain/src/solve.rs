//! Solving one site and program with a strategy plugin: prepare the problem, run the
//! strategy through the host, validate every layout again, measure it and turn it
//! into GeoJSON. Shared by `entmoot solve` and the job worker.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use entmoot_plugin_host::{HostError, PluginRegistry, StrategyInfo, run_strategy};
use entmoot_plugin_sdk::geojson::FeatureCollection;
use entmoot_plugin_sdk::geotiff::Dem;
use entmoot_plugin_sdk::metrics::{Metrics, layout_metrics};
use entmoot_plugin_sdk::pinned::{MergeError, merge_with_pinned, problem_around_pinned};
use entmoot_plugin_sdk::prepare::{PrepareError, prepare_problem_with_terrain};
use entmoot_plugin_sdk::{
    Layout, PlacedAsset, Problem, Program, Progress, RunRequest, Site, Violation, validate_layout,
};

/// What to solve and how.
#[derive(Debug, Clone)]
pub struct SolveRequest {
    pub site: Site,
    pub program: Program,
    /// A strategy name; `None` is the best built-in strategy.
    pub strategy: Option<String>,
    pub parameters: serde_json::Value,
    pub seed: u64,
    pub time_limit: Option<Duration>,
    pub alternatives: u32,
    /// Assets (in metres) to leave where they are: the strategy places the rest of the
    /// program around them (`entmoot_plugin_sdk::pinned`). Empty for a fresh layout.
    pub pinned: Vec<PlacedAsset>,
    /// The site's DEM: steep ground is excluded, road grades checked, earthwork measured.
    pub terrain: Option<Dem>,
}

/// One returned alternative with everything measured about it.
#[derive(Debug, Clone)]
pub struct SolvedLayout {
    pub layout: Layout,
    pub metrics: Metrics,
    /// Always empty: the host refuses a run with an invalid layout. Kept so callers
    /// report the count they were promised.
    pub violations: Vec<Violation>,
    pub geojson: FeatureCollection,
}

#[derive(Debug, Clone)]
pub struct SolveOutcome {
    pub strategy: StrategyInfo,
    pub problem: Problem,
    /// Best first.
    pub layouts: Vec<SolvedLayout>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error("no strategy named `{requested}`; available: {}", available.join(", "))]
    UnknownStrategy {
        requested: String,
        available: Vec<String>,
    },
    #[error("no strategy plugin was found (looked beside the binary and in ENTMOOT_PLUGIN_DIR)")]
    NoStrategies,
    #[error("strategy {strategy}: {source}")]
    Strategy {
        strategy: String,
        #[source]
        source: HostError,
    },
    #[error("strategy {strategy} returned no layout")]
    NoLayout { strategy: String },
    #[error("converting the layout to GeoJSON failed: {0}")]
    Output(String),
    #[error("pinned asset {asset_id}: {reason}")]
    PinnedAsset { asset_id: String, reason: String },
    #[error("no layout of strategy {strategy} fits around the pinned assets: {source}")]
    Pinned {
        strategy: String,
        #[source]
        source: MergeError,
    },
}

/// Every pinned asset must be one of the program's, with its size: a seed layout from
/// another program cannot sneak other buildings in.
fn check_pinned(problem: &Problem, pinned: &[PlacedAsset]) -> Result<(), SolveError> {
    for asset in pinned {
        let refuse = |reason: String| SolveError::PinnedAsset {
            asset_id: asset.asset_id.clone(),
            reason,
        };
        let Some(spec) = problem.asset(&asset.asset_id) else {
            return Err(refuse("the program has no such asset".to_owned()));
        };
        let same_size = (spec.width_m - asset.width_m).abs() < 1e-6
            && (spec.length_m - asset.length_m).abs() < 1e-6;
        if !same_size || spec.asset_type != asset.asset_type {
            return Err(refuse(format!(
                "is a {} of {:.2} × {:.2} m in the layout but a {} of {:.2} × {:.2} m in the program",
                asset.asset_type,
                asset.width_m,
                asset.length_m,
                spec.asset_type,
                spec.width_m,
                spec.length_m
            )));
        }
    }
    Ok(())
}

/// Merges each of the strategy's layouts with the pinned assets, keeping those that
/// merge into a valid layout (best first, as the strategy ranked them).
fn merge_all_with_pinned(
    problem: &Problem,
    pinned: &[PlacedAsset],
    strategy: &str,
    layouts: Vec<Layout>,
) -> Result<Vec<Layout>, SolveError> {
    let mut merged = Vec::with_capacity(layouts.len());
    let mut first_error = None;
    for layout in &layouts {
        match merge_with_pinned(problem, pinned, layout) {
            Ok(layout) => merged.push(layout),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match (merged.is_empty(), first_error) {
        (true, Some(source)) => Err(SolveError::Pinned {
            strategy: strategy.to_owned(),
            source,
        }),
        _ => Ok(merged),
    }
}

/// Picks the strategy a request names, or the default.
pub fn choose_strategy(
    registry: &PluginRegistry,
    requested: Option<&str>,
) -> Result<StrategyInfo, SolveError> {
    match registry.find(requested) {
        Some(strategy) => Ok(strategy),
        None => match requested {
            Some(name) => Err(SolveError::UnknownStrategy {
                requested: name.to_owned(),
                available: registry.strategies().into_iter().map(|s| s.name).collect(),
            }),
            None => Err(SolveError::NoStrategies),
        },
    }
}

/// Solves synchronously; call it from a blocking thread.
pub fn solve(
    registry: &PluginRegistry,
    request: &SolveRequest,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<SolveOutcome, SolveError> {
    let strategy = choose_strategy(registry, request.strategy.as_deref())?;
    solve_with(strategy, request, on_progress, cancel)
}

/// Solves with a strategy chosen beforehand; call it from a blocking thread. The
/// `StrategyInfo` keeps its library loaded, so a job holding one runs the version it
/// chose even if the registry reloads a newer file meanwhile; `request.strategy` is
/// ignored.
pub fn solve_with(
    strategy: StrategyInfo,
    request: &SolveRequest,
    on_progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<SolveOutcome, SolveError> {
    let started = Instant::now();
    let problem =
        prepare_problem_with_terrain(&request.site, &request.program, request.terrain.as_ref())?;
    check_pinned(&problem, &request.pinned)?;
    let strategy_problem = if request.pinned.is_empty() {
        None
    } else {
        Some(problem_around_pinned(&problem, &request.pinned))
    };
    let run_request = RunRequest {
        parameters: request.parameters.clone(),
        seed: request.seed,
        time_limit_ms: request.time_limit.map(|limit| limit.as_millis() as u64),
        alternatives: request.alternatives.max(1),
    };
    let layouts = run_strategy(
        &strategy,
        strategy_problem.as_ref().unwrap_or(&problem),
        &run_request,
        on_progress,
        cancel,
    )
    .map_err(|source| SolveError::Strategy {
        strategy: strategy.name.clone(),
        source,
    })?;
    let layouts = if request.pinned.is_empty() {
        layouts
    } else {
        merge_all_with_pinned(&problem, &request.pinned, &strategy.name, layouts)?
    };
    if layouts.is_empty() {
        return Err(SolveError::NoLayout {
            strategy: strategy.name.clone(),
        });
    }
    let mut solved = Vec::with_capacity(layouts.len());
    for layout in layouts {
        let violations = validate_layout(&problem, &layout);
        let metrics = layout_metrics(&problem, &layout);
        let geojson = entmoot_plugin_sdk::geojson_out::layout_to_geojson(&problem, &layout)
            .map_err(|error| SolveError::Output(error.to_string()))?;
        solved.push(SolvedLayout {
            layout,
            metrics,
            violations,
            geojson,
        });
    }
    Ok(SolveOutcome {
        strategy,
        problem,
        layouts: solved,
        elapsed: started.elapsed(),
    })
}
