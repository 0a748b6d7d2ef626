//! `entmoot export`: a layout to GeoJSON, KML, KMZ, DXF, zipped Shapefile, SVG, PDF or a
//! layout document, the format picked from the output file's extension. The layout comes
//! from a layout document (`--layout X.layout.json`, as `entmoot solve --out` writes
//! it) or is solved first from `--site` and `--program`.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use entmoot_domain::solve::{SolveRequest, solve};
use entmoot_formats::export::{
    DrawingUnits, ExportFormat, ExportInput, ExportOptions, LayoutDocument, export_layout,
};
use entmoot_formats::{Crs, ExclusionSelection, ImportOptions, read_site_file_with};
use entmoot_plugin_sdk::metrics::{Metrics, layout_metrics};
use entmoot_plugin_sdk::{Layout, Problem, Program};
use serde_json::json;

use crate::cli::ExportArgs;
use crate::config::Settings;
use crate::runtime;

/// Renders a layout in the format `out`'s extension names (or `format`) and writes it.
pub fn write_layout_file(
    out: &Path,
    format: Option<ExportFormat>,
    input: &ExportInput<'_>,
    options: &ExportOptions,
) -> anyhow::Result<(ExportFormat, usize)> {
    let format = match format {
        Some(format) => format,
        None => ExportFormat::from_file_name(&out.to_string_lossy())
            .with_context(|| format!("--out {}", out.display()))?,
    };
    let bytes = export_layout(format, input, options)
        .with_context(|| format!("--out {}", out.display()))?;
    std::fs::write(out, &bytes).with_context(|| format!("--out {}", out.display()))?;
    Ok((format, bytes.len()))
}

pub async fn run(settings: Settings, args: ExportArgs) -> anyhow::Result<()> {
    let format = match &args.format {
        Some(name) => Some(ExportFormat::from_name(name).with_context(|| {
            format!(
                "--format {name}: unknown; use one of {}",
                ExportFormat::ALL.map(|f| f.as_str()).join(", ")
            )
        })?),
        None => None,
    };
    let options = ExportOptions {
        dxf_units: match args.units.as_str() {
            "m" => DrawingUnits::Metres,
            "ft" => DrawingUnits::Feet,
            other => bail!("--units {other}: use m or ft"),
        },
    };
    let document = match (&args.layout, &args.site, &args.program) {
        (Some(path), None, None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--layout {}", path.display()))?;
            serde_json::from_str::<LayoutDocument>(&text).with_context(|| {
                format!(
                    "--layout {}: not a layout document (as `entmoot solve --out FILE.layout.json` writes)",
                    path.display()
                )
            })?
        }
        (None, Some(site), Some(program)) => {
            solve_document(&settings, &args, site, program).await?
        }
        _ => bail!("give either --layout FILE, or --site FILE and --program FILE"),
    };
    let metrics: Metrics = document
        .metrics
        .clone()
        .unwrap_or_else(|| layout_metrics(&document.problem, &document.layout));
    let title = args
        .title
        .clone()
        .or_else(|| document.title.clone())
        .unwrap_or_else(|| "Entmoot layout".to_owned());
    let made_on = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let input = ExportInput {
        title: &title,
        problem: &document.problem,
        layout: &document.layout,
        metrics: &metrics,
        earthwork: document.earthwork.as_ref(),
        cost: document.cost.as_ref(),
        made_on: Some(&made_on),
    };
    let (format, bytes) = write_layout_file(&args.out, format, &input, &options)?;
    let summary = json!({
        "format": format.as_str(),
        "content_type": format.content_type(),
        "bytes": bytes,
        "out": args.out,
        "placed": metrics.placed,
        "requested": metrics.requested,
        "metrics": metrics,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

async fn solve_document(
    settings: &Settings,
    args: &ExportArgs,
    site: &Path,
    program: &Path,
) -> anyhow::Result<LayoutDocument> {
    let site_bytes = std::fs::read(site).with_context(|| format!("--site {}", site.display()))?;
    let options = ImportOptions {
        crs: match &args.crs {
            Some(text) => Some(Crs::parse_declared(text).context("--crs")?),
            None => None,
        },
        boundary: None,
    };
    let imported = read_site_file_with(&site_bytes, &options)
        .with_context(|| format!("--site {}", site.display()))?;
    let (site_with_exclusions, _) = imported
        .site_with_exclusions(&ExclusionSelection::Suggested)
        .with_context(|| format!("--site {}", site.display()))?;
    let program_text = std::fs::read_to_string(program)
        .with_context(|| format!("--program {}", program.display()))?;
    let program = Program::from_json_str(&program_text)
        .with_context(|| format!("--program {}", program.display()))?;
    let request = SolveRequest {
        site: site_with_exclusions,
        program,
        strategy: args.strategy.clone(),
        parameters: json!({}),
        seed: args.seed,
        time_limit: Some(settings.optimization_timeout.min(Duration::from_secs(600))),
        alternatives: 1,
        pinned: Vec::new(),
        terrain: None,
    };
    let registry = runtime::discover_plugins(settings)?;
    let outcome = tokio::task::spawn_blocking(move || {
        let cancel = AtomicBool::new(false);
        solve(&registry, &request, &mut |_progress| {}, &cancel)
    })
    .await
    .context("the solver thread failed")??;
    let problem: Problem = outcome.problem;
    let best = outcome
        .layouts
        .into_iter()
        .next()
        .context("the strategy returned no layout")?;
    let layout: Layout = best.layout;
    Ok(LayoutDocument {
        title: None,
        problem,
        layout,
        metrics: Some(best.metrics),
        earthwork: None,
        cost: None,
    })
}
