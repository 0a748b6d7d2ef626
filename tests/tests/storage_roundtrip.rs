//! Object storage round trips through `entmoot storage check` (the adapter the server
//! uses, configured by the variables of docs/configuration.md): write in chunks with a content type,
//! read back, stat, list, presign where the service offers it (the URL is fetched and
//! compared), delete — on fs, memory, S3 (moto), GCS (gcp-storage-emulator) and Azure
//! Blob (Azurite). tests/run starts the emulators and exports their endpoints; without
//! them these tests fail, they never skip.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use entmoot_tests::{required_env, run_entmoot};
use serde_json::Value;

/// The probe's bytes, as `entmoot storage check` writes them.
fn probe_payload() -> Vec<u8> {
    (0..300 * 1024usize)
        .map(|index| (index.wrapping_mul(31) ^ (index >> 8)) as u8)
        .collect()
}

fn storage(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> Value {
    let mut full = vec!["storage"];
    full.extend_from_slice(args);
    let output = run_entmoot(dir, env, &full);
    assert!(
        output.status.success(),
        "entmoot storage {args:?} with {}: {}",
        env.get("STORAGE_PROVIDER").map_or("?", String::as_str),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

fn env_of(pairs: &[(&str, String)], dir: &Path) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    env.insert("ENTMOOT_DATA_DIR".into(), dir.display().to_string());
    env
}

fn round_trip(dir: &Path, env: &HashMap<String, String>, provider: &str, must_presign: bool) {
    let report = storage(dir, env, &["check"]);
    assert_eq!(report["provider"], provider);
    assert_eq!(report["written"], 300 * 1024);
    assert_eq!(report["read_matches"], true);
    assert_eq!(report["stat"]["size"], 300 * 1024, "{report}");
    if provider != "fs" {
        assert_eq!(
            report["stat"]["content_type"], "application/octet-stream",
            "{report}"
        );
    }
    assert_eq!(report["listed"], true, "{report}");
    assert_eq!(report["deleted"], true);
    assert_eq!(report["missing_after_delete"], true, "{report}");

    // Presigned download, where offered: fetched like a browser would, then removed.
    let kept = storage(dir, env, &["check", "--keep"]);
    let key = kept["key"].as_str().unwrap().to_owned();
    match kept["presign"]["url"].as_str() {
        Some(url) => {
            let body = reqwest::blocking_get(url);
            assert_eq!(body.len(), 300 * 1024, "{provider}: presigned GET {url}");
            assert!(
                body == probe_payload(),
                "{provider}: presigned GET returned other bytes"
            );
        }
        None => assert!(
            !must_presign,
            "{provider} must offer presigned URLs: {}",
            kept["presign"]
        ),
    }
    let deleted = storage(dir, env, &["delete", &key]);
    assert_eq!(deleted["deleted"], key.as_str());
}

/// A tiny blocking GET for presigned URLs.
mod reqwest {
    pub fn blocking_get(url: &str) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let response = ::reqwest::get(url).await.expect("GET the presigned URL");
            assert!(
                response.status().is_success(),
                "GET {url}: {}",
                response.status()
            );
            response.bytes().await.unwrap().to_vec()
        })
    }
}

#[test]
fn local_disk_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(
        dir.path(),
        &env_of(&[("STORAGE_PROVIDER", "local".into())], dir.path()),
        "fs",
        false,
    );
    round_trip(
        dir.path(),
        &env_of(&[("STORAGE_PROVIDER", "memory".into())], dir.path()),
        "memory",
        false,
    );
}

#[test]
fn s3_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(
        &[
            ("STORAGE_PROVIDER", "aws".into()),
            ("AWS_S3_BUCKET", required_env("ENTMOOT_TEST_S3_BUCKET")),
            ("AWS_ENDPOINT_URL", required_env("ENTMOOT_TEST_S3_ENDPOINT")),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ],
        dir.path(),
    );
    round_trip(dir.path(), &env, "s3", true);
}

#[test]
fn gcs_on_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(
        &[
            ("STORAGE_PROVIDER", "gcp".into()),
            ("GCP_BUCKET_NAME", required_env("ENTMOOT_TEST_GCS_BUCKET")),
            (
                "STORAGE_EMULATOR_HOST",
                required_env("ENTMOOT_TEST_GCS_ENDPOINT"),
            ),
        ],
        dir.path(),
    );
    round_trip(dir.path(), &env, "gcs", false);
}

#[test]
fn azure_blob_on_azurite() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(
        &[
            ("STORAGE_PROVIDER", "azure".into()),
            (
                "AZURE_STORAGE_ACCOUNT_NAME",
                required_env("ENTMOOT_TEST_AZURE_ACCOUNT"),
            ),
            (
                "AZURE_STORAGE_ACCOUNT_KEY",
                required_env("ENTMOOT_TEST_AZURE_KEY"),
            ),
            (
                "AZURE_CONTAINER_NAME",
                required_env("ENTMOOT_TEST_AZURE_CONTAINER"),
            ),
            (
                "AZURE_STORAGE_ENDPOINT",
                required_env("ENTMOOT_TEST_AZURE_ENDPOINT"),
            ),
        ],
        dir.path(),
    );
    round_trip(dir.path(), &env, "azblob", false);
}

#[test]
fn a_bad_storage_configuration_fails_with_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[("STORAGE_PROVIDER", "aws".into())], dir.path());
    let output = run_entmoot(dir.path(), &env, &["storage", "check"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AWS_S3_BUCKET"), "{stderr}");
}
