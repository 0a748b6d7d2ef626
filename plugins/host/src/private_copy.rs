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
//! A copy is deleted when the last `StrategyInfo` that uses it is dropped. Copies live in the
//! cache directory of `HostSettings` in a fresh directory `entmoot-plugins-<pid>-<random>` of
//! mode 0700; the directories of processes that no longer exist are removed when the first
//! copy is made. The cache directory must allow executable mappings (not a `noexec` mount).
//! The copy is made from the bytes that were hashed, so its SHA-256 names exactly what runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

const DIR_PREFIX: &str = "entmoot-plugins-";

/// The largest plugin file the host copies, bytes.
pub const MAX_PLUGIN_FILE: u64 = 512 * 1024 * 1024;

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

/// The SHA-256 of a plugin file's content (lowercase hex) and the content, refusing files
/// larger than `MAX_PLUGIN_FILE`.
pub(crate) fn read_and_hash(path: &Path) -> Result<(Vec<u8>, String), String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_PLUGIN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_PLUGIN_FILE {
        return Err(format!(
            "the file is larger than {} MiB",
            MAX_PLUGIN_FILE / 1024 / 1024
        ));
    }
    let digest = Sha256::digest(&bytes);
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, hex))
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        // Already gone is fine; a leftover is removed with its directory later.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `bytes` (the content of `original`, as hashed by `read_and_hash`) to a fresh unique
/// path in this process's private directory under `base`.
pub(crate) fn make_private_copy(
    original: &Path,
    bytes: &[u8],
    base: &Path,
) -> Result<PrivateCopy, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = private_dir(base)?;
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{n}-{name}"));
    std::fs::write(&path, bytes).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            original.display(),
            path.display()
        )
    })?;
    Ok(PrivateCopy { path })
}

/// The directory for this process's copies under `base`, created on first use.
fn private_dir(base: &Path) -> Result<PathBuf, String> {
    static DIRS: Mutex<Option<HashMap<PathBuf, PathBuf>>> = Mutex::new(None);
    let mut dirs = DIRS.lock().unwrap_or_else(PoisonError::into_inner);
    let dirs = dirs.get_or_insert_with(HashMap::new);
    if let Some(dir) = dirs.get(base) {
        return Ok(dir.clone());
    }
    remove_stale_dirs(base);
    std::fs::create_dir_all(base)
        .map_err(|e| format!("cannot create the plugin cache {}: {e}", base.display()))?;
    // A fresh directory under a random name (never one someone prepared), kept for the
    // whole process (`keep`), then restricted to its owner.
    let dir = tempfile::Builder::new()
        .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
        .tempdir_in(base)
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
    dirs.insert(base.to_path_buf(), dir.clone());
    Ok(dir)
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
        let base = std::env::temp_dir();
        let (bytes, sha) = read_and_hash(src.path()).unwrap();
        assert_eq!(
            sha,
            "8c45ce4e5a5cb0c03670ca09e153a24b1c7b7f94141c4da68f31ce8e91bc1bf8"
        );
        let a = make_private_copy(src.path(), &bytes, &base).unwrap();
        let b = make_private_copy(src.path(), &bytes, &base).unwrap();
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
