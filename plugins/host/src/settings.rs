//! What the embedding program tells the host: where plugins are, which files may carry the
//! built-in names, where private copies and run directories go, how runs are isolated and
//! limited. The host reads no environment variable; `entmoot`'s configuration builds this.

use std::path::PathBuf;

use crate::run::RunOptions;

/// The host's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    /// Directories scanned for plugin files, in order.
    pub plugin_dirs: Vec<PathBuf>,
    /// Directories whose `libentmoot_strategy_<name>` files are the built-in strategies: only
    /// those may use a name of `BUILTIN_STRATEGIES` (usually the directory of the `entmoot`
    /// executable, where the build and the packages install them).
    pub builtin_dirs: Vec<PathBuf>,
    /// Where private copies of plugin files are made (must allow executable mappings).
    pub cache_dir: PathBuf,
    /// How runs and handshakes are isolated and limited.
    pub run: RunOptions,
}

impl HostSettings {
    /// Settings with the default limits of `RunOptions::child_process`.
    pub fn new(
        plugin_dirs: Vec<PathBuf>,
        builtin_dirs: Vec<PathBuf>,
        cache_dir: PathBuf,
        run: RunOptions,
    ) -> HostSettings {
        HostSettings {
            plugin_dirs,
            builtin_dirs,
            cache_dir,
            run,
        }
    }
}
