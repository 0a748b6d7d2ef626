//! Object storage through opendal: local disk, memory, S3, GCS or Azure Blob.

use opendal::{Operator, services};

use crate::config::StorageSettings;

#[derive(Debug, thiserror::Error)]
#[error("STORAGE_PROVIDER={provider}: {reason}")]
pub struct StorageError {
    provider: &'static str,
    reason: String,
}

pub fn build_operator(settings: &StorageSettings) -> Result<Operator, StorageError> {
    // opendal's HTTP services (s3, gcs, azblob) need a process-wide HTTP transport; without
    // the facade's `auto-register-services` constructor it is installed here. It is reqwest
    // on rustls without a crypto provider of its own: it takes the process default, ring,
    // which `main` installs first (the one provider of the whole binary). Installing the
    // transport twice is harmless (the first install wins).
    opendal::HttpTransporter::install_default(
        opendal_http_transport_reqwest::ReqwestTransport::default(),
    );
    opendal::install_default();
    let provider = settings.provider_name();
    let fail = |error: opendal::Error| StorageError {
        provider,
        reason: error.to_string(),
    };
    let operator = match settings {
        StorageSettings::Filesystem { root } => {
            std::fs::create_dir_all(root).map_err(|error| StorageError {
                provider,
                reason: format!("cannot create {}: {error}", root.display()),
            })?;
            let root = root.canonicalize().map_err(|error| StorageError {
                provider,
                reason: format!("cannot resolve {}: {error}", root.display()),
            })?;
            Operator::new(services::Fs::default().root(&root.to_string_lossy())).map_err(fail)?
        }
        StorageSettings::Memory => Operator::new(services::Memory::default()).map_err(fail)?,
        StorageSettings::S3 {
            bucket,
            region,
            endpoint,
            access_key_id,
            secret_access_key,
            ..
        } => {
            let mut builder = services::S3::default().bucket(bucket).region(region);
            if let Some(endpoint) = endpoint {
                builder = builder.endpoint(endpoint);
            }
            if let Some(key) = access_key_id {
                builder = builder.access_key_id(key.expose());
            }
            if let Some(secret) = secret_access_key {
                builder = builder.secret_access_key(secret.expose());
            }
            Operator::new(builder).map_err(fail)?
        }
        StorageSettings::Gcs {
            bucket,
            credentials_path,
            endpoint,
            ..
        } => {
            let mut builder = services::Gcs::default().bucket(bucket);
            if let Some(path) = credentials_path {
                builder = builder.credential_path(&path.to_string_lossy());
            }
            if let Some(endpoint) = endpoint {
                let endpoint = if endpoint.starts_with("http") {
                    endpoint.clone()
                } else {
                    format!("http://{endpoint}")
                };
                builder = builder
                    .endpoint(&endpoint)
                    .skip_signature()
                    .disable_vm_metadata()
                    .disable_config_load();
            }
            Operator::new(builder).map_err(fail)?
        }
        StorageSettings::AzureBlob {
            account_name,
            account_key,
            container,
            endpoint,
        } => {
            let endpoint = endpoint
                .clone()
                .unwrap_or_else(|| format!("https://{account_name}.blob.core.windows.net"));
            let mut builder = services::Azblob::default()
                .container(container)
                .account_name(account_name)
                .endpoint(&endpoint);
            if let Some(key) = account_key {
                builder = builder.account_key(key.expose());
            }
            Operator::new(builder).map_err(fail)?
        }
    };
    Ok(operator)
}

/// Writes, reads back and deletes a small object: the storage check of /health.
pub async fn probe(operator: &Operator) -> Result<(), opendal::Error> {
    let key = format!(".health/{}", uuid::Uuid::new_v4());
    operator
        .write_with(&key, b"ok".to_vec())
        .content_type("text/plain")
        .await?;
    let read = operator.read(&key).await?;
    operator.delete(&key).await?;
    if read.to_vec() != b"ok" {
        return Err(opendal::Error::new(
            opendal::ErrorKind::Unexpected,
            "storage returned different bytes than were written",
        ));
    }
    Ok(())
}
