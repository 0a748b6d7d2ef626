//! Hot reload: replacing, adding and removing plugin files while strategies are in use. The
//! next run uses the new file; a `StrategyInfo` taken before keeps running the version it was
//! loaded from, in this process and in the child runner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock, mpsc};
use std::time::Duration;

use common::*;
use entmoot_plugin_host::{
    PluginChange, PluginRegistry, RefusedPlugin, StrategyInfo, reload_plugins, run_strategy_with,
    watch_plugins,
};
use entmoot_plugin_sdk::RunRequest;

/// Runs `info` and returns the message of its first progress report ("reloadable v1"/"v2").
fn run_says(info: &StrategyInfo, in_child: bool) -> String {
    let mut messages = Vec::new();
    let options = if in_child {
        child_options()
    } else {
        in_process_options()
    };
    run_strategy_with(
        &options,
        info,
        &demo_problem(),
        &RunRequest::default(),
        &mut |p| messages.push(p.message),
        &AtomicBool::new(false),
    )
    .unwrap();
    messages.into_iter().next().unwrap()
}

/// Overwrites `dest` in place with the bytes of `src` (the unsafe way to deploy a library,
/// which the private copies make harmless).
fn overwrite(src: &Path, dest: &Path) {
    std::fs::write(dest, std::fs::read(src).unwrap()).unwrap();
}

fn change(name: &str, version: &str, path: &Path) -> PluginChange {
    PluginChange {
        name: name.into(),
        version: version.into(),
        path: path.to_path_buf(),
    }
}

#[test]
fn a_replaced_file_is_used_by_the_next_run_while_old_infos_keep_working() {
    let v1 = raw_plugin("reload_v1");
    let v2 = raw_plugin("reload_v2");
    let dir = plugin_dir(&[(&v1, "libreloadable.so")]);
    let file = dir.path().join("libreloadable.so");
    let mut registry = discover(&[dir.path().to_path_buf()]);
    let old = registry.find(Some("reloadable")).unwrap();
    assert_eq!(old.version, "1.0.0");
    assert!(!registry.needs_reload());
    assert!(!registry.reload().changed(), "nothing changed on disk");

    overwrite(&v2, &file);
    assert!(registry.needs_reload());
    let report = registry.reload();
    assert_eq!(report.replaced, vec![change("reloadable", "2.0.0", &file)]);
    assert!(report.added.is_empty() && report.removed.is_empty());
    assert_eq!(
        report.to_string(),
        format!("replaced reloadable 2.0.0 ({})", file.display())
    );

    let new = registry.find(Some("reloadable")).unwrap();
    assert_eq!(new.version, "2.0.0");
    assert!(!new.same_library(&old));
    assert_ne!(new.loaded_path(), old.loaded_path());
    for in_child in [true, false] {
        assert_eq!(run_says(&new, in_child), "reloadable v2");
        // A job that took the old info before the reload finishes with the old version.
        assert_eq!(run_says(&old, in_child), "reloadable v1");
    }

    // Back to v1 under the same version number as before: still picked up (by content).
    overwrite(&v1, &file);
    let report = registry.reload();
    assert_eq!(report.replaced, vec![change("reloadable", "1.0.0", &file)]);
    assert_eq!(
        run_says(&registry.find(Some("reloadable")).unwrap(), true),
        "reloadable v1"
    );

    // The old private copy disappears once the last info using it is gone.
    let old_copy = old.loaded_path().to_path_buf();
    assert!(old_copy.exists());
    drop(old);
    assert!(!old_copy.exists());
}

#[test]
fn reload_reports_added_removed_and_refused_files() {
    let dir = plugin_dir(&[(greedy_library(), "libentmoot_strategy_greedy.so")]);
    let mut registry = PluginRegistry::new(settings(&[dir.path().to_path_buf()], child_options()));
    assert!(registry.is_empty());
    let greedy_path = dir.path().join("libentmoot_strategy_greedy.so");
    let report = registry.reload();
    assert_eq!(
        report.added,
        vec![change("greedy", env!("CARGO_PKG_VERSION"), &greedy_path)]
    );

    // A new plugin, a broken one and a squatter on the built-in name appear.
    let reloadable = dir.path().join("libreloadable.so");
    std::fs::copy(raw_plugin("reload_v1"), &reloadable).unwrap();
    std::fs::copy(raw_plugin("wrong_abi"), dir.path().join("libwrong.so")).unwrap();
    std::fs::copy(greedy_library(), dir.path().join("libzz_greedy_copy.so")).unwrap();
    let report = registry.reload();
    assert_eq!(
        report.added,
        vec![change("reloadable", "1.0.0", &reloadable)]
    );
    let refused: Vec<&Path> = report.refused.iter().map(|r| r.path.as_path()).collect();
    assert_eq!(
        refused,
        vec![
            dir.path().join("libwrong.so").as_path(),
            dir.path().join("libzz_greedy_copy.so").as_path()
        ]
    );
    assert!(
        report.refused[1]
            .reason
            .starts_with("the strategy name `greedy` is reserved for the built-in strategy"),
        "{report}"
    );
    assert_eq!(registry.len(), 2);
    // Refusals are reported once, not at every reload.
    assert!(!registry.reload().changed());

    // The built-in goes away: the squatter does not take its name.
    std::fs::remove_file(&greedy_path).unwrap();
    let report = registry.reload();
    assert_eq!(
        report.removed,
        vec![change("greedy", env!("CARGO_PKG_VERSION"), &greedy_path)]
    );
    assert!(report.added.is_empty(), "{report}");
    assert!(registry.find(None).is_none());
    std::fs::remove_file(dir.path().join("libzz_greedy_copy.so")).unwrap();

    // A second file claims `reloadable`: both are refused until one is gone.
    let rival = dir.path().join("libzz_rival.so");
    std::fs::copy(raw_plugin("reload_v2"), &rival).unwrap();
    let report = registry.reload();
    assert_eq!(
        report.removed,
        vec![change("reloadable", "1.0.0", &reloadable)]
    );
    assert!(registry.find(Some("reloadable")).is_none());
    let refusals = registry.refused();
    for path in [&reloadable, &rival] {
        let refusal = refusals.iter().find(|r| &r.path == path).unwrap();
        assert!(
            refusal
                .reason
                .contains("also claims the strategy name `reloadable`"),
            "{refusal:?}"
        );
    }
    std::fs::remove_file(&rival).unwrap();
    let report = registry.reload();
    assert_eq!(
        report.added,
        vec![change("reloadable", "1.0.0", &reloadable)]
    );

    // A good file replaced by a broken one: refused, and the version it replaced stays in
    // service (a bad deployment does not take a working strategy away).
    let before = registry.find(Some("reloadable")).unwrap();
    overwrite(&raw_plugin("wrong_abi"), &reloadable);
    let report = registry.reload();
    assert!(
        report.removed.is_empty() && report.replaced.is_empty(),
        "{report}"
    );
    assert_eq!(
        report.refused,
        vec![RefusedPlugin {
            path: reloadable.clone(),
            reason: "ABI version 99 is not supported (this host speaks version 1); \
                     still serving the previously loaded reloadable 1.0.0"
                .into()
        }]
    );
    let kept = registry.find(Some("reloadable")).unwrap();
    assert!(kept.same_library(&before));
    assert_eq!(run_says(&kept, true), "reloadable v1");
    assert!(
        !registry.reload().changed(),
        "refused once, not at every reload"
    );

    // A good file again: it replaces the kept version and the refusal is gone.
    overwrite(&raw_plugin("reload_v2"), &reloadable);
    let report = registry.reload();
    assert_eq!(
        report.replaced,
        vec![change("reloadable", "2.0.0", &reloadable)]
    );
    assert!(registry.refused().iter().all(|r| r.path != reloadable));

    // Removing the file removes the strategy, broken or not.
    overwrite(&raw_plugin("wrong_abi"), &reloadable);
    registry.reload();
    std::fs::remove_file(&reloadable).unwrap();
    let report = registry.reload();
    assert_eq!(
        report.removed,
        vec![change("reloadable", "2.0.0", &reloadable)]
    );
    assert!(registry.find(Some("reloadable")).is_none());
    assert!(registry.refused().iter().all(|r| r.path != reloadable));
}

#[test]
fn a_shared_registry_reloads_without_blocking_readers_and_the_watcher_notices_changes() {
    let v1 = raw_plugin("reload_v1");
    let v2 = raw_plugin("reload_v2");
    let dir = plugin_dir(&[(&v1, "libreloadable.so")]);
    let file = dir.path().join("libreloadable.so");
    let shared = Arc::new(RwLock::new(discover(&[dir.path().to_path_buf()])));
    let old = shared.read().unwrap().find(Some("reloadable")).unwrap();

    overwrite(&v2, &file);
    let report = reload_plugins(&shared);
    assert_eq!(report.replaced.len(), 1);
    let new = shared.read().unwrap().find(Some("reloadable")).unwrap();
    assert_eq!(new.version, "2.0.0");
    assert_eq!(run_says(&old, true), "reloadable v1");

    // The watcher polls and reloads by itself.
    let (tx, rx) = mpsc::channel();
    let watcher = watch_plugins(Arc::clone(&shared), Duration::from_millis(50), move |r| {
        let _ = tx.send(r.clone());
    });
    // An atomic install: write beside, then rename over.
    let staging = dir.path().join(".staging");
    std::fs::copy(&v1, &staging).unwrap();
    std::fs::rename(&staging, &file).unwrap();
    let report = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(report.replaced, vec![change("reloadable", "1.0.0", &file)]);
    assert_eq!(
        shared
            .read()
            .unwrap()
            .find(Some("reloadable"))
            .unwrap()
            .version,
        "1.0.0"
    );
    watcher.stop();
    assert_eq!(run_says(&new, true), "reloadable v2");
}
