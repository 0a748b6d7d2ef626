//! `entmoot storage check`: a round trip through the configured object store — write
//! (with a content type, in several chunks), read back, stat, presign where the service
//! offers it, list, delete — printed as JSON. Operators run it after configuring
//! STORAGE_PROVIDER; the storage tests run it against every backend and emulator.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use crate::adapters::storage::build_operator;
use crate::config::Settings;

/// Size of the probe object: several writer chunks.
const PROBE_BYTES: usize = 300 * 1024;
const CHUNK_BYTES: usize = 64 * 1024;

/// The probe's bytes: a fixed pattern, so a client of a presigned URL can compare.
pub fn probe_payload() -> Vec<u8> {
    (0..PROBE_BYTES)
        .map(|index| (index.wrapping_mul(31) ^ (index >> 8)) as u8)
        .collect()
}

pub async fn check(settings: Settings, keep: bool) -> anyhow::Result<()> {
    let provider = settings.storage.provider_name();
    let operator = build_operator(&settings.storage)?;
    let key = format!(".entmoot-check/{}.bin", uuid::Uuid::new_v4());
    let payload = probe_payload();

    let mut writer = operator
        .writer_with(&key)
        .content_type("application/octet-stream")
        .await
        .with_context(|| format!("{provider}: opening a writer for {key}"))?;
    for chunk in payload.chunks(CHUNK_BYTES) {
        writer
            .write(chunk.to_vec())
            .await
            .with_context(|| format!("{provider}: writing {key}"))?;
    }
    writer
        .close()
        .await
        .with_context(|| format!("{provider}: finishing {key}"))?;

    let read = operator
        .read(&key)
        .await
        .with_context(|| format!("{provider}: reading {key} back"))?
        .to_vec();
    if read != payload {
        bail!(
            "{provider}: {key} read back {} bytes that differ from the {} written",
            read.len(),
            payload.len()
        );
    }
    let stat = operator
        .stat(&key)
        .await
        .with_context(|| format!("{provider}: stat {key}"))?;
    let listed = operator
        .list(".entmoot-check/")
        .await
        .with_context(|| format!("{provider}: listing .entmoot-check/"))?
        .iter()
        .any(|entry| entry.path() == key);
    let capability = operator.info().capability();
    let presign = if capability.presign_read {
        match operator.presign_read(&key, Duration::from_secs(300)).await {
            Ok(request) => json!({"supported": true, "url": request.uri().to_string()}),
            Err(error) => json!({"supported": true, "error": error.to_string()}),
        }
    } else {
        json!({"supported": false})
    };
    let report = |deleted: bool, missing_after_delete: bool| {
        json!({
            "provider": provider,
            "key": key,
            "written": payload.len(),
            "read_matches": true,
            "stat": {
                "size": stat.content_length(),
                "content_type": stat.content_type(),
            },
            "listed": listed,
            "presign": presign,
            "deleted": deleted,
            "missing_after_delete": missing_after_delete,
        })
    };
    // `--keep` leaves the object for a client of the presigned URL, who then runs
    // `entmoot storage delete KEY`.
    if keep {
        println!("{}", serde_json::to_string_pretty(&report(false, false))?);
        return Ok(());
    }
    operator
        .delete(&key)
        .await
        .with_context(|| format!("{provider}: deleting {key}"))?;
    let missing = match operator.stat(&key).await {
        Err(error) if error.kind() == opendal::ErrorKind::NotFound => true,
        Ok(_) => false,
        Err(error) => return Err(error).with_context(|| format!("{provider}: stat after delete")),
    };
    println!("{}", serde_json::to_string_pretty(&report(true, missing))?);
    Ok(())
}

/// `entmoot storage delete KEY`.
pub async fn delete(settings: Settings, key: &str) -> anyhow::Result<()> {
    let provider = settings.storage.provider_name();
    let operator = build_operator(&settings.storage)?;
    operator
        .delete(key)
        .await
        .with_context(|| format!("{provider}: deleting {key}"))?;
    println!("{}", json!({"provider": provider, "deleted": key}));
    Ok(())
}
