//! Reading parcel files into a `Site` and writing layouts out (`export`). Import reads
//! KML, KMZ, GeoJSON, zipped Shapefiles (with their `.prj`) and DXF (with a declared
//! CRS), converts the source CRS to WGS84, repairs geometry where that is safe and
//! reports each repair, picks the boundary (by name, by folder or layer name, else the
//! largest polygon; the caller may override the choice) and offers the other polygons
//! as exclusion candidates. GeoTIFF DEMs are terrain, read by `geotiff`. The format is
//! detected from the content, never from the file name, and every refusal names the
//! problem and where it is.

pub mod archive;
pub mod crs;
pub mod dxf;
pub mod export;
pub mod geojson_site;
pub mod geopackage;
pub mod geotiff;
pub mod kml;
pub mod kmz;
pub mod repair;
pub mod shapefile;

use std::collections::BTreeMap;

use entmoot_plugin_sdk::Site;
use entmoot_plugin_sdk::geo::{GeodesicArea, Geometry, MultiPolygon};
use entmoot_plugin_sdk::program::ExclusionKind;
use entmoot_plugin_sdk::site::Exclusion;

pub use crs::Crs;
pub use repair::Repair;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "unrecognised file content: expected KML, KMZ, GeoJSON, a zipped Shapefile, a GeoPackage or DXF"
    )]
    UnknownFormat,
    #[error("KML is not well-formed XML at byte {position}: {reason}")]
    MalformedXml { position: u64, reason: String },
    #[error("GeoJSON is invalid: {0}")]
    MalformedGeoJson(String),
    #[error("{location}: {reason}")]
    InvalidGeometry { location: String, reason: String },
    #[error("the file contains no polygon to use as the parcel boundary")]
    NoPolygon,
    #[error("{archive} archive refused: {reason}")]
    Archive { archive: String, reason: String },
    #[error("{location}: unknown coordinate reference system: {detail}")]
    UnknownCrs { location: String, detail: String },
    #[error("{file}: {reason}")]
    Shapefile { file: String, reason: String },
    #[error("GeoPackage {location}: {reason}")]
    GeoPackage { location: String, reason: String },
    #[error("DXF line {line}: {reason}")]
    Dxf { line: usize, reason: String },
    #[error("GeoTIFF: {0}")]
    GeoTiff(String),
    #[error("{0}")]
    WrongKind(String),
    #[error("boundary choice: {0}")]
    BoundaryChoice(String),
}

/// A polygonal feature found in a file, with the name the file gave it: every part of
/// a multi-part feature (a KML MultiGeometry, a GeoJSON MultiPolygon, a Shapefile record
/// with several exterior rings, the polygons of one DXF layer) stays in it, each with
/// its holes.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolygon {
    pub name: Option<String>,
    /// Where it came from, for messages: `Placemark "Pond" (#3)`, `features[2]`.
    pub location: String,
    /// In WGS84, checked and repaired; at least one part.
    pub geometry: MultiPolygon<f64>,
    /// The attributes the file gave it (KML ExtendedData and description, GeoJSON
    /// properties, Shapefile columns, the DXF layer), plus `folder` for KML folders.
    pub properties: BTreeMap<String, String>,
    /// What was repaired in this polygon.
    pub repairs: Vec<Repair>,
}

/// The formats a parcel or terrain file can have, recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Kml,
    Kmz,
    GeoJson,
    ShapefileZip,
    GeoPackage,
    Dxf,
    GeoTiff,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Kml => "kml",
            SourceFormat::Kmz => "kmz",
            SourceFormat::GeoJson => "geojson",
            SourceFormat::ShapefileZip => "shapefile_zip",
            SourceFormat::GeoPackage => "geopackage",
            SourceFormat::Dxf => "dxf",
            SourceFormat::GeoTiff => "geotiff",
        }
    }

    /// The media type uploads of this format are stored with.
    pub fn content_type(self) -> &'static str {
        match self {
            SourceFormat::Kml => "application/vnd.google-earth.kml+xml",
            SourceFormat::Kmz => "application/vnd.google-earth.kmz",
            SourceFormat::GeoJson => "application/geo+json",
            SourceFormat::ShapefileZip => "application/zip",
            SourceFormat::GeoPackage => "application/geopackage+sqlite3",
            SourceFormat::Dxf => "image/vnd.dxf",
            SourceFormat::GeoTiff => "image/tiff",
        }
    }
}

/// Recognises a file by its first bytes (and a zip by its entries).
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Some(SourceFormat::GeoTiff);
    }
    if geopackage::looks_like_geopackage(bytes) {
        return Some(SourceFormat::GeoPackage);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let names = archive::entry_names(bytes)?;
        let has = |extension: &str| {
            names
                .iter()
                .any(|name| name.to_ascii_lowercase().ends_with(extension))
        };
        return if has(".kml") {
            Some(SourceFormat::Kmz)
        } else if has(".shp") {
            Some(SourceFormat::ShapefileZip)
        } else {
            None
        };
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return Some(SourceFormat::Kml);
    }
    if trimmed.starts_with('{') {
        return Some(SourceFormat::GeoJson);
    }
    if dxf::looks_like_dxf(trimmed) {
        return Some(SourceFormat::Dxf);
    }
    None
}

/// How the user wants the boundary picked, instead of the automatic choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundaryChoice {
    /// The n-th polygon found (0-based, in file order).
    Index(usize),
    /// The polygon with this name (case-insensitive).
    Name(String),
}

/// Choices the content cannot tell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOptions {
    /// The CRS of a file that does not declare one (DXF; a Shapefile without `.prj`;
    /// GeoJSON without a `crs` member). Refused for KML, which is always WGS84, and when
    /// it contradicts a GeoJSON's `crs` member; a Shapefile's `.prj` wins over it.
    pub crs: Option<Crs>,
    pub boundary: Option<BoundaryChoice>,
}

/// The outcome of reading a parcel file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSite {
    pub site: Site,
    /// Why this polygon was taken as the boundary.
    pub boundary_reason: String,
    pub boundary_location: String,
    /// The other polygons: candidates for exclusion zones, with a suggested kind when
    /// their name says what they are.
    pub exclusion_candidates: Vec<ExclusionCandidate>,
    pub format: SourceFormat,
    /// The CRS the file was in (converted to WGS84).
    pub source_crs: String,
    /// Every repair made, in file order.
    pub repairs: Vec<Repair>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExclusionCandidate {
    pub polygon: NamedPolygon,
    pub suggested_kind: Option<&'static str>,
}

/// Reads a parcel file, recognised by content, with the automatic boundary choice.
pub fn read_site_file(bytes: &[u8]) -> Result<ImportedSite, ImportError> {
    read_site_file_with(bytes, &ImportOptions::default())
}

/// Reads a parcel file, recognised by content.
pub fn read_site_file_with(
    bytes: &[u8],
    options: &ImportOptions,
) -> Result<ImportedSite, ImportError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let format = sniff(bytes).ok_or(ImportError::UnknownFormat)?;
    let (polygons, source_crs) = match format {
        SourceFormat::Kml => (kml::read_polygons(text_of(bytes)?)?, kml_crs(options)?),
        SourceFormat::GeoJson => {
            geojson_site::read_polygons_in(text_of(bytes)?, options.crs.as_ref())?
        }
        SourceFormat::Kmz => (kmz::read_polygons(bytes)?, kml_crs(options)?),
        SourceFormat::ShapefileZip => shapefile::read_polygons(bytes, options.crs.as_ref())?,
        SourceFormat::GeoPackage => geopackage::read_polygons(bytes, options.crs.as_ref())?,
        SourceFormat::Dxf => dxf::read_polygons(bytes, options.crs.as_ref())?,
        SourceFormat::GeoTiff => {
            return Err(ImportError::WrongKind(
                "this is a GeoTIFF raster: upload it as the site's terrain (DEM), not as its boundary".into(),
            ));
        }
    };
    let mut site = choose_boundary(polygons, options.boundary.as_ref())?;
    site.format = format;
    site.source_crs = source_crs;
    Ok(site)
}

/// KML is WGS84 by definition (OGC 07-147): a declared CRS other than WGS84 is refused
/// rather than ignored.
fn kml_crs(options: &ImportOptions) -> Result<String, ImportError> {
    match &options.crs {
        Some(declared) if declared.proj.is_some() => Err(ImportError::UnknownCrs {
            location: "the KML".into(),
            detail: format!(
                "KML coordinates are always WGS84 longitude/latitude; {} cannot apply to them",
                declared.name
            ),
        }),
        _ => Ok(Crs::wgs84().name),
    }
}

fn text_of(bytes: &[u8]) -> Result<&str, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|error| ImportError::MalformedXml {
        position: error.valid_up_to() as u64,
        reason: "not UTF-8 text".into(),
    })?;
    Ok(text.trim_start_matches('\u{feff}').trim_start())
}

const BOUNDARY_WORDS: &[&str] = &[
    "boundary",
    "property",
    "parcel",
    "site",
    "lot line",
    "perimeter",
];

/// Name fragments that suggest an exclusion kind (the program's `kind` values).
const EXCLUSION_WORDS: &[(&str, &str)] = &[
    ("wetland", "wetland"),
    ("marsh", "wetland"),
    ("pond", "wetland"),
    ("lake", "wetland"),
    ("creek", "wetland"),
    ("stream", "wetland"),
    ("flood", "floodplain"),
    ("easement", "easement"),
    ("right of way", "easement"),
    ("row", "easement"),
    ("utility", "utility"),
    ("pipeline", "utility"),
    ("power line", "utility"),
    ("steep", "steep_slope"),
    ("slope", "steep_slope"),
    ("building", "existing_structure"),
    ("structure", "existing_structure"),
    ("house", "existing_structure"),
];

fn suggested_kind(name: Option<&str>) -> Option<&'static str> {
    let name = name?.to_lowercase();
    EXCLUSION_WORDS
        .iter()
        .find(|(word, _)| {
            name.split(|c: char| !c.is_alphanumeric())
                .any(|token| token == *word)
                || (word.contains(' ') && name.contains(word))
        })
        .map(|(_, kind)| *kind)
}

/// Property keys whose values may say what a polygon is.
const DESCRIPTIVE_KEYS: &[&str] = &[
    "kind",
    "type",
    "category",
    "class",
    "use",
    "landuse",
    "layer",
    "folder",
    "description",
];

/// The exclusion kind a polygon's name, or else its descriptive properties, suggest.
fn suggested_kind_of(polygon: &NamedPolygon) -> Option<&'static str> {
    suggested_kind(polygon.name.as_deref()).or_else(|| {
        polygon
            .properties
            .iter()
            .filter(|(key, _)| DESCRIPTIVE_KEYS.contains(&key.to_ascii_lowercase().as_str()))
            .find_map(|(_, value)| {
                // An exact kind name (`wetland`, `steep_slope`) or a telling word.
                EXCLUSION_WORDS
                    .iter()
                    .map(|(_, kind)| *kind)
                    .find(|kind| value.eq_ignore_ascii_case(kind))
                    .or_else(|| suggested_kind(Some(value)))
            })
    })
}

fn says_boundary(text: &str) -> bool {
    let lower = text.to_lowercase();
    BOUNDARY_WORDS.iter().any(|word| lower.contains(word))
}

/// The boundary is the polygon the caller chose; else the one whose name says so; else
/// the one whose folder (KML) or layer (DXF) says so; else the largest polygon.
fn choose_boundary(
    polygons: Vec<NamedPolygon>,
    choice: Option<&BoundaryChoice>,
) -> Result<ImportedSite, ImportError> {
    if polygons.is_empty() {
        return Err(ImportError::NoPolygon);
    }
    let described = || {
        polygons
            .iter()
            .enumerate()
            .map(|(index, p)| format!("{index}: {}", p.location))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let chosen = match choice {
        Some(BoundaryChoice::Index(index)) => {
            if *index >= polygons.len() {
                return Err(ImportError::BoundaryChoice(format!(
                    "polygon {index} does not exist; the file has {} ({})",
                    polygons.len(),
                    described()
                )));
            }
            Some((*index, format!("it was chosen as polygon {index}")))
        }
        Some(BoundaryChoice::Name(name)) => {
            let index = polygons
                .iter()
                .position(|p| {
                    p.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| {
                    ImportError::BoundaryChoice(format!(
                        "no polygon is named `{name}` ({})",
                        described()
                    ))
                })?;
            Some((index, format!("it was chosen by its name `{name}`")))
        }
        None => None,
    };
    let by_name = || {
        polygons
            .iter()
            .position(|p| p.name.as_deref().is_some_and(says_boundary))
            .map(|index| (index, "its name marks it as the parcel boundary".to_owned()))
    };
    let by_container = || {
        polygons
            .iter()
            .position(|p| {
                ["folder", "layer"]
                    .iter()
                    .any(|key| p.properties.get(*key).is_some_and(|v| says_boundary(v)))
            })
            .map(|index| {
                (
                    index,
                    "its folder or layer name marks it as the parcel boundary".to_owned(),
                )
            })
    };
    let largest = || {
        let mut largest = 0;
        for (index, candidate) in polygons.iter().enumerate() {
            if candidate.geometry.geodesic_area_unsigned()
                > polygons[largest].geometry.geodesic_area_unsigned()
            {
                largest = index;
            }
        }
        (largest, "it is the largest polygon in the file".to_owned())
    };
    let (index, reason) = chosen
        .or_else(by_name)
        .or_else(by_container)
        .unwrap_or_else(largest);
    let mut polygons = polygons;
    let repairs: Vec<Repair> = polygons
        .iter()
        .flat_map(|p| p.repairs.iter().cloned())
        .collect();
    let boundary = polygons.remove(index);
    Ok(ImportedSite {
        site: Site::from_boundary(boundary.geometry),
        boundary_reason: reason,
        boundary_location: boundary.location,
        exclusion_candidates: polygons
            .into_iter()
            .map(|polygon| ExclusionCandidate {
                suggested_kind: suggested_kind_of(&polygon),
                polygon,
            })
            .collect(),
        format: SourceFormat::Kml,
        source_crs: Crs::wgs84().name,
        repairs,
    })
}

/// Which exclusion candidates of a site file become exclusion zones.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ExclusionSelection {
    /// Those whose name or attributes say what they are (wetland, easement, …), with
    /// that kind and no buffer.
    #[default]
    Suggested,
    /// Every candidate; those without a suggested kind as `custom`.
    All,
    None,
    /// Exactly these.
    Picked(Vec<ExclusionPick>),
}

/// A candidate the user picked, by its 0-based index among the candidates or its name.
#[derive(Debug, Clone, PartialEq)]
pub struct ExclusionPick {
    pub candidate: BoundaryChoice,
    /// The kind; the suggested one (else `custom`) when `None`.
    pub kind: Option<ExclusionKind>,
    pub buffer_m: f64,
}

/// What became of one candidate, for summaries.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CandidateOutcome {
    pub name: Option<String>,
    pub location: String,
    /// Applied as an exclusion zone of this kind, or `None` when left out.
    pub kind: Option<ExclusionKind>,
    pub buffer_m: f64,
    /// Why it was applied or left out.
    pub reason: String,
}

impl ImportedSite {
    /// The site with the selected candidates as exclusion zones (after any it already
    /// has), and what became of every candidate.
    pub fn site_with_exclusions(
        &self,
        selection: &ExclusionSelection,
    ) -> Result<(Site, Vec<CandidateOutcome>), ImportError> {
        let described = || {
            self.exclusion_candidates
                .iter()
                .enumerate()
                .map(|(index, c)| format!("{index}: {}", c.polygon.location))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut chosen: Vec<Option<(ExclusionKind, f64, String)>> =
            vec![None; self.exclusion_candidates.len()];
        let suggested = |candidate: &ExclusionCandidate| {
            candidate.suggested_kind.and_then(|kind| {
                serde_json::from_value::<ExclusionKind>(serde_json::Value::String(kind.into())).ok()
            })
        };
        for (index, candidate) in self.exclusion_candidates.iter().enumerate() {
            chosen[index] = match selection {
                ExclusionSelection::Suggested => suggested(candidate)
                    .map(|kind| (kind, 0.0, format!("its name or attributes say {kind}"))),
                ExclusionSelection::All => Some(match suggested(candidate) {
                    Some(kind) => (kind, 0.0, format!("its name or attributes say {kind}")),
                    None => (
                        ExclusionKind::Custom,
                        0.0,
                        "every candidate was asked for; nothing names its kind".into(),
                    ),
                }),
                ExclusionSelection::None | ExclusionSelection::Picked(_) => None,
            };
        }
        if let ExclusionSelection::Picked(picks) = selection {
            for (pick_index, pick) in picks.iter().enumerate() {
                let index = match &pick.candidate {
                    BoundaryChoice::Index(index) => {
                        Some(*index).filter(|index| *index < self.exclusion_candidates.len())
                    }
                    BoundaryChoice::Name(name) => self.exclusion_candidates.iter().position(|c| {
                        c.polygon
                            .name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    }),
                }
                .ok_or_else(|| {
                    ImportError::BoundaryChoice(format!(
                        "exclusion {pick_index}: no such candidate ({})",
                        described()
                    ))
                })?;
                if !(pick.buffer_m.is_finite() && pick.buffer_m >= 0.0) {
                    return Err(ImportError::BoundaryChoice(format!(
                        "exclusion {pick_index}: the buffer must be a non-negative number of metres, got {}",
                        pick.buffer_m
                    )));
                }
                let kind = pick
                    .kind
                    .or_else(|| suggested(&self.exclusion_candidates[index]))
                    .unwrap_or(ExclusionKind::Custom);
                chosen[index] = Some((kind, pick.buffer_m, "it was picked".into()));
            }
        }
        let mut site = self.site.clone();
        let mut outcomes = Vec::with_capacity(chosen.len());
        for (candidate, choice) in self.exclusion_candidates.iter().zip(chosen) {
            let polygon = &candidate.polygon;
            match choice {
                Some((kind, buffer_m, reason)) => {
                    site.exclusions.push(Exclusion {
                        kind,
                        buffer_m,
                        geometry: Geometry::MultiPolygon(polygon.geometry.clone()),
                        name: polygon.name.clone().or_else(|| Some(polygon.location.clone())),
                    });
                    outcomes.push(CandidateOutcome {
                        name: polygon.name.clone(),
                        location: polygon.location.clone(),
                        kind: Some(kind),
                        buffer_m,
                        reason,
                    });
                }
                None => outcomes.push(CandidateOutcome {
                    name: polygon.name.clone(),
                    location: polygon.location.clone(),
                    kind: None,
                    buffer_m: 0.0,
                    reason: match selection {
                        ExclusionSelection::None => "exclusions from the file were turned off".into(),
                        ExclusionSelection::Picked(_) => "it was not picked".into(),
                        _ => "nothing in its name or attributes says it is an exclusion; pick it to use it".into(),
                    },
                }),
            }
        }
        Ok((site, outcomes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_kinds_are_suggested_from_names() {
        assert_eq!(suggested_kind(Some("North Pond")), Some("wetland"));
        assert_eq!(
            suggested_kind(Some("Gas pipeline easement")),
            Some("easement")
        );
        assert_eq!(suggested_kind(Some("Flood zone A")), Some("floodplain"));
        assert_eq!(suggested_kind(Some("Meadow")), None);
        assert_eq!(suggested_kind(Some("Arrowhead")), None, "whole words only");
    }
}
