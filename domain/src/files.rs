//! Files: uploads (parcels and terrain) and exports, kept in object storage through
//! opendal and recorded in the `files` table.
//!
//! An upload is streamed into storage chunk by chunk, counted against the size limit
//! and hashed as it goes; its format is recognised by content (never by name), and
//! after the last chunk it is read as the parcel or DEM it claims to be. Whatever goes
//! wrong — over the limit, unknown content, a parcel that does not parse, a database
//! failure — the stored object is removed: nothing partial stays stored. Temporary
//! uploads expire (7 days by default); `cleanup_expired` removes them. Downloads use a
//! presigned URL where the service offers one (S3; GCS and Azure with suitable
//! credentials) and an authorized streaming route otherwise (`open_file`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entmoot_entities::{files, projects};
use futures::{Stream, StreamExt};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::caller::Caller;
use crate::layout_edits::{StoredLayout, StoredLayoutError, load_stored_layout};
use crate::secrets::hex;
use crate::sites::SiteError;
use entmoot_formats::export::{
    ExportError, ExportFormat, ExportInput, ExportOptions, export_layout,
};
use entmoot_formats::geotiff::{DemInfo, read_dem};
use entmoot_formats::{
    CandidateOutcome, ExclusionPick, ExclusionSelection, ImportError, ImportOptions, ImportedSite,
    SourceFormat, read_site_file_with, sniff,
};

/// How long a temporary upload is kept unless told otherwise.
pub const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Bytes buffered before the content is recognised.
const SNIFF_BYTES: usize = 8 * 1024;

/// Where files go and how big uploads may be (from the guide's variables:
/// AWS_S3_UPLOAD_PREFIX, AWS_S3_EXPORT_PREFIX, MAX_FILE_SIZE_MB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    pub upload_prefix: String,
    pub export_prefix: String,
    pub max_upload_bytes: u64,
    pub upload_ttl: Duration,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            upload_prefix: "uploads/".into(),
            export_prefix: "exports/".into(),
            max_upload_bytes: 500 * 1024 * 1024,
            upload_ttl: DEFAULT_UPLOAD_TTL,
        }
    }
}

/// What an upload is meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadPurpose {
    /// A parcel file (KML, KMZ, GeoJSON, zipped Shapefile, DXF).
    Parcel,
    /// A GeoTIFF DEM.
    Terrain,
}

impl UploadPurpose {
    /// The `files.kind` value.
    pub fn kind(self) -> &'static str {
        match self {
            UploadPurpose::Parcel => "upload",
            UploadPurpose::Terrain => "terrain",
        }
    }
}

/// A validated request to store an upload.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub project_id: Option<Uuid>,
    /// As the client named it; kept for downloads only (the format comes from content).
    pub filename: String,
    pub purpose: UploadPurpose,
    /// DXF CRS and boundary override, for parcels.
    pub import_options: ImportOptions,
    /// `None` keeps the file until it is deleted; `Some(ttl)` makes it temporary.
    pub ttl: Option<Duration>,
}

/// A stored upload and what it was read as.
#[derive(Debug, Clone)]
pub struct StoredUpload {
    pub file: files::Model,
    pub format: SourceFormat,
    /// For parcels.
    pub site: Option<ImportedSite>,
    /// For terrain.
    pub dem: Option<DemInfo>,
}

/// How a client fetches a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadUrl {
    /// Straight from the object store, until `expires_at`.
    Presigned {
        url: String,
        expires_at: DateTime<Utc>,
    },
    /// Through the API (the service offers no presigned URL): the route streams the
    /// file after checking the caller, e.g. `/files/{id}` with `open_file`.
    Route { file_id: Uuid },
}

/// Positions a parcel file declares, counted in one pass without parsing it: the
/// coordinate tuples of a KML's `<coordinates>` elements, the positions of a GeoJSON.
/// Other formats answer 0 and are counted once read.
fn declared_positions(format: SourceFormat, bytes: &[u8]) -> usize {
    match format {
        SourceFormat::Kml => {
            let mut count = 0;
            let mut rest = bytes;
            while let Some(start) = find(rest, b"coordinates>") {
                rest = &rest[start + b"coordinates>".len()..];
                let end = rest
                    .iter()
                    .position(|byte| *byte == b'<')
                    .unwrap_or(rest.len());
                count += rest[..end]
                    .split(|byte| byte.is_ascii_whitespace())
                    .filter(|tuple| !tuple.is_empty())
                    .count();
                rest = &rest[end..];
            }
            count
        }
        SourceFormat::GeoJson => serde_json::from_slice::<serde_json::Value>(bytes)
            .map(|value| crate::heavy_work::count_positions(&value))
            .unwrap_or(0),
        _ => 0,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Vertices of a site's boundary and exclusions.
fn site_vertices(site: &entmoot_plugin_sdk::site::Site) -> usize {
    use entmoot_plugin_sdk::geo::CoordsIter;
    site.boundary.coords_count()
        + site
            .exclusions
            .iter()
            .map(|exclusion| exclusion.geometry.coords_count())
            .sum::<usize>()
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("this caller may not store files")]
    Forbidden,
    #[error("no project with this id")]
    ProjectNotFound,
    #[error("no file with this id")]
    NotFound,
    #[error("no layout with this id")]
    LayoutNotFound,
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than the limit of {limit_mb} MiB (MAX_FILE_SIZE_MB)")]
    TooLarge { limit_mb: u64 },
    #[error(
        "`{filename}`: the content is not a file Entmoot reads ({expected}); it was recognised by its content, not its name"
    )]
    UnrecognisedContent {
        filename: String,
        expected: &'static str,
    },
    #[error("`{filename}`: {source}")]
    Import {
        filename: String,
        #[source]
        source: ImportError,
    },
    #[error("reading the upload failed after {received} bytes: {reason}")]
    Upload { received: u64, reason: String },
    #[error("the stored layout cannot be exported: {0}")]
    Layout(String),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("object storage failed on `{key}`: {source}")]
    Storage {
        key: String,
        #[source]
        source: opendal::Error,
    },
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    HeavyWork(#[from] crate::heavy_work::HeavyWorkError),
    #[error(
        "`{filename}`: the site has {vertices} vertices; at most {} are accepted",
        crate::heavy_work::MAX_SITE_VERTICES
    )]
    TooManyVertices { filename: String, vertices: usize },
    #[error("file {file_id} is not a parcel upload (it is a {kind} file)")]
    NotAParcel { file_id: Uuid, kind: String },
    #[error(transparent)]
    SiteInput(#[from] crate::sites::SiteInputError),
    #[error("reading or writing files failed")]
    Database(#[from] DbErr),
}

fn storage_error(key: &str) -> impl FnOnce(opendal::Error) -> FileError + '_ {
    move |source| FileError::Storage {
        key: key.to_owned(),
        source,
    }
}

/// A file name safe in a storage key: letters, digits, `.`, `-` and `_`, at most 100.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

fn key_for(prefix: &str, organization_id: Uuid, file_id: Uuid, filename: &str) -> String {
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    };
    format!(
        "{prefix}{organization_id}/{file_id}/{}",
        safe_file_name(filename)
    )
}

async fn check_project(
    database: &DatabaseConnection,
    caller: &Caller,
    project_id: Option<Uuid>,
) -> Result<(), FileError> {
    if let Some(project_id) = project_id {
        projects::Entity::find_by_id(project_id)
            .filter(projects::Column::OrganizationId.eq(caller.organization_id))
            .one(database)
            .await?
            .ok_or(FileError::ProjectNotFound)?;
    }
    Ok(())
}

/// Removes an object after a failure; a failed removal is logged, the original error
/// is what the caller sees.
async fn discard(storage: &opendal::Operator, key: &str) {
    if let Err(error) = storage.delete(key).await {
        tracing::warn!(key, %error, "could not remove a refused upload from storage");
    }
}

/// Streams an upload into storage, checks it by content, reads it, and records it.
pub async fn store_upload<S, C, E>(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    settings: &FileSettings,
    upload: NewUpload,
    mut body: S,
) -> Result<StoredUpload, FileError>
where
    S: Stream<Item = Result<C, E>> + Unpin,
    C: AsRef<[u8]>,
    E: std::fmt::Display,
{
    if !caller.can_write() {
        return Err(FileError::Forbidden);
    }
    check_project(database, caller, upload.project_id).await?;
    let limit = settings.max_upload_bytes;
    let too_large = || FileError::TooLarge {
        limit_mb: limit.div_ceil(1024 * 1024),
    };
    let mut received: u64 = 0;
    let mut hasher = Sha256::new();
    // Recognise the content from its first bytes before anything is stored.
    let mut head: Vec<u8> = Vec::new();
    let mut ended = false;
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            None => {
                ended = true;
                break;
            }
            Some(Err(error)) => {
                return Err(FileError::Upload {
                    received,
                    reason: error.to_string(),
                });
            }
            Some(Ok(chunk)) => {
                let chunk = chunk.as_ref();
                received += chunk.len() as u64;
                if received > limit {
                    return Err(too_large());
                }
                head.extend_from_slice(chunk);
            }
        }
    }
    if head.iter().all(u8::is_ascii_whitespace) && ended {
        return Err(FileError::Empty);
    }
    let expected = match upload.purpose {
        UploadPurpose::Parcel => "KML, KMZ, GeoJSON, a zipped Shapefile or DXF",
        UploadPurpose::Terrain => "a GeoTIFF DEM",
    };
    let unrecognised = || FileError::UnrecognisedContent {
        filename: upload.filename.clone(),
        expected,
    };
    // A zip's entries are listed at its end: recognise it as a zip now, as KMZ or
    // Shapefile once it is complete.
    let is_zip = head.starts_with(b"PK\x03\x04");
    let first_guess = if is_zip { None } else { sniff(&head) };
    let acceptable = match (upload.purpose, first_guess) {
        (UploadPurpose::Terrain, Some(SourceFormat::GeoTiff)) => true,
        (UploadPurpose::Parcel, Some(format)) => format != SourceFormat::GeoTiff,
        (UploadPurpose::Parcel, None) => is_zip,
        (UploadPurpose::Terrain, _) => false,
    };
    if !acceptable {
        return Err(unrecognised());
    }
    let content_type = first_guess.map_or("application/zip", SourceFormat::content_type);

    let file_id = Uuid::now_v7();
    let prefix = &settings.upload_prefix;
    let key = key_for(prefix, caller.organization_id, file_id, &upload.filename);
    let mut writer = storage
        .writer_with(&key)
        .content_type(content_type)
        .await
        .map_err(storage_error(&key))?;
    hasher.update(&head);
    let mut failure: Option<FileError> = None;
    if let Err(source) = writer.write(head).await {
        failure = Some(FileError::Storage {
            key: key.clone(),
            source,
        });
    }
    while failure.is_none() && !ended {
        match body.next().await {
            None => ended = true,
            Some(Err(error)) => {
                failure = Some(FileError::Upload {
                    received,
                    reason: error.to_string(),
                });
            }
            Some(Ok(chunk)) => {
                let chunk = chunk.as_ref();
                received += chunk.len() as u64;
                if received > limit {
                    failure = Some(too_large());
                    break;
                }
                hasher.update(chunk);
                if let Err(source) = writer.write(chunk.to_vec()).await {
                    failure = Some(FileError::Storage {
                        key: key.clone(),
                        source,
                    });
                }
            }
        }
    }
    if let Some(error) = failure {
        if let Err(abort_error) = writer.abort().await {
            tracing::debug!(key, %abort_error, "aborting the upload writer failed");
        }
        discard(storage, &key).await;
        return Err(error);
    }
    if let Err(source) = writer.close().await {
        discard(storage, &key).await;
        return Err(FileError::Storage { key, source });
    }

    // Read it as what it claims to be; refuse (and remove) it otherwise.
    let checked = async {
        let bytes = storage
            .read(&key)
            .await
            .map_err(storage_error(&key))?
            .to_vec();
        let format = sniff(&bytes).ok_or_else(unrecognised)?;
        let import_error = |source| FileError::Import {
            filename: upload.filename.clone(),
            source,
        };
        match upload.purpose {
            UploadPurpose::Parcel => {
                // Reading and repairing a large file is CPU work: off the request
                // thread, within the budget. Its time grows faster than the file, so
                // the vertices it declares are counted first, in one pass.
                let options = upload.import_options.clone();
                let filename = upload.filename.clone();
                let site = crate::heavy_work::off_the_request_thread(move || {
                    let declared = declared_positions(format, &bytes);
                    if declared > crate::heavy_work::MAX_SITE_VERTICES {
                        return Err(FileError::TooManyVertices {
                            filename,
                            vertices: declared,
                        });
                    }
                    read_site_file_with(&bytes, &options)
                        .map_err(|source| FileError::Import { filename, source })
                })
                .await??;
                let vertices = site_vertices(&site.site);
                if vertices > crate::heavy_work::MAX_SITE_VERTICES {
                    return Err(FileError::TooManyVertices {
                        filename: upload.filename.clone(),
                        vertices,
                    });
                }
                Ok((format, Some(site), None))
            }
            UploadPurpose::Terrain => {
                let (_, info) = read_dem(&bytes).map_err(import_error)?;
                Ok((format, None, Some(info)))
            }
        }
    }
    .await;
    let (format, site, dem) = match checked {
        Ok(found) => found,
        Err(error) => {
            discard(storage, &key).await;
            return Err(error);
        }
    };
    let now = Utc::now();
    let recorded = files::ActiveModel {
        id: Set(file_id),
        organization_id: Set(caller.organization_id),
        project_id: Set(upload.project_id),
        kind: Set(upload.purpose.kind().to_owned()),
        filename: Set(upload.filename.clone()),
        content_type: Set(format.content_type().to_owned()),
        size_bytes: Set(received as i64),
        storage_key: Set(key.clone()),
        sha256: Set(hex(&hasher.finalize())),
        expires_at: Set(upload
            .ttl
            .and_then(|ttl| chrono::Duration::from_std(ttl).ok())
            .map(|ttl| now + ttl)),
        created_at: Set(now),
    }
    .insert(database)
    .await;
    match recorded {
        Ok(file) => Ok(StoredUpload {
            file,
            format,
            site,
            dem,
        }),
        Err(error) => {
            discard(storage, &key).await;
            Err(error.into())
        }
    }
}

/// Stores finished bytes (an export) and records them.
#[allow(clippy::too_many_arguments)]
pub async fn store_export(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    settings: &FileSettings,
    project_id: Option<Uuid>,
    filename: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<files::Model, FileError> {
    if !caller.can_write() {
        return Err(FileError::Forbidden);
    }
    check_project(database, caller, project_id).await?;
    let file_id = Uuid::now_v7();
    let key = key_for(
        &settings.export_prefix,
        caller.organization_id,
        file_id,
        filename,
    );
    let size = bytes.len() as i64;
    let sha256 = hex(&Sha256::digest(&bytes));
    storage
        .write_with(&key, bytes)
        .content_type(content_type)
        .await
        .map_err(storage_error(&key))?;
    let recorded = files::ActiveModel {
        id: Set(file_id),
        organization_id: Set(caller.organization_id),
        project_id: Set(project_id),
        kind: Set("export".into()),
        filename: Set(filename.to_owned()),
        content_type: Set(content_type.to_owned()),
        size_bytes: Set(size),
        storage_key: Set(key.clone()),
        sha256: Set(sha256),
        expires_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(database)
    .await;
    match recorded {
        Ok(file) => Ok(file),
        Err(error) => {
            discard(storage, &key).await;
            Err(error.into())
        }
    }
}

/// Exports a stored layout (re-preparing its problem from the job's site and program)
/// in `format`, stores the file and records it.
pub async fn export_stored_layout(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    settings: &FileSettings,
    layout_id: Uuid,
    format: ExportFormat,
    options: &ExportOptions,
) -> Result<files::Model, FileError> {
    let StoredLayout {
        row,
        job,
        site_row,
        problem,
        layout,
        metrics,
    } = load_stored_layout(database, storage, caller, layout_id)
        .await
        .map_err(|error| match error {
            StoredLayoutError::NotFound => FileError::LayoutNotFound,
            StoredLayoutError::Site(error) => FileError::Site(error),
            StoredLayoutError::Database(error) => FileError::Database(error),
            StoredLayoutError::Unreadable(reason) => FileError::Layout(reason),
            StoredLayoutError::Terrain(error) => FileError::Layout(error.to_string()),
            StoredLayoutError::HeavyWork(error) => FileError::HeavyWork(error),
        })?;
    let title = format!(
        "{} - layout {} of job {}",
        site_row.name,
        row.rank + 1,
        job.id
    );
    // Rendering (PDF, DXF, shapefile…) is CPU work that grows with the layout: off the
    // request thread, like every other piece of heavy geometry.
    let (earthwork, cost, owned_options) =
        (row.earthwork.clone(), row.cost.clone(), options.clone());
    // The day the layout was stored: the same file every time it is exported.
    let made_on = row.created_at.format("%Y-%m-%d").to_string();
    let bytes = crate::heavy_work::off_the_request_thread(move || {
        let input = ExportInput {
            title: &title,
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: Some(&earthwork).filter(|value| !value.is_null()),
            cost: Some(&cost).filter(|value| !value.is_null()),
            made_on: Some(&made_on),
        };
        export_layout(format, &input, &owned_options)
    })
    .await??;
    let filename = format!(
        "{}-layout-{}{}",
        crate::files::safe_file_name(&site_row.name),
        row.rank + 1,
        format.extension()
    );
    store_export(
        database,
        storage,
        caller,
        settings,
        Some(job.project_id),
        &filename,
        format.content_type(),
        bytes,
    )
    .await
}

/// A site made from a stored parcel upload, as the user settled it after `uploadParcel`:
/// the boundary choice and CRS, and the exclusion candidates picked with their kind and
/// buffer.
#[derive(Debug, Clone)]
pub struct SiteFromUpload {
    pub file_id: Uuid,
    pub name: String,
    /// The CRS and boundary choice the file is read again with.
    pub import_options: ImportOptions,
    /// The candidates (by index among the upload's exclusion candidates, or by name) to
    /// keep as exclusion zones.
    pub exclusions: Vec<ExclusionPick>,
    pub entrances: Vec<entmoot_plugin_sdk::geo::Coord<f64>>,
}

/// Creates a site of the upload's project from a stored parcel upload: the file is read
/// again (the same reader as the upload, so the same candidates in the same order), the
/// picked candidates become exclusion zones, and the site is stored. Returns the site
/// and what became of each candidate.
pub async fn create_site_from_upload(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    request: SiteFromUpload,
) -> Result<(entmoot_entities::sites::Model, Vec<CandidateOutcome>), FileError> {
    if !caller.can_write() {
        return Err(FileError::Forbidden);
    }
    let file = find_file(database, caller, request.file_id).await?;
    let Some(project_id) = file
        .project_id
        .filter(|_| file.kind == UploadPurpose::Parcel.kind())
    else {
        return Err(FileError::NotAParcel {
            file_id: file.id,
            kind: file.kind,
        });
    };
    let bytes = storage
        .read(&file.storage_key)
        .await
        .map_err(storage_error(&file.storage_key))?
        .to_vec();
    let import_error = |source| FileError::Import {
        filename: file.filename.clone(),
        source,
    };
    let imported = read_site_file_with(&bytes, &request.import_options).map_err(import_error)?;
    let (mut site, outcomes) = imported
        .site_with_exclusions(&ExclusionSelection::Picked(request.exclusions))
        .map_err(import_error)?;
    site.entrances = request.entrances;
    let new_site = crate::sites::NewSite::parse(project_id, &request.name, site)?;
    let stored = crate::sites::create_site(database, caller, new_site).await?;
    Ok((stored, outcomes))
}

/// A file of the caller's organization.
pub async fn find_file(
    database: &DatabaseConnection,
    caller: &Caller,
    file_id: Uuid,
) -> Result<files::Model, FileError> {
    files::Entity::find_by_id(file_id)
        .filter(files::Column::OrganizationId.eq(caller.organization_id))
        .one(database)
        .await?
        .ok_or(FileError::NotFound)
}

/// How to download a file: a presigned URL valid for `ttl` where the service offers
/// one, else the API route.
pub async fn download_url(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    file_id: Uuid,
    ttl: Duration,
) -> Result<(files::Model, DownloadUrl), FileError> {
    let file = find_file(database, caller, file_id).await?;
    if !storage.info().capability().presign_read {
        return Ok((file, DownloadUrl::Route { file_id }));
    }
    match storage.presign_read(&file.storage_key, ttl).await {
        Ok(request) => {
            let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
            let url = request.uri().to_string();
            Ok((file, DownloadUrl::Presigned { url, expires_at }))
        }
        // Presigning can need credentials the deployment lacks (e.g. Azure without a
        // key): fall back to the route rather than failing the download.
        Err(error) => {
            tracing::debug!(file = %file_id, %error, "presigning failed; serving through the API");
            Ok((file, DownloadUrl::Route { file_id }))
        }
    }
}

/// Opens a file of the caller's organization for streaming (the download route).
pub async fn open_file(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    file_id: Uuid,
) -> Result<(files::Model, opendal::Reader), FileError> {
    let file = find_file(database, caller, file_id).await?;
    let reader = storage
        .reader(&file.storage_key)
        .await
        .map_err(storage_error(&file.storage_key))?;
    Ok((file, reader))
}

/// Opens a file by id alone, for a signed download link: the signature stands for the
/// authorization checked when the link was issued (`domain::download_links`).
pub async fn open_linked_file(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    file_id: Uuid,
) -> Result<(files::Model, opendal::Reader), FileError> {
    let file = files::Entity::find_by_id(file_id)
        .one(database)
        .await?
        .ok_or(FileError::NotFound)?;
    let reader = storage
        .reader(&file.storage_key)
        .await
        .map_err(storage_error(&file.storage_key))?;
    Ok((file, reader))
}

/// Deletes a file: the object, then its row.
pub async fn delete_file(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    caller: &Caller,
    file_id: Uuid,
) -> Result<(), FileError> {
    if !caller.can_write() {
        return Err(FileError::Forbidden);
    }
    let file = find_file(database, caller, file_id).await?;
    storage
        .delete(&file.storage_key)
        .await
        .map_err(storage_error(&file.storage_key))?;
    files::Entity::delete_by_id(file.id).exec(database).await?;
    Ok(())
}

/// What `cleanup_expired` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub deleted: usize,
    /// Files whose object could not be removed (kept, to be tried again).
    pub failed: Vec<Uuid>,
}

/// Removes every file whose `expires_at` is before `now` (objects first, then rows;
/// a file whose object cannot be removed is kept for the next run). Run it
/// periodically (the worker loop is a natural place).
pub async fn cleanup_expired(
    database: &DatabaseConnection,
    storage: &opendal::Operator,
    now: DateTime<Utc>,
) -> Result<CleanupReport, FileError> {
    let expired = files::Entity::find()
        .filter(files::Column::ExpiresAt.lt(now))
        .all(database)
        .await?;
    let mut report = CleanupReport::default();
    for file in expired {
        match storage.delete(&file.storage_key).await {
            Ok(()) => {
                files::Entity::delete_by_id(file.id).exec(database).await?;
                report.deleted += 1;
            }
            Err(error) => {
                tracing::warn!(file = %file.id, key = file.storage_key, %error, "could not remove an expired file");
                report.failed.push(file.id);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Role;
    use sea_orm::Database;
    use sea_orm_migration::MigratorTrait;

    async fn setup() -> (DatabaseConnection, opendal::Operator, Caller) {
        let database = Database::connect("sqlite::memory:").await.unwrap();
        entmoot_migrations::Migrator::up(&database, None)
            .await
            .unwrap();
        let organization_id = crate::organizations::ensure_organization(&database, "test", "Test")
            .await
            .unwrap();
        let storage = opendal::Operator::new(opendal::services::Memory::default()).unwrap();
        (
            database,
            storage,
            Caller::acting_for(organization_id, Role::Editor),
        )
    }

    fn chunks(
        bytes: &[u8],
        size: usize,
    ) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Unpin {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            bytes.chunks(size).map(|c| Ok(c.to_vec())).collect();
        futures::stream::iter(chunks)
    }

    fn upload(filename: &str, purpose: UploadPurpose) -> NewUpload {
        NewUpload {
            project_id: None,
            filename: filename.into(),
            purpose,
            import_options: ImportOptions::default(),
            ttl: Some(DEFAULT_UPLOAD_TTL),
        }
    }

    async fn object_count(storage: &opendal::Operator) -> usize {
        storage
            .list_with("/")
            .recursive(true)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .count()
    }

    #[tokio::test]
    async fn stores_checks_records_and_expires_an_upload() {
        let (database, storage, caller) = setup().await;
        let kml = include_bytes!("../../tests/fixtures/rural_demo.kml");
        // Named .txt: the content decides.
        let stored = store_upload(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            upload("parcel.txt", UploadPurpose::Parcel),
            chunks(kml, 1000),
        )
        .await
        .unwrap();
        assert_eq!(stored.format, SourceFormat::Kml);
        assert_eq!(stored.file.size_bytes as usize, kml.len());
        assert_eq!(stored.file.sha256, hex(&Sha256::digest(kml)));
        assert_eq!(
            stored.file.content_type,
            "application/vnd.google-earth.kml+xml"
        );
        assert!(
            stored
                .file
                .storage_key
                .starts_with(&format!("uploads/{}/", caller.organization_id))
        );
        assert!(stored.site.is_some());
        assert_eq!(
            storage
                .read(&stored.file.storage_key)
                .await
                .unwrap()
                .to_vec(),
            kml
        );
        // Memory storage has no presigned URLs: the download goes through the API.
        let (_, url) = download_url(
            &database,
            &storage,
            &caller,
            stored.file.id,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(
            url,
            DownloadUrl::Route {
                file_id: stored.file.id
            }
        );
        // Another organization cannot see it.
        let stranger = Caller::acting_for(Uuid::now_v7(), Role::Admin);
        assert!(matches!(
            find_file(&database, &stranger, stored.file.id).await,
            Err(FileError::NotFound)
        ));
        // Not expired yet; expired in 8 days.
        assert_eq!(
            cleanup_expired(&database, &storage, Utc::now())
                .await
                .unwrap()
                .deleted,
            0
        );
        let later = Utc::now() + chrono::Duration::days(8);
        assert_eq!(
            cleanup_expired(&database, &storage, later)
                .await
                .unwrap()
                .deleted,
            1
        );
        assert_eq!(object_count(&storage).await, 0);
        assert!(matches!(
            find_file(&database, &caller, stored.file.id).await,
            Err(FileError::NotFound)
        ));
    }

    #[tokio::test]
    async fn refusals_leave_nothing_stored() {
        let (database, storage, caller) = setup().await;
        let small = FileSettings {
            max_upload_bytes: 10_000,
            ..FileSettings::default()
        };
        let big = format!("<kml>{}</kml>", " ".repeat(20_000));
        let error = store_upload(
            &database,
            &storage,
            &caller,
            &small,
            upload("big.kml", UploadPurpose::Parcel),
            chunks(big.as_bytes(), 3000),
        )
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("larger than the limit of 1 MiB"),
            "{error}"
        );
        let error = store_upload(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            upload("x.kml", UploadPurpose::Parcel),
            chunks(b"%PDF-1.4 not a parcel", 7),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, FileError::UnrecognisedContent { .. }),
            "{error}"
        );
        let malformed = include_bytes!("../../tests/fixtures/malformed.kml");
        let error = store_upload(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            upload("bad.kml", UploadPurpose::Parcel),
            chunks(malformed, 100),
        )
        .await
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`bad.kml`: KML is not well-formed"),
            "{error}"
        );
        let kml = include_bytes!("../../tests/fixtures/simple.kml");
        let error = store_upload(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            upload("dem.tif", UploadPurpose::Terrain),
            chunks(kml, 100),
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("a GeoTIFF DEM"), "{error}");
        let failing = futures::stream::iter(vec![
            Ok(b"<kml>".to_vec()),
            Err(std::io::Error::other("connection reset")),
        ]);
        let error = store_upload(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            upload("cut.kml", UploadPurpose::Parcel),
            failing,
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("connection reset"), "{error}");
        assert_eq!(object_count(&storage).await, 0);
        assert_eq!(files::Entity::find().all(&database).await.unwrap().len(), 0);
        let viewer = Caller {
            role: Role::Viewer,
            ..caller.clone()
        };
        assert!(matches!(
            store_upload(
                &database,
                &storage,
                &viewer,
                &FileSettings::default(),
                upload("x.kml", UploadPurpose::Parcel),
                chunks(kml, 100)
            )
            .await,
            Err(FileError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn stores_terrain_and_exports() {
        let (database, storage, caller) = setup().await;
        let dem = entmoot_plugin_sdk::geotiff::Dem {
            width: 2,
            height: 2,
            values: vec![1.0, 2.0, 3.0, 4.0],
            crs: entmoot_plugin_sdk::geotiff::DemCrs::Utm {
                zone: 13,
                south: false,
            },
            origin: [637_600.0, 4_357_000.0],
            pixel: [10.0, 10.0],
        };
        let bytes = dem.to_geotiff().unwrap();
        let stored = store_upload(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            upload("dem.bin", UploadPurpose::Terrain),
            chunks(&bytes, 50),
        )
        .await
        .unwrap();
        assert_eq!(stored.file.kind, "terrain");
        assert_eq!(stored.dem.unwrap().epsg, 32613);
        let export = store_export(
            &database,
            &storage,
            &caller,
            &FileSettings::default(),
            None,
            "../plan 1.pdf",
            "application/pdf",
            b"%PDF-1.4".to_vec(),
        )
        .await
        .unwrap();
        assert!(
            export.storage_key.starts_with("exports/")
                && export.storage_key.ends_with("/plan_1.pdf"),
            "{}",
            export.storage_key
        );
        assert_eq!(export.expires_at, None);
        delete_file(&database, &storage, &caller, export.id)
            .await
            .unwrap();
        assert!(!storage.exists(&export.storage_key).await.unwrap());
    }
}
