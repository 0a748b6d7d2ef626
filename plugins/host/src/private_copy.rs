//! Private copies of plugin files. The host never `dlopen`s a file in a plugin directory
//! itself: it copies it to a private directory under a unique name and loads the copy, and the
//! child runner loads that same copy. Reasons:
//!
//! * `dlopen` caches by path (and by device and inode): reopening a replaced file at the same
//!   path can return the library already loaded, so a new version would never be seen;
//! * overwriting a mapped `.so` in place (`cp new.so plugins/`) changes the pages of the running
//!   code under the host's feet and can crash it;
//! * a run started before a replacement must keep running the version it started with, in
//!   this process and in the child it spawns.
//!
//! A copy is deleted when the last `StrategyInfo` that uses it is dropped (after the library is
//! unloaded). Copies live in `$ENTMOOT_PLUGIN_CACHE_DIR` (default: the system temporary
//! directory) in a fresh directory `entmoot-plugins-<pid>-<random>` of mode 0700; the
//! directories of processes that no longer exist are removed when the first copy is made.
//! The cache directory must allow executable mappings (not a `noexec` mount).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Environment variable naming where private copies are made.
pub const PLUGIN_CACHE_DIR_ENV: &str = "ENTMOOT_PLUGIN_CACHE_DIR";

const DIR_PREFIX: &str = "entmoot-plugins-";

/// A copy of a plugin file, removed on drop.
#[derive(Debug)]
pub(crate) struct PrivateCopy {
    path: PathBuf,
}

impl PrivateCopy {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        // Already gone is fine; a leftover is removed with its directory later.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Copies `original` to a fresh unique path in this process's private directory.
pub(crate) fn make_private_copy(original: &Path) -> Result<PrivateCopy, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = private_dir()?;
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{n}-{name}"));
    std::fs::copy(original, &path).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            original.display(),
            path.display()
        )
    })?;
    Ok(PrivateCopy { path })
}

/// The directory for this process's copies, created on first use.
fn private_dir() -> Result<&'static Path, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os(PLUGIN_CACHE_DIR_ENV)
            .map(PathBuf::from)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(std::env::temp_dir);
        remove_stale_dirs(&base);
        std::fs::create_dir_all(&base)
            .map_err(|e| format!("cannot create the plugin cache {}: {e}", base.display()))?;
        // A fresh directory under a random name (never one someone prepared), kept for the
        // whole process (`keep`), then restricted to its owner.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(&base)
            .map(tempfile::TempDir::keep)
            .map_err(|e| {
                format!(
                    "cannot create a private plugin directory in {}: {e}",
                    base.display()
                )
            })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
        }
        Ok(dir)
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(Clone::clone)
}

/// Removes `entmoot-plugins-<pid>-*` directories whose process is gone (Linux: no /proc/<pid>).
fn remove_stale_dirs(base: &Path) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me && !Path::new(&format!("/proc/{pid}")).exists() {
            // Someone else's directory cannot be removed (sticky /tmp); that is fine.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_unique_and_removed_on_drop() {
        let src = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(src.path(), b"library bytes").unwrap();
        let a = make_private_copy(src.path()).unwrap();
        let b = make_private_copy(src.path()).unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(std::fs::read(a.path()).unwrap(), b"library bytes");
        let dir = a.path().parent().unwrap().to_path_buf();
        assert!(
            dir.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{DIR_PREFIX}{}-", std::process::id()))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().exists());
    }

    #[test]
    fn stale_directories_of_dead_processes_are_removed() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        // PIDs are below 2^22 on Linux, so this one cannot be running.
        let stale = base.path().join(format!("{DIR_PREFIX}4294967-abc"));
        let live = base
            .path()
            .join(format!("{DIR_PREFIX}{}-abc", std::process::id()));
        let other = base.path().join("unrelated");
        for d in [&stale, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        remove_stale_dirs(base.path());
        assert!(!stale.exists());
        assert!(live.exists());
        assert!(other.exists());
    }
}
