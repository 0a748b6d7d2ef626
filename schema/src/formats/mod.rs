//! Reading parcel files (KML, GeoJSON) into a `Site`: pick the boundary, offer the
//! other polygons as exclusion candidates, and say precisely what is wrong with a bad
//! file. The format is detected from the content, never from the file name.

pub mod geojson_site;
pub mod kml;

use entmoot_plugin_sdk::Site;
use entmoot_plugin_sdk::geo::{GeodesicArea, Polygon};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("unrecognised file content: expected KML (XML) or GeoJSON")]
    UnknownFormat,
    #[error("KML is not well-formed XML at byte {position}: {reason}")]
    MalformedXml { position: u64, reason: String },
    #[error("GeoJSON is invalid: {0}")]
    MalformedGeoJson(String),
    #[error("{location}: {reason}")]
    InvalidGeometry { location: String, reason: String },
    #[error("the file contains no polygon to use as the parcel boundary")]
    NoPolygon,
}

/// A polygon found in a file, with the name the file gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolygon {
    pub name: Option<String>,
    /// Where it came from, for messages: `Placemark "Pond" (#3)`, `features[2]`.
    pub location: String,
    pub polygon: Polygon<f64>,
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExclusionCandidate {
    pub polygon: NamedPolygon,
    pub suggested_kind: Option<&'static str>,
}

/// Reads KML or GeoJSON, recognised by content.
pub fn read_site_file(bytes: &[u8]) -> Result<ImportedSite, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|error| ImportError::MalformedXml {
        position: error.valid_up_to() as u64,
        reason: "not UTF-8 text".into(),
    })?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let polygons = if trimmed.is_empty() {
        return Err(ImportError::Empty);
    } else if trimmed.starts_with('<') {
        kml::read_polygons(trimmed)?
    } else if trimmed.starts_with('{') {
        geojson_site::read_polygons(trimmed)?
    } else {
        return Err(ImportError::UnknownFormat);
    };
    choose_boundary(polygons)
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

/// The boundary is the polygon whose name says so; otherwise the largest polygon.
fn choose_boundary(polygons: Vec<NamedPolygon>) -> Result<ImportedSite, ImportError> {
    if polygons.is_empty() {
        return Err(ImportError::NoPolygon);
    }
    let named = polygons.iter().position(|p| {
        p.name.as_deref().is_some_and(|name| {
            let lower = name.to_lowercase();
            BOUNDARY_WORDS.iter().any(|word| lower.contains(word))
        })
    });
    let (index, reason) = match named {
        Some(index) => (index, "its name marks it as the parcel boundary".to_owned()),
        None => {
            let mut largest = 0;
            for (index, candidate) in polygons.iter().enumerate() {
                if candidate.polygon.geodesic_area_unsigned()
                    > polygons[largest].polygon.geodesic_area_unsigned()
                {
                    largest = index;
                }
            }
            (largest, "it is the largest polygon in the file".to_owned())
        }
    };
    let mut polygons = polygons;
    let boundary = polygons.remove(index);
    Ok(ImportedSite {
        site: Site::from_boundary(entmoot_plugin_sdk::geo::MultiPolygon::new(vec![
            boundary.polygon,
        ])),
        boundary_reason: reason,
        boundary_location: boundary.location,
        exclusion_candidates: polygons
            .into_iter()
            .map(|polygon| ExclusionCandidate {
                suggested_kind: suggested_kind(polygon.name.as_deref()),
                polygon,
            })
            .collect(),
    })
}

/// Checks one ring's coordinates: finite, WGS84 range, at least 4 positions.
pub(crate) fn check_ring(location: &str, ring: &[(f64, f64)]) -> Result<(), ImportError> {
    if ring.len() < 4 {
        return Err(ImportError::InvalidGeometry {
            location: location.to_owned(),
            reason: format!(
                "a ring needs at least 4 positions (3 corners and the closing one), got {}",
                ring.len()
            ),
        });
    }
    for (index, (lon, lat)) in ring.iter().enumerate() {
        if !lon.is_finite() || !lat.is_finite() || lon.abs() > 180.0 || lat.abs() > 90.0 {
            return Err(ImportError::InvalidGeometry {
                location: format!("{location}, position {index}"),
                reason: format!("({lon}, {lat}) is not a WGS84 longitude, latitude"),
            });
        }
    }
    Ok(())
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
