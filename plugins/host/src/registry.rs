//! Plugin discovery and hot reload: scan directories for `*.so` / `*.dylib`, read each file's
//! handshake in a sandboxed runner child (never in this process; from a private copy, see
//! `private_copy`; cached by the file's SHA-256, so an unchanged file is never handshaken
//! twice), keep the good ones and record (and log) why the others were refused.
//! `PluginRegistry::reload` rescans and replaces what changed on disk; a `StrategyInfo` cloned
//! earlier keeps its private copy and keeps working.
//!
//! Names cannot be hijacked: the names in `BUILTIN_STRATEGIES` are accepted only from the
//! built-in files (`libentmoot_strategy_<name>` in `HostSettings::builtin_dirs`), and when two
//! files claim one name, both are refused.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use entmoot_plugin_sdk::{Manifest, abi};

use crate::HostError;
use crate::caps::check_manifest_sizes;
use crate::library::LoadedPlugin;
use crate::private_copy::{PrivateCopy, make_private_copy, read_and_hash};
use crate::run::{Isolation, RunOptions};
use crate::settings::HostSettings;

/// Built-in strategies, best first: `PluginRegistry::find(None)` returns the first present.
/// Their names are reserved for their own files (see `builtin_file_name`).
pub const BUILTIN_STRATEGIES: &[&str] = &["greedy", "anneal"];

/// Refused file contents remembered by the handshake cache.
const MAX_CACHED_REFUSALS: usize = 256;

/// The file name the built-in strategy `name` is installed under.
pub fn builtin_file_name(name: &str) -> String {
    format!(
        "{}entmoot_strategy_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// One version of a plugin file: its private copy and, for in-process runs only, the library
/// loaded from it.
pub(crate) struct PluginFile {
    copy: PrivateCopy,
    in_process: OnceLock<Result<LoadedPlugin, String>>,
}

/// What the handshake of one file content gave (cached by SHA-256).
type Handshake = Result<(Arc<PluginFile>, Manifest), String>;

/// A strategy that passed the handshake. Cloning is cheap; a clone keeps the private copy it
/// runs from even after the registry reloads a newer file.
#[derive(Clone)]
pub struct StrategyInfo {
    pub name: String,
    pub version: String,
    /// The plugin file as installed (what `plugins list` shows).
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Whether this is a built-in strategy (one of `BUILTIN_STRATEGIES` from its own file).
    pub builtin: bool,
    /// SHA-256 of the file content that runs, lowercase hex.
    pub sha256: String,
    pub(crate) plugin: Arc<PluginFile>,
    pub(crate) settings: Arc<HostSettings>,
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
    /// The private copy of `path` that this strategy runs from (what the runner loads).
    pub fn loaded_path(&self) -> &Path {
        self.plugin.copy.path()
    }

    /// Whether two infos share the same private copy (same file version).
    pub fn same_library(&self, other: &StrategyInfo) -> bool {
        Arc::ptr_eq(&self.plugin, &other.plugin)
    }

    /// How this strategy's runs are isolated and limited.
    pub fn options(&self) -> RunOptions {
        self.settings.run.clone()
    }

    /// The library loaded in this process, for `Isolation::InProcess` only (loaded on first
    /// use).
    pub(crate) fn in_process_library(&self) -> Result<&LoadedPlugin, HostError> {
        self.plugin
            .in_process
            .get_or_init(|| LoadedPlugin::load(self.loaded_path()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|reason| HostError::Load {
                path: self.path.clone(),
                reason: reason.clone(),
            })
    }
}

/// A library that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPlugin {
    pub path: PathBuf,
    pub reason: String,
}

/// What identifies one version of a file on disk: size, modification and change times, and
/// (on Unix) device and inode, so that an in-place overwrite, a rename over it or `cp -p` all
/// count as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    changed: (i64, i64),
    inode: (u64, u64),
}

impl Fingerprint {
    fn of(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let (changed, inode) = {
            use std::os::unix::fs::MetadataExt;
            ((meta.ctime(), meta.ctime_nsec()), (meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let (changed, inode) = ((0, 0), (0, 0));
        Some(Fingerprint {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed,
            inode,
        })
    }
}

/// One library file as last seen by a scan.
#[derive(Debug, Clone)]
struct FileState {
    path: PathBuf,
    fingerprint: Fingerprint,
    /// The handshake's outcome for this version of the file, or the last good version of
    /// the file when this one was refused (see `kept_because`).
    loaded: Result<StrategyInfo, String>,
    /// Why the current version of the file was refused while `loaded` still holds the
    /// version before it: a broken replacement must not take a working strategy away.
    kept_because: Option<String>,
}

/// The strategies found in a set of directories; `reload` rescans them.
#[derive(Clone)]
pub struct PluginRegistry {
    settings: Arc<HostSettings>,
    /// Handshakes by file SHA-256, shared by the registry's clones.
    handshakes: Arc<Mutex<HashMap<String, Handshake>>>,
    /// Library files in scan order (directory order, then file name).
    files: Vec<FileState>,
    strategies: Vec<StrategyInfo>,
    refused: Vec<RefusedPlugin>,
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("dirs", &self.settings.plugin_dirs)
            .field("strategies", &self.strategies)
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}

/// A strategy named in a `ReloadReport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginChange {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
}

impl fmt::Display for PluginChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({})",
            self.name,
            self.version,
            self.path.display()
        )
    }
}

/// What a `reload` changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Files accepted that were not accepted before.
    pub added: Vec<PluginChange>,
    /// Accepted files whose content changed and that were loaded again.
    pub replaced: Vec<PluginChange>,
    /// Previously accepted files that are gone or now refused.
    pub removed: Vec<PluginChange>,
    /// Files newly refused (or refused for a new reason).
    pub refused: Vec<RefusedPlugin>,
}

impl ReloadReport {
    /// Whether the set of usable strategies or refusals changed.
    pub fn changed(&self) -> bool {
        !(self.added.is_empty()
            && self.replaced.is_empty()
            && self.removed.is_empty()
            && self.refused.is_empty())
    }
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.changed() {
            return f.write_str("no change");
        }
        let mut parts = Vec::new();
        for (what, list) in [
            ("added", &self.added),
            ("replaced", &self.replaced),
            ("removed", &self.removed),
        ] {
            if !list.is_empty() {
                let names: Vec<String> = list.iter().map(ToString::to_string).collect();
                parts.push(format!("{what} {}", names.join(", ")));
            }
        }
        if !self.refused.is_empty() {
            let names: Vec<String> = self
                .refused
                .iter()
                .map(|r| format!("{}: {}", r.path.display(), r.reason))
                .collect();
            parts.push(format!("refused {}", names.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Reads one plugin file's handshake (what `entmoot plugins check PATH` starts with): in a
/// sandboxed runner child unless the settings say in-process. The file is copied privately
/// first; the strategy runs from that copy.
pub fn load_plugin(path: &Path, settings: &Arc<HostSettings>) -> Result<StrategyInfo, String> {
    let cache = Mutex::new(HashMap::new());
    load_cached(path, settings, &cache)
}

/// `load_plugin` through the handshake cache.
fn load_cached(
    path: &Path,
    settings: &Arc<HostSettings>,
    cache: &Mutex<HashMap<String, Handshake>>,
) -> Result<StrategyInfo, String> {
    let (bytes, sha256) = read_and_hash(path)?;
    let cached = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&sha256)
        .cloned();
    let handshake = match cached {
        Some(handshake) => handshake,
        None => {
            let handshake = handshake(path, &bytes, settings);
            cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(sha256.clone(), handshake.clone());
            handshake
        }
    };
    let (plugin, manifest) = handshake?;
    Ok(StrategyInfo {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        path: path.to_path_buf(),
        builtin: false,
        manifest,
        sha256,
        plugin,
        settings: Arc::clone(settings),
    })
}

/// Copies the file and reads its manifest in a child (or, when explicitly configured, in this
/// process). The host checks the manifest again: it does not trust the runner's child either.
fn handshake(path: &Path, bytes: &[u8], settings: &HostSettings) -> Handshake {
    let copy = make_private_copy(path, bytes, &settings.cache_dir)
        .map_err(|e| format!("cannot make a private copy of the library: {e}"))?;
    let plugin = PluginFile {
        copy,
        in_process: OnceLock::new(),
    };
    let manifest = match &settings.run.isolation {
        Isolation::ChildProcess { runner } => {
            crate::isolate::handshake_in_child(runner, plugin.copy.path(), &settings.run)?.0
        }
        Isolation::InProcess => {
            let loaded = LoadedPlugin::load(plugin.copy.path()).map_err(|e| e.to_string())?;
            let manifest = loaded.manifest().clone();
            let _ = plugin.in_process.set(Ok(loaded));
            manifest
        }
    };
    check_manifest_sizes(&manifest).map_err(|e| format!("manifest: {e}"))?;
    manifest.validate().map_err(|e| format!("manifest: {e}"))?;
    if manifest.abi_version != abi::ABI_VERSION {
        return Err(format!(
            "manifest: abi_version is {}, this host speaks {}",
            manifest.abi_version,
            abi::ABI_VERSION
        ));
    }
    Ok((Arc::new(plugin), manifest))
}

/// Why `info` may not carry its name, if it may not: a built-in name from another file.
fn reserved_name_refusal(info: &StrategyInfo, settings: &HostSettings) -> Option<String> {
    if !BUILTIN_STRATEGIES.contains(&info.name.as_str()) {
        return None;
    }
    let expected = builtin_file_name(&info.name);
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let in_builtin_dir = info.path.parent().is_some_and(|dir| {
        settings
            .builtin_dirs
            .iter()
            .any(|b| canonical(b) == canonical(dir))
    });
    let right_file = info
        .path
        .file_name()
        .is_some_and(|n| n == expected.as_str());
    if in_builtin_dir && right_file {
        None
    } else {
        Some(format!(
            "the strategy name `{}` is reserved for the built-in strategy ({expected} installed beside the entmoot executable); rename the plugin",
            info.name
        ))
    }
}

/// Whether a file name looks like a shared library on this platform family.
fn is_library(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("so") | Some("dylib")
    )
}

/// The library files in `dirs` (not recursive), each directory once, sorted by name.
fn scan(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen_dirs = Vec::new();
    let mut out = Vec::new();
    for dir in dirs {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if seen_dirs.contains(&canonical) {
            continue;
        }
        seen_dirs.push(canonical);
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), "cannot read the plugin directory: {e}");
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_library(p))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// Every library file in `dirs` with its current fingerprint.
fn fingerprints(dirs: &[PathBuf]) -> Vec<(PathBuf, Option<Fingerprint>)> {
    scan(dirs)
        .into_iter()
        .map(|path| {
            let fingerprint = Fingerprint::of(&path);
            (path, fingerprint)
        })
        .collect()
}

/// Scans each directory of `settings` (not recursively) for plugins. Refused files are logged
/// with `tracing::warn!` and listed in `refused()`; discovery carries on.
pub fn discover_plugins(settings: HostSettings) -> PluginRegistry {
    for dir in &settings.plugin_dirs {
        if !dir.is_dir() {
            tracing::warn!(dir = %dir.display(), "cannot read the plugin directory: not a directory");
        }
    }
    let mut registry = PluginRegistry::new(settings);
    registry.reload();
    registry
}

impl PluginRegistry {
    /// An empty registry over the settings' directories; `reload` scans them.
    pub fn new(settings: HostSettings) -> PluginRegistry {
        PluginRegistry {
            settings: Arc::new(settings),
            handshakes: Arc::new(Mutex::new(HashMap::new())),
            files: Vec::new(),
            strategies: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// The directories scanned, in order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.settings.plugin_dirs
    }

    /// The settings the registry was made with.
    pub fn settings(&self) -> &HostSettings {
        &self.settings
    }

    /// Whether a rescan would see a different set of files or a changed file (only `stat`s
    /// files; loads nothing).
    pub fn needs_reload(&self) -> bool {
        let files = scan(self.dirs());
        files.len() != self.files.len()
            || files.iter().zip(&self.files).any(|(path, state)| {
                *path != state.path || Fingerprint::of(path) != Some(state.fingerprint)
            })
    }

    /// Rescans the directories: loads new files, loads changed files again (from a new private
    /// copy), forgets removed ones, and re-applies the duplicate rule. Unchanged files are not
    /// touched. A `StrategyInfo` cloned before keeps its own library loaded and keeps working,
    /// so a running job finishes with the version it started with.
    ///
    /// A file replaced by a broken one (a wrong ABI, a half-written copy) is refused with the
    /// reason, and the version it replaced stays in service until a good file takes its
    /// place or the file is removed: a bad deployment never takes a working strategy away.
    pub fn reload(&mut self) -> ReloadReport {
        let mut previous: HashMap<PathBuf, FileState> = std::mem::take(&mut self.files)
            .into_iter()
            .map(|f| (f.path.clone(), f))
            .collect();
        for path in scan(self.dirs()) {
            let Some(fingerprint) = Fingerprint::of(&path) else {
                continue; // vanished since the scan
            };
            let state = match previous.remove(&path) {
                Some(old) if old.fingerprint == fingerprint => old,
                old => {
                    let loaded = load_cached(&path, &self.settings, &self.handshakes);
                    match (loaded, old) {
                        // The file was good and its new content is not: keep serving the
                        // version already loaded until a good file replaces it.
                        (
                            Err(reason),
                            Some(FileState {
                                loaded: Ok(previous_good),
                                ..
                            }),
                        ) => FileState {
                            kept_because: Some(format!(
                                "{reason}; still serving the previously loaded {} {}",
                                previous_good.name, previous_good.version
                            )),
                            loaded: Ok(previous_good),
                            path,
                            fingerprint,
                        },
                        (loaded, _) => FileState {
                            loaded,
                            kept_because: None,
                            path,
                            fingerprint,
                        },
                    }
                }
            };
            self.files.push(state);
        }

        // Names: a built-in name only from its own file, and a name claimed by two files
        // belongs to neither.
        let candidates: Vec<Result<StrategyInfo, String>> = self
            .files
            .iter()
            .map(|file| {
                file.loaded.clone().and_then(|mut info| {
                    match reserved_name_refusal(&info, &self.settings) {
                        Some(reason) => Err(reason),
                        None => {
                            info.builtin = BUILTIN_STRATEGIES.contains(&info.name.as_str());
                            Ok(info)
                        }
                    }
                })
            })
            .collect();
        let mut strategies: Vec<StrategyInfo> = Vec::new();
        let mut refused: Vec<RefusedPlugin> = Vec::new();
        for (file, candidate) in self.files.iter().zip(&candidates) {
            let accepted = candidate.clone().and_then(|info| {
                let rivals: Vec<String> = candidates
                    .iter()
                    .flatten()
                    .filter(|other| other.name == info.name && other.path != info.path)
                    .map(|other| other.path.display().to_string())
                    .collect();
                if rivals.is_empty() {
                    Ok(info)
                } else {
                    Err(format!(
                        "{} also claims the strategy name `{}`: files that claim one name are all refused until only one is left",
                        rivals.join(", "),
                        info.name
                    ))
                }
            });
            match accepted {
                Ok(info) => {
                    strategies.push(info);
                    if let Some(reason) = &file.kept_because {
                        refused.push(RefusedPlugin {
                            path: file.path.clone(),
                            reason: reason.clone(),
                        });
                    }
                }
                Err(reason) => refused.push(RefusedPlugin {
                    path: file.path.clone(),
                    reason,
                }),
            }
        }
        // The cache keeps the good files the directories hold now, and a bounded number of
        // refusals (so that a file refused once is not handshaken again at every change of
        // its modification time).
        let present: std::collections::HashSet<&str> = self
            .files
            .iter()
            .filter_map(|f| f.loaded.as_ref().ok().map(|i| i.sha256.as_str()))
            .collect();
        {
            let mut cache = self
                .handshakes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            cache.retain(|sha, handshake| handshake.is_err() || present.contains(sha.as_str()));
            if cache.len() > present.len() + MAX_CACHED_REFUSALS {
                cache.retain(|_, handshake| handshake.is_ok());
            }
        }

        let change = |s: &StrategyInfo| PluginChange {
            name: s.name.clone(),
            version: s.version.clone(),
            path: s.path.clone(),
        };
        let mut report = ReloadReport::default();
        for new in &strategies {
            match self.strategies.iter().find(|old| old.path == new.path) {
                None => report.added.push(change(new)),
                Some(old) if !old.same_library(new) => report.replaced.push(change(new)),
                Some(_) => {}
            }
        }
        for old in &self.strategies {
            if !strategies.iter().any(|new| new.path == old.path) {
                report.removed.push(change(old));
            }
        }
        for r in &refused {
            if !self.refused.contains(r) {
                report.refused.push(r.clone());
            }
        }
        for c in &report.added {
            tracing::info!(path = %c.path.display(), "loaded strategy plugin {} {}", c.name, c.version);
        }
        for c in &report.replaced {
            tracing::info!(path = %c.path.display(), "reloaded strategy plugin {} {}", c.name, c.version);
        }
        for c in &report.removed {
            tracing::info!(path = %c.path.display(), "strategy plugin {} {} is no longer available", c.name, c.version);
        }
        for r in &report.refused {
            tracing::warn!(path = %r.path.display(), "refused plugin: {}", r.reason);
        }
        self.strategies = strategies;
        self.refused = refused;
        report
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

/// Reloads a shared registry without blocking its readers while libraries load: the scan and
/// the loading happen on a copy, which then replaces the registry under a short write lock.
/// Concurrent calls are serialised. Jobs holding a `StrategyInfo` keep their version. This is
/// what the server's file poller and its admin mutation call (from a blocking thread).
pub fn reload_plugins(registry: &RwLock<PluginRegistry>) -> ReloadReport {
    static RELOADING: Mutex<()> = Mutex::new(());
    let _serial = RELOADING.lock().unwrap_or_else(PoisonError::into_inner);
    let mut next = registry
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let report = next.reload();
    *registry.write().unwrap_or_else(PoisonError::into_inner) = next;
    report
}

/// A background thread that polls the plugin directories (see `watch_plugins`); stops when
/// dropped.
#[derive(Debug)]
pub struct PluginWatcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl PluginWatcher {
    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PluginWatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Polls the registry's directories every `every` and reloads when a file changed and then
/// stayed the same for one more poll (a poll that finds nothing changed only `stat`s the
/// files), so a change is picked up within two to three periods. `on_change` is called with each report
/// that changed something, after the new registry is in place (changes are also logged).
///
/// Install plugins with an atomic rename (`install -m 755 new.so DIR/` writes in place, so
/// prefer `cp new.so DIR/.tmp && mv DIR/.tmp DIR/libx.so`): a file caught half-written is
/// refused and retried at the next change.
pub fn watch_plugins(
    registry: Arc<RwLock<PluginRegistry>>,
    every: Duration,
    on_change: impl Fn(&ReloadReport) + Send + 'static,
) -> PluginWatcher {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("plugin-watcher".into())
        .spawn(move || {
            // What the directories looked like at the poll that first saw a change.
            let mut settling: Option<Vec<(PathBuf, Option<Fingerprint>)>> = None;
            loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                let (stale, dirs) = {
                    let current = registry.read().unwrap_or_else(PoisonError::into_inner);
                    (current.needs_reload(), current.dirs().to_vec())
                };
                if !stale {
                    settling = None;
                    continue;
                }
                // Load only once the files have stopped changing for one poll: a copy in
                // progress would otherwise be loaded (and refused) half-written.
                let now = fingerprints(&dirs);
                if settling.as_ref() != Some(&now) {
                    settling = Some(now);
                    continue;
                }
                settling = None;
                let report = reload_plugins(&registry);
                if report.changed() {
                    on_change(&report);
                }
            }
        });
    match thread {
        Ok(thread) => PluginWatcher {
            stop: Some(stop),
            thread: Some(thread),
        },
        Err(e) => {
            tracing::warn!(
                "cannot start the plugin watcher thread: {e}; plugins will not be reloaded automatically"
            );
            PluginWatcher {
                stop: None,
                thread: None,
            }
        }
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

    fn settings(dirs: Vec<PathBuf>) -> HostSettings {
        let scratch = std::env::temp_dir();
        HostSettings::new(
            dirs,
            Vec::new(),
            scratch.clone(),
            RunOptions::in_process(scratch),
        )
    }

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
        let r = discover_plugins(settings(vec![PathBuf::from(
            "/nonexistent/entmoot/plugins",
        )]));
        assert!(r.is_empty());
        assert!(r.find(None).is_none());
    }
}
