//! Tidy: the architecture rules of ARCHITECTURE.md that Cargo alone cannot enforce,
//! checked over the workspace's manifests (`cargo metadata`) and sources. A failure
//! names the file and the rule it breaks.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use entmoot_tests::repository_root;
use serde_json::Value;

/// The one crate that may know about the transport, the command line, the process
/// environment and Redis.
const SERVER_PACKAGE: &str = "entmoot";
/// Black-box tests drive the binary from outside and read their own settings.
const TESTS_PACKAGE: &str = "entmoot-tests";
/// Crates only the server may depend on (prefix match for families such as `actix-*`).
const SERVER_ONLY_DEPENDENCIES: &[&str] = &[
    "actix",
    "clap",
    "redis",
    "bb8",
    "dotenvy",
    "async-graphql-actix-web",
];
/// Crates that must stay free of the GraphQL layer.
const GRAPHQL_FREE_PACKAGES: &[&str] = &[
    "entmoot-domain",
    "entmoot-formats",
    "entmoot-entities",
    "entmoot-migrations",
    "entmoot-plugin-host",
    "entmoot-plugin-sdk",
];
/// The module that owns every change of a job's status (the job state machine).
const JOB_TRANSITIONS_MODULE: &str = "domain/src/jobs/transitions.rs";

struct Package {
    name: String,
    directory: PathBuf,
    dependencies: Vec<String>,
}

fn workspace_packages() -> Vec<Package> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repository_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| Package {
            name: package["name"].as_str().unwrap().to_owned(),
            directory: Path::new(package["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .to_path_buf(),
            dependencies: package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                // Dev-dependencies link into tests and benchmarks only, never into what ships.
                .filter(|dependency| dependency["kind"].as_str() != Some("dev"))
                .map(|dependency| dependency["name"].as_str().unwrap().to_owned())
                .collect(),
        })
        .collect()
}

/// Every `.rs` file under `directory`, skipping build output and Node packages.
fn rust_files(directory: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | ".git") {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repository_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The source without its `#[cfg(test)]` tail: unit tests may set up whatever they need.
fn production_part(source: &str) -> &str {
    source.split("#[cfg(test)]").next().unwrap_or(source)
}

#[test]
fn only_the_server_and_tests_read_the_process_environment() {
    let reads = [
        "env::var(",
        "env::var_os(",
        "env::vars(",
        "env::vars_os(",
        "dotenvy::",
    ];
    let mut offenders = Vec::new();
    for package in workspace_packages() {
        if package.name == SERVER_PACKAGE || package.name == TESTS_PACKAGE {
            continue;
        }
        // Library code only: binaries, examples and integration tests are edges.
        for file in rust_files(&package.directory.join("src")) {
            if file.components().any(|part| part.as_os_str() == "bin") {
                continue;
            }
            let source = std::fs::read_to_string(&file).unwrap();
            for (number, line) in production_part(&source).lines().enumerate() {
                if reads.iter().any(|read| line.contains(read)) {
                    offenders.push(format!(
                        "{}:{}: {}",
                        relative(&file),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "library crates must take their settings from the server, not read the environment:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_the_server_depends_on_the_transport_the_command_line_and_redis() {
    let mut offenders = Vec::new();
    for package in workspace_packages() {
        if package.name == SERVER_PACKAGE {
            continue;
        }
        for dependency in &package.dependencies {
            if SERVER_ONLY_DEPENDENCIES
                .iter()
                .any(|prefix| dependency.starts_with(prefix))
            {
                offenders.push(format!("{} depends on {dependency}", package.name));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn the_domain_and_below_do_not_know_graphql() {
    let packages = workspace_packages();
    let names: BTreeSet<&str> = packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    let mut offenders = Vec::new();
    for required in GRAPHQL_FREE_PACKAGES {
        assert!(
            names.contains(required),
            "workspace member {required} is gone: update tidy.rs"
        );
    }
    for package in &packages {
        if !GRAPHQL_FREE_PACKAGES.contains(&package.name.as_str()) {
            continue;
        }
        for dependency in &package.dependencies {
            if dependency.starts_with("async-graphql") {
                offenders.push(format!("{} depends on {dependency}", package.name));
            }
        }
        for file in rust_files(&package.directory) {
            let source = std::fs::read_to_string(&file).unwrap();
            // Comments may name what the crate keeps away from; code may not use it.
            let uses = source
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .any(|line| line.contains("async_graphql"));
            if uses {
                offenders.push(format!("{} uses async_graphql", relative(&file)));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn only_the_job_state_machine_writes_a_job_status() {
    let root = repository_root();
    let transitions = root.join(JOB_TRANSITIONS_MODULE);
    assert!(
        transitions.exists(),
        "{JOB_TRANSITIONS_MODULE} is gone: update tidy.rs"
    );
    let writes = [
        "col_expr(jobs::Column::Status",
        "col_expr(Column::Status",
        "status: Set(",
        "SET status",
        "set status",
    ];
    let mut offenders = Vec::new();
    for directory in [
        "domain", "schema", "server", "entities", "formats", "plugins",
    ] {
        for file in rust_files(&root.join(directory)) {
            if file == transitions || file.components().any(|part| part.as_os_str() == "tests") {
                continue;
            }
            let source = std::fs::read_to_string(&file).unwrap();
            for (number, line) in production_part(&source).lines().enumerate() {
                // A job is born queued: inserting that first state is not a transition.
                let is_birth = line.contains("status: Set(JobStatus::Queued)");
                if !is_birth && writes.iter().any(|write| line.contains(write)) {
                    offenders.push(format!(
                        "{}:{}: {}",
                        relative(&file),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a job's status changes only in {JOB_TRANSITIONS_MODULE}:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let mut offenders = Vec::new();
    for file in rust_files(&repository_root()) {
        let source = std::fs::read_to_string(&file).unwrap();
        if !source.trim_start().starts_with("//!") {
            offenders.push(relative(&file));
        }
    }
    assert!(
        offenders.is_empty(),
        "every Rust file opens with a `//!` line saying what it is for:\n{}",
        offenders.join("\n")
    );
}
