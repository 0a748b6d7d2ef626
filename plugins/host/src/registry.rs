//! Plugin discovery: scan directories for `*.so` / `*.dylib`, load each through the handshake,
//! keep the good ones and record (and log) why the others were refused.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use entmoot_plugin_sdk::Manifest;

use crate::library::{LoadError, LoadedPlugin};

/// Built-in strategies, best first: `PluginRegistry::find(None)` returns the first present.
pub const BUILTIN_STRATEGIES: &[&str] = &["greedy"];

/// A strategy that passed the handshake.
#[derive(Clone)]
pub struct StrategyInfo {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Whether `name` is one of `BUILTIN_STRATEGIES`.
    pub builtin: bool,
    pub(crate) plugin: Arc<LoadedPlugin>,
}

impl std::fmt::Debug for StrategyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyInfo")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("path", &self.path)
            .field("builtin", &self.builtin)
            .finish_non_exhaustive()
    }
}

impl StrategyInfo {
    fn from_plugin(plugin: LoadedPlugin) -> StrategyInfo {
        let manifest = plugin.manifest().clone();
        StrategyInfo {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            path: plugin.path().to_path_buf(),
            builtin: BUILTIN_STRATEGIES.contains(&manifest.name.as_str()),
            manifest,
            plugin: Arc::new(plugin),
        }
    }
}

/// A library that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPlugin {
    pub path: PathBuf,
    pub reason: String,
}

/// The strategies found by `discover_plugins`.
#[derive(Debug, Clone, Default)]
pub struct PluginRegistry {
    strategies: Vec<StrategyInfo>,
    refused: Vec<RefusedPlugin>,
}

/// Loads one plugin file through the handshake (what `entmoot plugins check PATH` starts with).
pub fn load_plugin(path: &Path) -> Result<StrategyInfo, LoadError> {
    LoadedPlugin::load(path).map(StrategyInfo::from_plugin)
}

/// Whether a file name looks like a shared library on this platform family.
fn is_library(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("so") | Some("dylib")
    )
}

/// Scans each directory (not recursively) for plugins. Refused files are logged with
/// `tracing::warn!` and listed in `refused()`; discovery carries on.
pub fn discover_plugins(dirs: &[PathBuf]) -> PluginRegistry {
    let mut registry = PluginRegistry::default();
    let mut seen_dirs = Vec::new();
    for dir in dirs {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if seen_dirs.contains(&canonical) {
            continue;
        }
        seen_dirs.push(canonical);
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot read the plugin directory: {e}");
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_library(p))
            .collect();
        files.sort();
        for path in files {
            registry.consider(&path);
        }
    }
    registry
}

impl PluginRegistry {
    /// Loads `path` and adds it, or records why not.
    fn consider(&mut self, path: &Path) {
        let result = load_plugin(path)
            .map_err(|e| e.to_string())
            .and_then(|info| {
                match self
                    .strategies
                    .iter()
                    .find(|s| s.name == info.name && s.version == info.version)
                {
                    Some(existing) => Err(format!(
                        "duplicate strategy {} {}: already provided by {}",
                        info.name,
                        info.version,
                        existing.path.display()
                    )),
                    None => Ok(info),
                }
            });
        match result {
            Ok(info) => {
                tracing::info!(
                    path = %path.display(),
                    "loaded strategy plugin {} {}",
                    info.name,
                    info.version
                );
                self.strategies.push(info);
            }
            Err(reason) => {
                tracing::warn!(path = %path.display(), "refused plugin: {reason}");
                self.refused.push(RefusedPlugin {
                    path: path.to_path_buf(),
                    reason,
                });
            }
        }
    }

    /// Every accepted strategy, sorted by name then version (newest first).
    pub fn strategies(&self) -> Vec<StrategyInfo> {
        let mut out = self.strategies.clone();
        out.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| compare_versions(&b.version, &a.version))
        });
        out
    }

    /// Libraries that were refused, with the reason.
    pub fn refused(&self) -> Vec<RefusedPlugin> {
        self.refused.clone()
    }

    /// The strategy called `name` (`"name"` or `"name@version"`; the newest version when
    /// several are installed), or with `None` the default: the best-ranked built-in present.
    pub fn find(&self, name: Option<&str>) -> Option<StrategyInfo> {
        let newest = |wanted: &str, version: Option<&str>| {
            self.strategies
                .iter()
                .filter(|s| s.name == wanted && version.is_none_or(|v| s.version == v))
                .max_by(|a, b| compare_versions(&a.version, &b.version))
                .cloned()
        };
        match name {
            Some(spec) => match spec.split_once('@') {
                Some((n, v)) => newest(n, Some(v)),
                None => newest(spec, None),
            },
            None => BUILTIN_STRATEGIES.iter().find_map(|n| newest(n, None)),
        }
    }

    /// Number of accepted strategies.
    pub fn len(&self) -> usize {
        self.strategies.len()
    }

    /// Whether no strategy was accepted.
    pub fn is_empty(&self) -> bool {
        self.strategies.is_empty()
    }
}

/// Compares dotted versions numerically where both parts are numbers (`0.10.0 > 0.9.1`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut pa = a.split(['.', '-', '+']);
    let mut pb = b.split(['.', '-', '+']);
    loop {
        match (pa.next(), pb.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.0", "1.0.1"), Ordering::Less);
    }

    #[test]
    fn library_extensions() {
        assert!(is_library(Path::new("/x/libgreedy.so")));
        assert!(is_library(Path::new("/x/libgreedy.dylib")));
        assert!(!is_library(Path::new("/x/libgreedy.rlib")));
        assert!(!is_library(Path::new("/x/entmoot")));
    }

    #[test]
    fn missing_directory_is_not_fatal() {
        let r = discover_plugins(&[PathBuf::from("/nonexistent/entmoot/plugins")]);
        assert!(r.is_empty());
        assert!(r.find(None).is_none());
    }
}
