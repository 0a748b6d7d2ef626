//! `entmoot solve`: one site and program in, a layout GeoJSON and a JSON summary out.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use entmoot_domain::solve::{SolveRequest, solve};
use entmoot_formats::export::{ExportFormat, ExportInput, ExportOptions};
use entmoot_formats::read_site_file;
use entmoot_plugin_sdk::Program;
use serde_json::json;

use crate::cli::SolveArgs;
use crate::commands::export;
use crate::config::Settings;
use crate::runtime;

pub async fn run(settings: Settings, args: SolveArgs) -> anyhow::Result<()> {
    // Refuse an unknown output extension before a long solve, not after.
    let out_format = ExportFormat::from_file_name(&args.out.to_string_lossy())
        .with_context(|| format!("--out {}", args.out.display()))?;
    let site_bytes =
        std::fs::read(&args.site).with_context(|| format!("--site {}", args.site.display()))?;
    let imported =
        read_site_file(&site_bytes).with_context(|| format!("--site {}", args.site.display()))?;
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
        site: imported.site,
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
        },
        &ExportOptions::default(),
    )?;

    let summary = json!({
        "strategy": {"name": outcome.strategy.name, "version": outcome.strategy.version},
        "site": {"boundary": imported.boundary_location, "boundary_reason": imported.boundary_reason},
        "requested": best.metrics.requested,
        "placed": best.metrics.placed,
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
