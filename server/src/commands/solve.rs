//! `entmoot solve`: one site and program in, a layout GeoJSON and a JSON summary out.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use entmoot_domain::solve::{SolveRequest, solve};
use entmoot_formats::export::{ExportFormat, ExportInput, ExportOptions};
use entmoot_formats::{
    BoundaryChoice, Crs, ExclusionPick, ExclusionSelection, ImportOptions, read_site_file_with,
};
use entmoot_plugin_sdk::Program;
use entmoot_plugin_sdk::program::ExclusionKind;
use serde_json::json;

use crate::cli::SolveArgs;
use crate::commands::export;
use crate::config::Settings;
use crate::runtime;

/// `--boundary 2` or `--boundary "Lot 7"`.
pub fn boundary_choice(text: &str) -> BoundaryChoice {
    match text.parse::<usize>() {
        Ok(index) => BoundaryChoice::Index(index),
        Err(_) => BoundaryChoice::Name(text.to_owned()),
    }
}

/// `--exclusions` and the `--exclusion` picks, checked.
fn exclusion_selection(mode: &str, picks: &[String]) -> anyhow::Result<ExclusionSelection> {
    if !picks.is_empty() {
        let mut parsed = Vec::with_capacity(picks.len());
        for pick in picks {
            let (candidate, rest) = match pick.split_once('=') {
                Some((candidate, rest)) => (candidate, Some(rest)),
                None => (pick.as_str(), None),
            };
            let (kind, buffer) = match rest.map(|rest| rest.split_once(':').unwrap_or((rest, ""))) {
                Some((kind, buffer)) => (Some(kind.trim()), buffer.trim()),
                None => (None, ""),
            };
            let kind = match kind.filter(|kind| !kind.is_empty()) {
                None => None,
                Some(kind) => Some(
                    serde_json::from_value::<ExclusionKind>(serde_json::Value::String(kind.into()))
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "--exclusion {pick}: `{kind}` is not an exclusion kind (wetland, easement, floodplain, utility, steep_slope, existing_structure, custom)"
                            )
                        })?,
                ),
            };
            let buffer_m = if buffer.is_empty() {
                0.0
            } else {
                buffer
                    .parse::<f64>()
                    .ok()
                    .filter(|b| b.is_finite() && *b >= 0.0)
                    .with_context(|| {
                        format!("--exclusion {pick}: the buffer `{buffer}` is not a non-negative number of metres")
                    })?
            };
            parsed.push(ExclusionPick {
                candidate: boundary_choice(candidate.trim()),
                kind,
                buffer_m,
            });
        }
        return Ok(ExclusionSelection::Picked(parsed));
    }
    match mode {
        "suggested" => Ok(ExclusionSelection::Suggested),
        "all" => Ok(ExclusionSelection::All),
        "none" => Ok(ExclusionSelection::None),
        other => bail!("--exclusions {other}: write suggested, all or none"),
    }
}

pub async fn run(settings: Settings, args: SolveArgs) -> anyhow::Result<()> {
    // Refuse an unknown output extension before a long solve, not after.
    let out_format = ExportFormat::from_file_name(&args.out.to_string_lossy())
        .with_context(|| format!("--out {}", args.out.display()))?;
    let site_bytes =
        std::fs::read(&args.site).with_context(|| format!("--site {}", args.site.display()))?;
    let options = ImportOptions {
        crs: match &args.crs {
            Some(text) => Some(Crs::parse_declared(text).context("--crs")?),
            None => None,
        },
        boundary: args.boundary.as_deref().map(boundary_choice),
    };
    let imported = read_site_file_with(&site_bytes, &options)
        .with_context(|| format!("--site {}", args.site.display()))?;
    let selection = exclusion_selection(&args.exclusions, &args.exclusion)?;
    let (site, candidates) = imported
        .site_with_exclusions(&selection)
        .with_context(|| format!("--site {}", args.site.display()))?;
    let program_text = std::fs::read_to_string(&args.program)
        .with_context(|| format!("--program {}", args.program.display()))?;
    let program = Program::from_json_str(&program_text)
        .with_context(|| format!("--program {}", args.program.display()))?;
    let time_limit = match args.time_limit {
        None => None,
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Some(Duration::from_secs_f64(seconds))
        }
        Some(seconds) => bail!("--time-limit {seconds}: must be a positive number of seconds"),
    };
    if args.alternatives == 0 {
        bail!("--alternatives 0: must be at least 1");
    }
    let terrain = match &args.terrain {
        None => None,
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("--terrain {}", path.display()))?;
            Some(
                entmoot_plugin_sdk::geotiff::Dem::from_geotiff(&bytes)
                    .with_context(|| format!("--terrain {}", path.display()))?,
            )
        }
    };
    let request = SolveRequest {
        site,
        program,
        strategy: args.strategy.clone(),
        parameters: json!({}),
        seed: args.seed,
        time_limit: Some(
            time_limit
                .unwrap_or(settings.optimization_timeout)
                .min(settings.optimization_timeout),
        ),
        alternatives: args.alternatives,
        pinned: Vec::new(),
        terrain,
    };
    let registry = runtime::discover_plugins(&settings)?;
    let outcome = tokio::task::spawn_blocking(move || {
        let cancel = AtomicBool::new(false);
        solve(&registry, &request, &mut |_progress| {}, &cancel)
    })
    .await
    .context("the solver thread failed")??;

    let best = outcome
        .layouts
        .first()
        .context("the strategy returned no layout")?;
    let site_name = args
        .site
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = format!("Entmoot layout of {site_name}");
    let made_on = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (format, _) = export::write_layout_file(
        &args.out,
        Some(out_format),
        &ExportInput {
            title: &title,
            problem: &outcome.problem,
            layout: &best.layout,
            metrics: &best.metrics,
            earthwork: None,
            cost: None,
            made_on: Some(&made_on),
        },
        &ExportOptions::default(),
    )?;

    let summary = json!({
        "strategy": {"name": outcome.strategy.name, "version": outcome.strategy.version},
        "site": {
            "boundary": imported.boundary_location,
            "boundary_reason": imported.boundary_reason,
            "source_crs": imported.source_crs,
            "parts": outcome.problem.boundary_m.0.len(),
            "holes": outcome.problem.boundary_m.0.iter().map(|p| p.interiors().len()).sum::<usize>(),
            "area_m2": outcome.problem.boundary_area_m2,
            "area_measured": "planar, in the UTM zone of the layout",
        },
        "exclusions": outcome.problem.exclusions_m.iter().map(|e| json!({
            "name": e.name,
            "kind": e.kind,
            "buffer_m": e.buffer_m,
            "source": e.source,
        })).collect::<Vec<_>>(),
        "site_file_candidates": candidates,
        "requested": best.metrics.requested,
        "placed": best.metrics.placed,
        "unplaced": best.metrics.unplaced_reasons,
        "violations": best.violations.len(),
        "metrics": best.metrics,
        "alternatives": outcome.layouts.iter().map(|alternative| json!({
            "placed": alternative.metrics.placed,
            "violations": alternative.violations.len(),
            "footprint_m2": alternative.metrics.footprint_m2,
        })).collect::<Vec<_>>(),
        "buildable_area_m2": outcome.problem.buildable_area_m2,
        "elapsed_ms": outcome.elapsed.as_secs_f64() * 1000.0,
        "out": args.out,
        "format": format.as_str(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
