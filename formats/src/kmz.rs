//! KMZ: a zip holding the KML document (`doc.kml`, else the first `.kml` entry, as
//! Google Earth does), often with more `.kml` files it links to (GDAL's LIBKML writes a
//! `doc.kml` of NetworkLinks to `layers/*.kml`), and images. Polygons are read from every
//! `.kml` entry, the main document first. Read through `archive`, so zip bombs, path
//! traversal and oversized archives are refused before any XML is parsed.

use super::archive::read_entries;
use super::{ImportError, NamedPolygon, kml};

pub fn read_polygons(bytes: &[u8]) -> Result<Vec<NamedPolygon>, ImportError> {
    let entries = read_entries(bytes, "KMZ", |name| {
        name.to_ascii_lowercase().ends_with(".kml")
    })?;
    let main = entries
        .iter()
        .position(|entry| entry.name.eq_ignore_ascii_case("doc.kml"))
        .unwrap_or(0);
    if entries.is_empty() {
        return Err(ImportError::Archive {
            archive: "KMZ".into(),
            reason: "it holds no .kml document".into(),
        });
    }
    let mut order: Vec<usize> = vec![main];
    order.extend((0..entries.len()).filter(|index| *index != main));
    let mut polygons = Vec::new();
    for index in order {
        let entry = &entries[index];
        let text =
            std::str::from_utf8(&entry.bytes).map_err(|error| ImportError::MalformedXml {
                position: error.valid_up_to() as u64,
                reason: format!("{} in the KMZ is not UTF-8 text", entry.name),
            })?;
        let mut found = kml::read_polygons(text.trim_start_matches('\u{feff}').trim_start())
            .map_err(|error| match error {
                ImportError::MalformedXml { position, reason } => ImportError::MalformedXml {
                    position,
                    reason: format!("{} (in {})", reason, entry.name),
                },
                other => other,
            })?;
        if index != main {
            for polygon in &mut found {
                polygon.location = format!("{}: {}", entry.name, polygon.location);
            }
        }
        polygons.append(&mut found);
    }
    Ok(polygons)
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    #[test]
    fn reads_doc_kml_and_refuses_an_empty_archive() {
        let kml = include_bytes!("../../tests/fixtures/simple.kml");
        let kmz = zip_of(&[("files/readme.txt", b"hi"), ("doc.kml", kml)]);
        assert!(!read_polygons(&kmz).unwrap().is_empty());
        let error = read_polygons(&zip_of(&[("a.txt", b"x")])).unwrap_err();
        assert!(error.to_string().contains("no .kml"), "{error}");
    }
}
