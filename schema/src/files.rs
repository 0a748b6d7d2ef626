//! Files over GraphQL: parcel and terrain uploads (multipart requests, streamed into
//! storage and read by content), layout exports, and download links.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use futures::stream;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::errors::IntoGraphqlError;
use crate::query::{app, caller};
use crate::scalars::GeoJson;
use entmoot_domain::download_links::download_link;
use entmoot_domain::files::{
    DownloadUrl, FileSettings, NewUpload, SiteFromUpload, StoredUpload, UploadPurpose,
    create_site_from_upload, download_url, export_stored_layout, store_upload,
};
use entmoot_domain::ids::{decode_typed_id, encode_global_id};
use entmoot_formats::{BoundaryChoice, Crs, ExclusionPick, ImportOptions};
use entmoot_plugin_sdk::program::ExclusionKind;

use crate::types::SiteNode;
use entmoot_formats::export::{DrawingUnits, ExportFormat, ExportOptions};

/// How long a download link stays valid.
const DOWNLOAD_LINK_SECONDS: i64 = 15 * 60;
const READ_CHUNK_BYTES: usize = 64 * 1024;

pub struct FileNode(pub entmoot_entities::files::Model);

/// A stored file: an upload or an export.
#[Object(name = "File")]
impl FileNode {
    /// The file's global id.
    async fn id(&self) -> ID {
        ID(encode_global_id("File", self.0.id))
    }
    /// `upload`, `terrain` or `export`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The name it was uploaded or exported under.
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    /// Its media type, e.g. `application/vnd.google-earth.kml+xml`.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Its size in bytes.
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// The SHA-256 of its bytes, hexadecimal.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// When a temporary upload is removed; null for files kept until deleted.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// When it was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A polygon of an uploaded file that was not taken as the boundary.
#[derive(SimpleObject)]
pub struct ExclusionCandidate {
    /// The name the file gave the polygon, if any.
    pub name: Option<String>,
    /// Where in the file it is, e.g. `Placemark "Pond" (#3)`.
    pub location: String,
    /// The exclusion kind its name suggests (wetland, easement, …), if any.
    pub suggested_kind: Option<String>,
    /// A Polygon or, for a multi-part feature, a MultiPolygon.
    pub polygon: GeoJson,
}

/// What an uploaded parcel file was read as. The frontend shows the boundary and the
/// candidates, lets the planner change the choice, and creates the site from them.
#[derive(SimpleObject)]
pub struct UploadedParcel {
    /// The stored upload.
    pub file: FileNode,
    /// kml, kmz, geojson, shapefile_zip, geopackage or dxf, recognised by content.
    pub format: String,
    /// The polygon taken as the parcel boundary, GeoJSON in WGS84.
    pub boundary: GeoJson,
    /// Why that polygon was taken (by name, by layer, the largest, …).
    pub boundary_reason: String,
    /// Where in the file the boundary is, e.g. `Placemark \"Parcel\" (#1)`.
    pub boundary_location: String,
    /// The coordinate reference system the file was in, before conversion to WGS84.
    pub source_crs: String,
    /// Each repair made to the geometry, in file order.
    pub repairs: Vec<String>,
    /// The file's other polygons, which the planner may turn into exclusion zones.
    pub exclusion_candidates: Vec<ExclusionCandidate>,
}

/// What an uploaded GeoTIFF DEM was read as.
#[derive(SimpleObject)]
pub struct UploadedTerrain {
    /// The stored upload.
    pub file: FileNode,
    /// Size, resolution, CRS and bounds of the DEM.
    pub summary: Json<serde_json::Value>,
}

/// The file formats a layout can be exported to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ExportFormat")]
pub enum ExportFormatChoice {
    /// RFC 7946 GeoJSON, WGS84.
    Geojson,
    /// KML for Google Earth and GIS tools.
    Kml,
    /// Zipped KML.
    Kmz,
    /// DXF for CAD, in UTM metres or feet (`dxfUnits`).
    Dxf,
    /// Zipped ESRI Shapefiles, one per layer, with `.prj`.
    ShapefileZip,
    /// An OGC GeoPackage (`.gpkg`): one file, a feature table per layer, WGS84.
    Geopackage,
    /// A plan drawing.
    Svg,
    /// A report: plan, metrics, cost and earthwork.
    Pdf,
    /// Entmoot's own layout file, which `entmoot export` turns into any other format later.
    LayoutJson,
}

impl From<ExportFormatChoice> for ExportFormat {
    fn from(choice: ExportFormatChoice) -> Self {
        match choice {
            ExportFormatChoice::Geojson => ExportFormat::GeoJson,
            ExportFormatChoice::Kml => ExportFormat::Kml,
            ExportFormatChoice::Kmz => ExportFormat::Kmz,
            ExportFormatChoice::Dxf => ExportFormat::Dxf,
            ExportFormatChoice::ShapefileZip => ExportFormat::ShapefileZip,
            ExportFormatChoice::Geopackage => ExportFormat::GeoPackage,
            ExportFormatChoice::Svg => ExportFormat::Svg,
            ExportFormatChoice::Pdf => ExportFormat::Pdf,
            ExportFormatChoice::LayoutJson => ExportFormat::LayoutJson,
        }
    }
}

/// The length unit of a DXF export.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum DxfUnits {
    /// Coordinates and sizes in metres.
    #[default]
    Metres,
    /// Coordinates and sizes in international feet.
    Feet,
}

/// A file and where to fetch it.
#[derive(SimpleObject)]
pub struct Download {
    /// The file.
    pub file: FileNode,
    /// A presigned object-store URL, or a signed path on this API (`/files/…`) to
    /// resolve against the API's base URL.
    pub url: String,
    /// When `url` stops working; ask `fileDownload` for a fresh one.
    pub expires_at: DateTime<Utc>,
}

async fn download_of(ctx: &Context<'_>, file_id: Uuid) -> Result<Download> {
    let app = app(ctx);
    let caller = caller(ctx)?;
    let ttl = std::time::Duration::from_secs(DOWNLOAD_LINK_SECONDS as u64);
    let (file, url) = download_url(&app.database, &app.storage, caller, file_id, ttl)
        .await
        .map_err(IntoGraphqlError::into_graphql_error)?;
    let (url, expires_at) = match url {
        DownloadUrl::Presigned { url, expires_at } => (url, expires_at),
        DownloadUrl::Route { file_id } => {
            let (path, expires) =
                download_link(&app.download_signing_key, file_id, DOWNLOAD_LINK_SECONDS);
            (
                path,
                DateTime::from_timestamp(expires, 0).unwrap_or_else(Utc::now),
            )
        }
    };
    Ok(Download {
        file: FileNode(file),
        url,
        expires_at,
    })
}

/// The upload's bytes as a stream of chunks, read from async-graphql's temporary file.
fn upload_chunks(
    upload: async_graphql::UploadValue,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Unpin {
    Box::pin(stream::unfold(
        Some(tokio::fs::File::from_std(upload.content)),
        |reader| async move {
            let mut reader = reader?;
            let mut buffer = vec![0u8; READ_CHUNK_BYTES];
            match reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    Some((Ok(buffer), Some(reader)))
                }
                Err(error) => Some((Err(error), None)),
            }
        },
    ))
}

async fn store(
    ctx: &Context<'_>,
    project_id: &ID,
    file: Upload,
    purpose: UploadPurpose,
    import_options: ImportOptions,
) -> Result<StoredUpload> {
    let caller = caller(ctx)?;
    let app = app(ctx);
    let project_id =
        decode_typed_id(project_id, "Project").map_err(IntoGraphqlError::into_graphql_error)?;
    let upload = file
        .value(ctx)
        .map_err(|error| async_graphql::Error::new(format!("reading the upload: {error}")))?;
    let settings: &FileSettings = &app.files;
    let new_upload = NewUpload {
        project_id: Some(project_id),
        filename: upload.filename.clone(),
        purpose,
        import_options,
        ttl: Some(settings.upload_ttl),
    };
    store_upload(
        &app.database,
        &app.storage,
        caller,
        settings,
        new_upload,
        upload_chunks(upload),
    )
    .await
    .map_err(IntoGraphqlError::into_graphql_error)
}

fn polygon_geojson(polygon: &geo_types::MultiPolygon<f64>) -> GeoJson {
    GeoJson(serde_json::to_value(geojson::Geometry::from(polygon)).unwrap_or_default())
}

/// The CRS and boundary choice of `uploadParcel` and `createSiteFromUpload`.
fn import_options(crs: Option<&str>, boundary: Option<&str>) -> Result<ImportOptions> {
    Ok(ImportOptions {
        crs: match crs {
            None => None,
            Some(text) => Some(Crs::parse_declared(text).map_err(|error| {
                crate::errors::asks_for_crs(crate::errors::coded_error(
                    crate::errors::ErrorCode::BadUserInput,
                    format!("crs: {error}"),
                ))
            })?),
        },
        boundary: boundary.map(|text| match text.parse::<usize>() {
            Ok(index) => BoundaryChoice::Index(index),
            Err(_) => BoundaryChoice::Name(text.to_owned()),
        }),
    })
}

/// An exclusion candidate of a parcel upload to keep as an exclusion zone.
#[derive(InputObject)]
pub struct PickedExclusionInput {
    /// Its 0-based index in `UploadedParcel.exclusionCandidates`.
    pub candidate: i32,
    /// wetland, easement, floodplain, utility, steep_slope, existing_structure or
    /// custom; the suggested kind (else custom) when omitted.
    pub kind: Option<String>,
    /// Metres kept free around it.
    #[graphql(default)]
    pub buffer_m: f64,
}

/// A new site from a parcel upload, with the exclusion candidates the planner picked.
#[derive(InputObject)]
pub struct CreateSiteFromUploadInput {
    /// The `File` of `uploadParcel`.
    pub file_id: ID,
    /// The site's name, 1 to 200 characters.
    pub name: String,
    /// As given to `uploadParcel`.
    pub crs: Option<String>,
    /// As given to `uploadParcel`.
    pub boundary: Option<String>,
    /// The candidates to keep as exclusion zones, each with its kind and buffer; the
    /// others are left out.
    #[graphql(default)]
    pub exclusions: Vec<PickedExclusionInput>,
    /// Entrances as `[longitude, latitude]`; one per part of the parcel is chosen when
    /// none is given.
    #[graphql(default)]
    pub entrances: Vec<Vec<f64>>,
}

/// What became of one exclusion candidate.
#[derive(SimpleObject)]
#[graphql(name = "ExclusionCandidateOutcome")]
pub struct CandidateOutcomeNode {
    /// The name the file gave the polygon, if any.
    pub name: Option<String>,
    /// Where in the file it is, e.g. `Placemark "Pond" (#3)`.
    pub location: String,
    /// The kind it was kept as; null when it was left out.
    pub kind: Option<String>,
    /// Metres kept free around it (0 when it was left out).
    pub buffer_m: f64,
    /// Why it was kept or left out, in words.
    pub reason: String,
}

/// A site created from an upload, and what became of each exclusion candidate.
#[derive(SimpleObject)]
pub struct SiteFromUploadResult {
    /// The new site.
    pub site: SiteNode,
    /// Every candidate of the file, in order.
    pub candidates: Vec<CandidateOutcomeNode>,
}

#[derive(Default)]
pub struct FileMutations;

#[Object]
impl FileMutations {
    /// Uploads a parcel file (KML, KMZ, GeoJSON, zipped Shapefile or DXF) as a
    /// multipart request; returns the boundary it found and the other polygons. `crs`
    /// declares the CRS of a file without one (DXF, a Shapefile without .prj, GeoJSON
    /// without a `crs` member): EPSG:32613, utm:13N, wgs84 or +proj=…; `boundary` takes
    /// that polygon (0-based index or name) as the boundary. `createSiteFromUpload`
    /// then makes the site.
    async fn upload_parcel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project the upload belongs to.")] project_id: ID,
        #[graphql(desc = "The file, as a GraphQL multipart upload.")] file: Upload,
        #[graphql(
            desc = "The CRS of a file that declares none (DXF, a Shapefile without .prj): EPSG:32613, utm:13N, wgs84 or a PROJ string. Without it such a file is refused with `extensions.field` = `crs`."
        )]
        crs: Option<String>,
        #[graphql(
            desc = "Which polygon is the boundary: its 0-based index or its name; chosen by the file's names or size when omitted."
        )]
        boundary: Option<String>,
    ) -> Result<UploadedParcel> {
        let options = import_options(crs.as_deref(), boundary.as_deref())?;
        let stored = store(ctx, &project_id, file, UploadPurpose::Parcel, options).await?;
        let format = stored.format.as_str().to_owned();
        let Some(imported) = stored.site else {
            return Err(async_graphql::Error::new("the upload held no parcel"));
        };
        let boundary = serde_json::to_value(geojson::Geometry::from(&imported.site.boundary))
            .unwrap_or_default();
        Ok(UploadedParcel {
            file: FileNode(stored.file),
            format,
            boundary: GeoJson(boundary),
            boundary_reason: imported.boundary_reason,
            boundary_location: imported.boundary_location,
            source_crs: imported.source_crs,
            repairs: imported.repairs.iter().map(ToString::to_string).collect(),
            exclusion_candidates: imported
                .exclusion_candidates
                .iter()
                .map(|candidate| ExclusionCandidate {
                    name: candidate.polygon.name.clone(),
                    location: candidate.polygon.location.clone(),
                    suggested_kind: candidate.suggested_kind.map(str::to_owned),
                    polygon: polygon_geojson(&candidate.polygon.geometry),
                })
                .collect(),
        })
    }

    /// Creates a site of the upload's project from a parcel upload (`uploadParcel`),
    /// with the exclusion candidates the planner picked, each with its kind and buffer.
    /// Candidates not picked are left out.
    async fn create_site_from_upload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The upload and the planner's choices.")] input: CreateSiteFromUploadInput,
    ) -> Result<SiteFromUploadResult> {
        let caller = caller(ctx)?;
        let app = app(ctx);
        let file_id = decode_typed_id(&input.file_id, "File")
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let mut exclusions = Vec::with_capacity(input.exclusions.len());
        for (index, picked) in input.exclusions.iter().enumerate() {
            let candidate = usize::try_from(picked.candidate).map_err(|_| {
                async_graphql::Error::new(format!(
                    "input.exclusions[{index}].candidate: must be a candidate's 0-based index"
                ))
            })?;
            let kind = match &picked.kind {
                None => None,
                Some(kind) => Some(
                    serde_json::from_value::<ExclusionKind>(serde_json::Value::String(
                        kind.clone(),
                    ))
                    .map_err(|_| {
                        async_graphql::Error::new(format!(
                            "input.exclusions[{index}].kind: `{kind}` is not an exclusion kind"
                        ))
                    })?,
                ),
            };
            exclusions.push(ExclusionPick {
                candidate: BoundaryChoice::Index(candidate),
                kind,
                buffer_m: picked.buffer_m,
            });
        }
        let mut entrances = Vec::with_capacity(input.entrances.len());
        for (index, entrance) in input.entrances.iter().enumerate() {
            match entrance.as_slice() {
                [x, y] => entrances.push(geo_types::Coord { x: *x, y: *y }),
                _ => {
                    return Err(async_graphql::Error::new(format!(
                        "input.entrances[{index}]: must be [longitude, latitude]"
                    )));
                }
            }
        }
        let request = SiteFromUpload {
            file_id,
            name: input.name,
            import_options: import_options(input.crs.as_deref(), input.boundary.as_deref())?,
            exclusions,
            entrances,
        };
        let (site, outcomes) =
            create_site_from_upload(&app.database, &app.storage, caller, request)
                .await
                .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(SiteFromUploadResult {
            site: SiteNode(site),
            candidates: outcomes
                .into_iter()
                .map(|outcome| CandidateOutcomeNode {
                    name: outcome.name,
                    location: outcome.location,
                    kind: outcome.kind.map(|kind| kind.as_str().to_owned()),
                    buffer_m: outcome.buffer_m,
                    reason: outcome.reason,
                })
                .collect(),
        })
    }

    /// Uploads a GeoTIFF DEM for a project's sites (multipart request).
    async fn upload_terrain(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project the upload belongs to.")] project_id: ID,
        #[graphql(desc = "The GeoTIFF, as a GraphQL multipart upload.")] file: Upload,
    ) -> Result<UploadedTerrain> {
        let stored = store(
            ctx,
            &project_id,
            file,
            UploadPurpose::Terrain,
            ImportOptions::default(),
        )
        .await?;
        let summary = stored
            .dem
            .as_ref()
            .and_then(|dem| serde_json::to_value(dem).ok())
            .unwrap_or_default();
        Ok(UploadedTerrain {
            file: FileNode(stored.file),
            summary: Json(summary),
        })
    }

    /// Exports a layout and returns where to download the file.
    #[graphql(complexity = "crate::costs::LAYOUT_EXPORT + child_complexity")]
    async fn export_layout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The layout's global id.")] layout_id: ID,
        #[graphql(desc = "The file format.")] format: ExportFormatChoice,
        #[graphql(default, desc = "For DXF: metres (default) or feet.")] dxf_units: DxfUnits,
    ) -> Result<Download> {
        let caller = caller(ctx)?;
        let app = app(ctx);
        let layout_id =
            decode_typed_id(&layout_id, "Layout").map_err(IntoGraphqlError::into_graphql_error)?;
        let options = ExportOptions {
            dxf_units: match dxf_units {
                DxfUnits::Metres => DrawingUnits::Metres,
                DxfUnits::Feet => DrawingUnits::Feet,
            },
        };
        let file = export_stored_layout(
            &app.database,
            &app.storage,
            caller,
            &app.files,
            layout_id,
            format.into(),
            &options,
        )
        .await
        .map_err(IntoGraphqlError::into_graphql_error)?;
        download_of(ctx, file.id).await
    }
}

#[derive(Default)]
pub struct FileQueries;

#[Object]
impl FileQueries {
    /// A fresh download link for a file of the caller's organization.
    async fn file_download(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file's global id.")] id: ID,
    ) -> Result<Download> {
        caller(ctx)?;
        let file_id = decode_typed_id(&id, "File").map_err(IntoGraphqlError::into_graphql_error)?;
        download_of(ctx, file_id).await
    }
}
