//! Solving one site and program with a strategy plugin: prepare the problem, run the
//! strategy through the host, validate every layout again, measure it and turn it
//! into GeoJSON. Shared by `entmoot solve` and the job worker.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use entmoot_plugin_host::{HostError, PluginRegistry, StrategyInfo, run_strategy};
use entmoot_plugin_sdk::geojson::FeatureCollection;
use entmoot_plugin_sdk::metrics::{Metrics, layout_metrics};
use entmoot_plugin_sdk::prepare::{PrepareError, prepare_problem};
use entmoot_plugin_sdk::{
    Layout, Problem, Program, Progress, RunRequest, Site, Violation, validate_layout,
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
    let problem = prepare_problem(&request.site, &request.program)?;
    let run_request = RunRequest {
        parameters: request.parameters.clone(),
        seed: request.seed,
        time_limit_ms: request.time_limit.map(|limit| limit.as_millis() as u64),
        alternatives: request.alternatives.max(1),
    };
    let layouts =
        run_strategy(&strategy, &problem, &run_request, on_progress, cancel).map_err(|source| {
            SolveError::Strategy {
                strategy: strategy.name.clone(),
                source,
            }
        })?;
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
