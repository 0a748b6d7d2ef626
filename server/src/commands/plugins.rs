//! `entmoot plugins list` and `entmoot plugins check PATH`.

use std::path::Path;

use anyhow::bail;
use entmoot_plugin_host::check_plugin;

use crate::cli::PluginsAction;
use crate::config::Settings;
use crate::runtime;

pub fn run(settings: Settings, action: PluginsAction) -> anyhow::Result<()> {
    match action {
        PluginsAction::List { json } => {
            let registry = runtime::discover_plugins(&settings)?;
            let strategies = registry.strategies();
            if json {
                let listing = serde_json::json!({
                    "strategies": strategies.iter().map(|s| serde_json::json!({
                        "name": s.name,
                        "version": s.version,
                        "path": s.path,
                        "manifest": s.manifest,
                    })).collect::<Vec<_>>(),
                    "refused": registry.refused().iter().map(|r| serde_json::json!({
                        "path": r.path,
                        "reason": r.reason,
                    })).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                println!("{:<24} {:<10} PATH", "NAME", "VERSION");
                for strategy in &strategies {
                    println!(
                        "{:<24} {:<10} {}",
                        strategy.name,
                        strategy.version,
                        strategy.path.display()
                    );
                }
                for refused in registry.refused() {
                    println!("refused: {}: {}", refused.path.display(), refused.reason);
                }
            }
            Ok(())
        }
        PluginsAction::Check { path, json } => check(&settings, &path, json),
    }
}

/// Prints the conformance report of the plugin at `path`; fails when a check failed.
fn check(settings: &Settings, path: &Path, json: bool) -> anyhow::Result<()> {
    // The sandbox and limits the server runs jobs with; the report says which protections
    // are active on this machine.
    let report = check_plugin(path, &runtime::plugin_host_settings(settings)?);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if !report.passed() {
        let failed = report.steps.iter().filter(|s| s.failed()).count();
        bail!(
            "{} does not conform: {failed} of {} checks failed",
            path.display(),
            report.steps.len()
        );
    }
    Ok(())
}
