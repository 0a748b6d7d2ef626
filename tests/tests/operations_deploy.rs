//! Static checks of deploy/: shell scripts pass shellcheck, every YAML and JSON file
//! parses, the manifests say what docs/deployment.md says (HPA 3 → 20 at 70 % CPU,
//! probes on the health endpoints, secrets by reference, two API instances and two
//! workers in compose), every environment variable they set is one Entmoot reads,
//! and the Dockerfile builds the workspace the README builds.
//!
//! Docker cannot run on the machines this project is tested on (no daemon), so the
//! image is checked statically here, not built.
//!
//! shellcheck comes from Debian's package, which tests/run installs; the test fails
//! when it is missing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use entmoot_tests::repository_root;
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

fn files_under(directory: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![directory.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn deploy() -> PathBuf {
    repository_root().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a YAML file (split on `---` lines), merge keys (`<<`) applied.
fn yaml_documents(path: &Path) -> Vec<Yaml> {
    let text = read(path);
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            documents.push(String::new());
        } else if let Some(current) = documents.last_mut() {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
        .iter()
        .map(|document| {
            let mut value: Yaml = serde_yaml_ng::from_str(document)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            value
                .apply_merge()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            value
        })
        .filter(|value| !value.is_null())
        .collect()
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let mut scripts = files_under(&deploy(), &["sh"]);
    scripts.push(repository_root().join("tests/run"));
    scripts.push(repository_root().join(".ci/run"));
    for required in ["migrate.sh", "backup-database.sh", "restore-database.sh"] {
        assert!(
            scripts.iter().any(|path| path.ends_with(required)),
            "deploy/scripts/{required} exists"
        );
    }
    let output = Command::new("shellcheck")
        .arg("--severity=style")
        .args(&scripts)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "shellcheck is not runnable ({error}); install Debian's shellcheck (tests/run does)"
            )
        });
    assert!(
        output.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for script in files_under(&deploy(), &["sh"]) {
        let text = read(&script);
        assert!(
            text.starts_with("#!/usr/bin/env bash\n"),
            "{}",
            script.display()
        );
        assert!(text.contains("set -euo pipefail"), "{}", script.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = script.metadata().expect("metadata").permissions().mode();
            assert!(mode & 0o111 != 0, "{} is executable", script.display());
        }
    }
}

#[test]
fn every_manifest_parses() {
    let yaml = files_under(&deploy(), &["yml", "yaml"]);
    assert!(yaml.len() >= 15, "{yaml:?}");
    for path in &yaml {
        assert!(
            !yaml_documents(path).is_empty(),
            "{} is empty",
            path.display()
        );
    }
    let json = files_under(&deploy(), &["json"]);
    assert!(json.len() >= 8, "{json:?}");
    for path in &json {
        serde_json::from_str::<Json>(&read(path))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// The variable names Entmoot reads: `.env.production.example` lists every one (a
/// unit test of the server checks that against its configuration code).
fn known_variables() -> BTreeSet<String> {
    read(&repository_root().join(".env.production.example"))
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.is_empty())
        .collect()
}

/// Checks one `env` list of a Kubernetes-style container; returns the names.
fn env_list_names(list: &Yaml, file: &str) -> Vec<String> {
    list.as_sequence()
        .map(|entries| {
            entries
                .iter()
                .map(|entry| {
                    let name = entry["name"].as_str().expect("env name").to_owned();
                    if is_secret(&name) {
                        assert!(
                            entry.get("value").is_none(),
                            "{file}: {name} must come from a secret reference, not a value"
                        );
                    }
                    name
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Variables whose values are secrets: never literal in a production manifest.
fn is_secret(name: &str) -> bool {
    matches!(
        name,
        "DATABASE_URL"
            | "REDIS_URL"
            | "SECRET_KEY"
            | "AWS_SECRET_ACCESS_KEY"
            | "AZURE_STORAGE_ACCOUNT_KEY"
            | "SMTP_PASSWORD"
            | "SENTRY_DSN"
    )
}

fn assert_known(names: &[String], file: &str) {
    let known = known_variables();
    for name in names {
        assert!(
            known.contains(name),
            "{file} sets {name}, which Entmoot does not read (typo?)"
        );
    }
}

fn kubernetes(kind: &str) -> Vec<Yaml> {
    files_under(&deploy().join("kubernetes"), &["yaml"])
        .iter()
        .flat_map(|path| yaml_documents(path))
        .filter(|document| document["kind"] == kind)
        .collect()
}

#[test]
fn kubernetes_manifests_follow_the_guide() {
    let hpas = kubernetes("HorizontalPodAutoscaler");
    let api_hpa = hpas
        .iter()
        .find(|hpa| hpa["spec"]["scaleTargetRef"]["name"] == "entmoot-api")
        .expect("an HPA for the API");
    assert_eq!(api_hpa["spec"]["minReplicas"], 3);
    assert_eq!(api_hpa["spec"]["maxReplicas"], 20);
    let cpu = api_hpa["spec"]["metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|metric| metric["resource"]["name"] == "cpu")
        .expect("a CPU target");
    assert_eq!(cpu["resource"]["target"]["averageUtilization"], 70);

    let pdbs = kubernetes("PodDisruptionBudget");
    assert!(
        pdbs.iter()
            .any(|pdb| pdb["metadata"]["name"] == "entmoot-api")
    );
    assert_eq!(kubernetes("Service").len(), 1);
    assert_eq!(kubernetes("Ingress").len(), 1);
    assert_eq!(kubernetes("ConfigMap").len(), 1);
    assert!(
        kubernetes("Secret").is_empty(),
        "secrets are created outside git"
    );

    let deployments = kubernetes("Deployment");
    assert_eq!(deployments.len(), 2, "API and worker");
    for deployment in &deployments {
        let name = deployment["metadata"]["name"].as_str().unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        let container = &pod["containers"][0];
        let env_from: Vec<&Yaml> = container["envFrom"].as_sequence().unwrap().iter().collect();
        assert!(
            env_from
                .iter()
                .any(|source| source["configMapRef"]["name"] == "entmoot-config"),
            "{name}: configuration by reference"
        );
        assert!(
            env_from
                .iter()
                .any(|source| source["secretRef"]["name"] == "entmoot-secrets"),
            "{name}: secrets by reference"
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"], "/health/live",
            "{name}"
        );
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"], "/health/ready",
            "{name}"
        );
        let args: Vec<&str> = container["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        match name {
            "entmoot-api" => assert_eq!(args, ["serve", "--no-worker"]),
            "entmoot-worker" => assert_eq!(args, ["worker"]),
            other => panic!("unexpected deployment {other}"),
        }
    }
    let config = &kubernetes("ConfigMap")[0]["data"];
    let names: Vec<String> = config
        .as_mapping()
        .unwrap()
        .keys()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    assert_known(&names, "kubernetes/configmap.yaml");
    for name in &names {
        assert!(!is_secret(name), "configmap.yaml holds the secret {name}");
    }
    assert!(
        config["PROMETHEUS_PORT"] == "9090",
        "workers need PROMETHEUS_PORT for their probes"
    );
}

#[test]
fn compose_runs_the_full_stack() {
    let compose = &yaml_documents(&deploy().join("docker-compose.yml"))[0];
    let services = compose["services"].as_mapping().expect("services");
    let names: BTreeSet<&str> = services.keys().map(|key| key.as_str().unwrap()).collect();
    for required in [
        "db", "redis", "s3", "migrate", "api-1", "api-2", "worker-1", "worker-2",
    ] {
        assert!(names.contains(required), "{required} in {names:?}");
    }
    assert!(
        compose["services"]["db"]["image"]
            .as_str()
            .unwrap()
            .starts_with("postgis/postgis:")
    );
    assert!(
        compose["services"]["s3"]["image"]
            .as_str()
            .unwrap()
            .contains("moto")
    );
    for service in ["api-1", "api-2"] {
        assert_eq!(compose["services"][service]["command"][0], "serve");
    }
    for service in ["worker-1", "worker-2"] {
        assert_eq!(compose["services"][service]["command"][0], "worker");
        assert_eq!(
            compose["services"][service]["environment"]["PROMETHEUS_PORT"],
            "9090"
        );
    }
    for service in ["migrate", "api-1", "api-2", "worker-1", "worker-2"] {
        let names: Vec<String> = compose["services"][service]["environment"]
            .as_mapping()
            .expect("environment")
            .keys()
            .map(|key| key.as_str().unwrap().to_owned())
            .collect();
        assert_known(&names, &format!("docker-compose.yml {service}"));
    }
    // Mounted files exist.
    for service in services.values() {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with('.') {
                assert!(deploy().join(source).exists(), "compose mounts {source}");
            }
        }
    }
}

#[test]
fn cloud_definitions_reference_their_secrets() {
    // ECS: secrets by Secrets Manager ARN, health check on /health/live.
    for file in [
        "ecs-task-definition.json",
        "ecs-worker-task-definition.json",
    ] {
        let task: Json = serde_json::from_str(&read(&deploy().join("aws").join(file))).unwrap();
        let container = &task["containerDefinitions"][0];
        let mut names: Vec<String> = container["environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["name"].as_str().unwrap().to_owned())
            .collect();
        for name in &names {
            assert!(!is_secret(name), "{file}: {name} must be in `secrets`");
        }
        for secret in container["secrets"].as_array().unwrap() {
            assert!(
                secret["valueFrom"]
                    .as_str()
                    .unwrap()
                    .starts_with("arn:aws:secretsmanager:"),
                "{file}: {secret}"
            );
            names.push(secret["name"].as_str().unwrap().to_owned());
        }
        assert!(names.contains(&"DATABASE_URL".to_owned()), "{file}");
        assert_known(&names, file);
        assert!(
            container["healthCheck"]["command"][1]
                .as_str()
                .unwrap()
                .contains("/health/live"),
            "{file}"
        );
    }
    let policy: Json =
        serde_json::from_str(&read(&deploy().join("aws/scaling-policy.json"))).unwrap();
    assert_eq!(policy["TargetValue"], 70.0);

    // Cloud Run.
    let service = &yaml_documents(&deploy().join("gcp/cloud-run-service.yaml"))[0];
    assert_eq!(service["kind"], "Service");
    let container = &service["spec"]["template"]["spec"]["containers"][0];
    let names = env_list_names(&container["env"], "cloud-run-service.yaml");
    assert_known(&names, "cloud-run-service.yaml");
    assert!(names.contains(&"DATABASE_URL".to_owned()));
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"],
        "/health/live"
    );

    // Azure Container Apps.
    let app = &yaml_documents(&deploy().join("azure/containerapp.yaml"))[0];
    let container = &app["properties"]["template"]["containers"][0];
    let names = env_list_names(&container["env"], "containerapp.yaml");
    assert_known(&names, "containerapp.yaml");
    for secret in app["properties"]["configuration"]["secrets"]
        .as_sequence()
        .unwrap()
    {
        assert!(
            secret.get("value").is_none(),
            "Key Vault references only: {secret:?}"
        );
        assert!(secret["keyVaultUrl"].as_str().is_some());
    }
    assert_eq!(app["properties"]["template"]["scale"]["minReplicas"], 3);
    assert_eq!(app["properties"]["template"]["scale"]["maxReplicas"], 20);
}

#[test]
fn the_dockerfile_builds_the_workspace_the_readme_builds() {
    let readme = read(&repository_root().join("README.md"));
    assert!(
        readme.contains("cargo build --workspace"),
        "the README's build"
    );
    let dockerfile = read(&deploy().join("Dockerfile"));
    let build_line = dockerfile
        .lines()
        .find(|line| line.contains("cargo build"))
        .expect("a cargo build step");
    assert!(
        build_line.contains("cargo build --workspace"),
        "{build_line}"
    );
    assert!(build_line.contains("--locked"), "{build_line}");
    assert!(
        dockerfile.contains("COPY . ."),
        "the whole workspace is the build input"
    );
    assert!(
        dockerfile.contains("entmoot-plugin-runner"),
        "the plugin runner ships"
    );
    assert!(
        dockerfile.contains("libentmoot_strategy_"),
        "the built-in strategies ship"
    );
    let stages = dockerfile
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .count();
    assert!(stages >= 2, "multi-stage");
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("a USER");
    assert!(!["root", "0"].contains(&user.trim()), "runs as {user}");
    assert!(dockerfile.contains("HEALTHCHECK"), "a health check");
    assert!(dockerfile.contains("/health/live"), "on liveness");
    // COPY sources (outside --from stages) exist in the build context.
    for line in dockerfile
        .lines()
        .filter(|line| line.starts_with("COPY ") && !line.contains("--from"))
    {
        let source = line.split_whitespace().nth(1).unwrap();
        assert!(repository_root().join(source).exists(), "COPY {source}");
    }
    // The build context keeps every workspace member.
    let ignore = read(&deploy().join("Dockerfile.dockerignore"));
    let manifest: toml_members::Members = toml_members::read(&repository_root().join("Cargo.toml"));
    for member in manifest.0 {
        for pattern in ignore
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        {
            let pattern = pattern.trim().trim_start_matches("**/");
            assert!(
                !member.starts_with(pattern) && member != pattern,
                "Dockerfile.dockerignore excludes workspace member {member} ({pattern})"
            );
        }
    }
}

/// Reads `[workspace] members` without a TOML dependency (one quoted path per line).
mod toml_members {
    use std::path::Path;

    pub struct Members(pub Vec<String>);

    pub fn read(path: &Path) -> Members {
        let text = std::fs::read_to_string(path).expect("Cargo.toml");
        let start = text.find("members = [").expect("workspace members");
        let end = start + text[start..].find(']').expect("end of members");
        Members(
            text[start..end]
                .lines()
                .skip(1)
                .filter_map(|line| line.trim().strip_prefix('"'))
                .filter_map(|line| line.split('"').next())
                .map(str::to_owned)
                .collect(),
        )
    }
}
