//! `entmoot plugins list`.

use crate::cli::PluginsAction;
use crate::config::Settings;
use crate::runtime;

pub fn run(settings: Settings, action: PluginsAction) -> anyhow::Result<()> {
    match action {
        PluginsAction::List { json } => {
            let registry = runtime::discover_plugins(&settings);
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
    }
}
