//! KML polygons: every `<Polygon>`, the parts of one Placemark's `<MultiGeometry>`
//! together as one feature, with the name of
//! its Placemark, its folders, its description and its ExtendedData (`Data` and
//! `SchemaData/SimpleData`) as properties. Rings are checked and repaired
//! (`repair`). Entities other than XML's five and character references are refused,
//! which also disarms entity-expansion bombs; so is nesting deeper than `MAX_DEPTH`.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

use entmoot_plugin_sdk::geo::{MultiPolygon, Polygon};

use super::repair::{Repair, clean_polygon};
use super::{ImportError, NamedPolygon};

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;

#[derive(Default)]
struct PlacemarkState {
    name: Option<String>,
    index: usize,
    properties: BTreeMap<String, String>,
    /// Its polygons so far (several in a MultiGeometry).
    parts: Vec<Polygon<f64>>,
    repairs: Vec<Repair>,
}

/// The properties with the folder path added as `folder`.
fn folder_properties(
    folders: &[Option<String>],
    mut properties: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let folder_path: Vec<&str> = folders.iter().flatten().map(String::as_str).collect();
    if !folder_path.is_empty() {
        properties.insert("folder".into(), folder_path.join("/"));
    }
    properties
}

pub fn read_polygons(text: &str) -> Result<Vec<NamedPolygon>, ImportError> {
    let mut reader = Reader::from_str(text);
    // Not trim_text: it would drop the spaces around `&amp;` in names.
    let mut stack: Vec<String> = Vec::new();
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut placemark: Option<PlacemarkState> = None;
    let mut placemark_count = 0usize;
    let mut text_buffer = String::new();
    let mut exterior: Option<Vec<(f64, f64)>> = None;
    let mut interiors: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut polygons = Vec::new();
    // The `name` attribute of the open `<Data>` or `<SimpleData>`.
    let mut data_name: Option<String> = None;

    let malformed = |reader: &Reader<&[u8]>, reason: String| ImportError::MalformedXml {
        position: reader.buffer_position(),
        reason,
    };

    loop {
        let event = reader
            .read_event()
            .map_err(|error| malformed(&reader, error.to_string()))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                match name.as_str() {
                    "Placemark" => {
                        placemark_count += 1;
                        placemark = Some(PlacemarkState {
                            index: placemark_count,
                            ..PlacemarkState::default()
                        });
                    }
                    "Data" | "SimpleData" => {
                        data_name = start
                            .try_get_attribute("name")
                            .ok()
                            .flatten()
                            .and_then(|attribute| {
                                attribute.normalized_value(XmlVersion::Implicit1_0).ok()
                            })
                            .map(|value| value.into_owned());
                    }
                    "Folder" => folders.push(None),
                    "Polygon" => {
                        exterior = None;
                        interiors.clear();
                    }
                    _ => {}
                }
                text_buffer.clear();
                stack.push(name);
                if stack.len() > MAX_DEPTH {
                    return Err(malformed(
                        &reader,
                        format!("elements are nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
            }
            Event::Text(content) => {
                text_buffer.push_str(&content.xml10_content());
            }
            Event::CData(content) => {
                text_buffer.push_str(&content.into_inner());
            }
            Event::GeneralRef(reference) => {
                let name = reference.into_inner().into_owned();
                let resolved = match name.as_str() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => match character_reference(&name) {
                        Some(character) => character,
                        None => {
                            return Err(malformed(
                                &reader,
                                format!(
                                    "entity `&{name};` is not allowed (only XML's predefined entities and character references are)"
                                ),
                            ));
                        }
                    },
                };
                text_buffer.push(resolved);
            }
            Event::DocType(_) => {
                return Err(malformed(
                    &reader,
                    "a DOCTYPE declaration is not allowed in KML uploads".into(),
                ));
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else {
                    return Err(malformed(
                        &reader,
                        "closing tag without an opening tag".into(),
                    ));
                };
                let parent = stack.last().map(String::as_str);
                match name.as_str() {
                    "name" => {
                        let value = text_buffer.trim().to_owned();
                        match parent {
                            Some("Placemark") => {
                                if let Some(state) = placemark.as_mut() {
                                    state.name = Some(value);
                                }
                            }
                            Some("Folder") => {
                                if let Some(last) = folders.last_mut() {
                                    *last = Some(value);
                                }
                            }
                            _ => {}
                        }
                    }
                    "description" if parent == Some("Placemark") => {
                        if let Some(state) = placemark.as_mut() {
                            state
                                .properties
                                .insert("description".into(), text_buffer.trim().to_owned());
                        }
                    }
                    "value" if parent == Some("Data") => {
                        if let (Some(state), Some(key)) = (placemark.as_mut(), data_name.clone()) {
                            state.properties.insert(key, text_buffer.trim().to_owned());
                        }
                    }
                    "SimpleData" => {
                        if let (Some(state), Some(key)) = (placemark.as_mut(), data_name.take()) {
                            state.properties.insert(key, text_buffer.trim().to_owned());
                        }
                    }
                    "coordinates" => {
                        let location = location(placemark.as_ref(), &folders);
                        let ring = parse_coordinates(&text_buffer, &location)?;
                        let in_outer = stack.iter().any(|element| element == "outerBoundaryIs");
                        let in_inner = stack.iter().any(|element| element == "innerBoundaryIs");
                        if in_outer {
                            exterior = Some(ring);
                        } else if in_inner {
                            interiors.push(ring);
                        }
                    }
                    "Polygon" => {
                        let location = location(placemark.as_ref(), &folders);
                        let Some(outer) = exterior.take() else {
                            return Err(ImportError::InvalidGeometry {
                                location,
                                reason: "a Polygon without an outerBoundaryIs ring".into(),
                            });
                        };
                        let mut rings = vec![outer];
                        rings.append(&mut interiors);
                        let mut repairs = Vec::new();
                        let polygon = clean_polygon(&location, &rings, &mut repairs)?;
                        match placemark.as_mut() {
                            // The parts of a Placemark (a MultiGeometry) are one feature.
                            Some(state) => {
                                state.parts.push(polygon);
                                state.repairs.append(&mut repairs);
                            }
                            None => polygons.push(NamedPolygon {
                                name: folders.iter().rev().flatten().next().cloned(),
                                location,
                                geometry: MultiPolygon::new(vec![polygon]),
                                properties: folder_properties(&folders, BTreeMap::new()),
                                repairs,
                            }),
                        }
                    }
                    "Placemark" => {
                        if let Some(state) = placemark.take()
                            && !state.parts.is_empty()
                        {
                            let location = location(Some(&state), &folders);
                            polygons.push(NamedPolygon {
                                name: state
                                    .name
                                    .clone()
                                    .or_else(|| folders.iter().rev().flatten().next().cloned()),
                                location,
                                geometry: MultiPolygon::new(state.parts),
                                properties: folder_properties(&folders, state.properties),
                                repairs: state.repairs,
                            });
                        }
                    }
                    "Folder" => {
                        folders.pop();
                    }
                    _ => {}
                }
                text_buffer.clear();
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(malformed(
                        &reader,
                        format!("the file ends inside <{open}>; it is truncated or not closed"),
                    ));
                }
                break;
            }
            _ => {}
        }
    }
    Ok(polygons)
}

fn character_reference(name: &str) -> Option<char> {
    let number = name.strip_prefix('#')?;
    let code = match number
        .strip_prefix('x')
        .or_else(|| number.strip_prefix('X'))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => number.parse().ok()?,
    };
    char::from_u32(code)
}

fn location(placemark: Option<&PlacemarkState>, folders: &[Option<String>]) -> String {
    let folder_path: Vec<&str> = folders.iter().flatten().map(String::as_str).collect();
    let prefix = if folder_path.is_empty() {
        String::new()
    } else {
        format!("Folder \"{}\" / ", folder_path.join("/"))
    };
    match placemark {
        Some(PlacemarkState {
            name: Some(name),
            index,
            ..
        }) => format!("{prefix}Placemark \"{name}\" (#{index})"),
        Some(PlacemarkState {
            name: None, index, ..
        }) => format!("{prefix}Placemark #{index}"),
        None => format!("{prefix}a Polygon outside any Placemark"),
    }
}

/// KML coordinates: whitespace-separated `lon,lat[,alt]` tuples.
fn parse_coordinates(text: &str, location: &str) -> Result<Vec<(f64, f64)>, ImportError> {
    text.split_whitespace()
        .enumerate()
        .map(|(index, tuple)| {
            let mut parts = tuple.split(',');
            let parse =
                |part: Option<&str>| part.and_then(|value| value.trim().parse::<f64>().ok());
            match (parse(parts.next()), parse(parts.next())) {
                (Some(lon), Some(lat)) => Ok((lon, lat)),
                _ => Err(ImportError::InvalidGeometry {
                    location: format!("{location}, coordinate {index}"),
                    reason: format!("`{tuple}` is not `longitude,latitude[,altitude]`"),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PLACEMARKS: &str = r#"<?xml version="1.0"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>Constraints</name>
<Placemark><name>Pond &amp; marsh</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
 -103.400,39.351 -103.399,39.351 -103.399,39.352 -103.400,39.352 -103.400,39.351
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Folder>
<Placemark><name>Parcel</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
 -103.402,39.350,0 -103.397,39.350,0 -103.397,39.354,0 -103.402,39.354,0 -103.402,39.350,0
</coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing><coordinates>
 -103.400,39.351 -103.399,39.351 -103.399,39.352 -103.400,39.351
</coordinates></LinearRing></innerBoundaryIs></Polygon></Placemark></Document></kml>"#;

    #[test]
    fn reads_names_folders_and_holes() {
        let polygons = read_polygons(TWO_PLACEMARKS).expect("valid KML");
        assert_eq!(polygons.len(), 2);
        assert_eq!(polygons[0].name.as_deref(), Some("Pond & marsh"));
        assert!(polygons[0].location.starts_with("Folder \"Constraints\""));
        assert_eq!(polygons[1].geometry.0[0].interiors().len(), 1);
    }

    #[test]
    fn a_multigeometry_is_one_feature_with_every_part() {
        let kml = r#"<kml><Placemark><name>Two lots</name><MultiGeometry>
<Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 0.01,0 0.01,0.01 0,0.01 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon>
<Polygon><outerBoundaryIs><LinearRing><coordinates>0.02,0 0.03,0 0.03,0.01 0.02,0.01 0.02,0</coordinates></LinearRing></outerBoundaryIs></Polygon>
</MultiGeometry></Placemark></kml>"#;
        let polygons = read_polygons(kml).unwrap();
        assert_eq!(polygons.len(), 1);
        assert_eq!(polygons[0].geometry.0.len(), 2);
        assert_eq!(polygons[0].name.as_deref(), Some("Two lots"));
    }

    #[test]
    fn reads_extended_data_and_repairs_open_rings() {
        let kml = r##"<kml><Document><Folder><name>Site boundary</name><Placemark><name>Lot 7</name>
<description>Surveyed 2024</description>
<ExtendedData><Data name="parcel_id"><value>APN-123</value></Data>
<SchemaData schemaUrl="#s"><SimpleData name="zoning">A-1</SimpleData></SchemaData></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 0.001,0 0.001,0.001 0,0.001</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark></Folder></Document></kml>"##;
        let polygons = read_polygons(kml).unwrap();
        let properties = &polygons[0].properties;
        assert_eq!(properties["parcel_id"], "APN-123");
        assert_eq!(properties["zoning"], "A-1");
        assert_eq!(properties["description"], "Surveyed 2024");
        assert_eq!(properties["folder"], "Site boundary");
        assert_eq!(polygons[0].repairs.len(), 1, "{:?}", polygons[0].repairs);
        assert!(polygons[0].repairs[0].action.contains("closed the ring"));
    }

    #[test]
    fn refuses_entity_declarations_and_unknown_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><kml><Placemark><name>&b;</name></Placemark></kml>"#;
        assert!(matches!(
            read_polygons(bomb),
            Err(ImportError::MalformedXml { .. })
        ));
        let unknown = r#"<kml><Placemark><name>&b;</name></Placemark></kml>"#;
        let error = read_polygons(unknown).expect_err("unknown entity");
        assert!(error.to_string().contains("&b;"), "{error}");
    }

    #[test]
    fn names_the_bad_coordinate() {
        let bad = r#"<kml><Placemark><name>Lot</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
            1,2 3,4 nope 1,2</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"#;
        let error = read_polygons(bad).expect_err("bad coordinate");
        assert_eq!(
            error.to_string(),
            "Placemark \"Lot\" (#1), coordinate 2: `nope` is not `longitude,latitude[,altitude]`"
        );
    }

    #[test]
    fn refuses_truncated_and_mismatched_files() {
        assert!(matches!(
            read_polygons("<kml><Document>"),
            Err(ImportError::MalformedXml { .. })
        ));
        let fixture = include_str!("../../tests/fixtures/malformed.kml");
        assert!(matches!(
            read_polygons(fixture),
            Err(ImportError::MalformedXml { .. })
        ));
    }
}
