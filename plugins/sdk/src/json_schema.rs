//! JSON Schemas of the contracts, generated from the types that read and write them: the
//! program (`Program`), the layout a strategy returns (`Layout`) and the layout GeoJSON
//! (`geojson_out::FeatureProperties` inside an RFC 7946 FeatureCollection). The files in
//! `docs/schemas/` are these schemas, written by
//! `cargo run -p entmoot-plugin-sdk --example write_json_schemas` and compared with the
//! types by `plugins/sdk/tests/json_schemas.rs`.
//!
//! A schema checks a document's shape and simple ranges; `Program::validate` remains the
//! authority (it also checks, for example, that a rectangle has a width and a length, that
//! a polygon footprint does not cross itself, and the total number of assets).

pub use schemars::Schema;
use schemars::{SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::{Value, json};

use crate::geojson_out::FeatureProperties;
use crate::layout::Layout;
use crate::program::Program;

/// A function that makes one schema.
pub type MakeSchema = fn() -> Schema;

/// The schema files of `docs/schemas/`, by file name, with the function that makes each.
pub const SCHEMA_FILES: [(&str, MakeSchema); 3] = [
    ("program.schema.json", program_schema),
    ("layout.schema.json", layout_schema),
    ("layout-geojson.schema.json", layout_geojson_schema),
];

/// The program: the JSON of `entmoot solve --program` and of the GraphQL `program` input.
pub fn program_schema() -> Schema {
    titled(
        generator().into_root_schema_for::<Program>(),
        "Entmoot development program",
        "What to place on a parcel and under which rules; docs/program.md describes every field.",
    )
}

/// The layout a strategy returns, in the problem's UTM metres (also the `layout` member of a
/// `.layout.json` document).
pub fn layout_schema() -> Schema {
    titled(
        generator().into_root_schema_for::<Layout>(),
        "Entmoot layout",
        "Placed assets and roads in the problem's UTM metres, as a strategy returns them; docs/layout-geojson.md and docs/rotation.md give the conventions.",
    )
}

/// The layout GeoJSON: an RFC 7946 FeatureCollection in WGS84 whose features carry
/// `FeatureProperties`.
pub fn layout_geojson_schema() -> Schema {
    let mut generator = generator();
    let properties = generator.subschema_for::<FeatureProperties>();
    let geometry = geojson_geometry(&mut generator);
    let mut schema = json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Entmoot layout GeoJSON",
        "description": "A layout as an RFC 7946 FeatureCollection in WGS84 longitude/latitude: the boundary, the buildable area, exclusion zones, entrances, asset outlines and road centrelines, told apart by properties.kind; docs/layout-geojson.md describes it.",
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": { "const": "FeatureCollection" },
            "bbox": { "type": "array", "items": { "type": "number" }, "minItems": 4 },
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": { "const": "Feature" },
                        "id": { "type": ["string", "number"] },
                        "bbox": { "type": "array", "items": { "type": "number" }, "minItems": 4 },
                        "geometry": geometry,
                        "properties": properties
                    }
                }
            },
            "entmoot": {
                "description": "Foreign member written by the GeoJSON export (not by the sdk): title, utm_epsg, metrics, earthwork and cost; readers that do not know it ignore it.",
                "type": "object"
            }
        }
    });
    let definitions = generator.take_definitions(true);
    if !definitions.is_empty() {
        schema.insert("$defs".to_owned(), Value::Object(definitions));
    }
    schema
}

/// A schema as the committed file holds it: pretty JSON with a final newline.
pub fn to_file_text(schema: &Schema) -> String {
    // A Schema is a JSON value already; printing it cannot fail, and an empty text would
    // make the staleness test fail loudly rather than pass.
    let mut text = serde_json::to_string_pretty(schema.as_value()).unwrap_or_default();
    text.push('\n');
    text
}

/// The longitude and latitude items of a WGS84 position.
fn longitude_latitude() -> Value {
    json!([
        { "type": "number", "minimum": -180, "maximum": 180 },
        { "type": "number", "minimum": -90, "maximum": 90 }
    ])
}

/// The program's `entrance`: `[longitude, latitude]` in WGS84 degrees, or null.
pub fn entrance(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A site entrance as [longitude, latitude] (WGS84 degrees), added before the site's own; snapped onto the boundary.",
        "type": ["array", "null"],
        "prefixItems": longitude_latitude(),
        "minItems": 2,
        "maxItems": 2
    })
}

/// A GeoJSON geometry object (RFC 7946 §3.1) with WGS84 `[longitude, latitude]` positions.
pub fn geojson_geometry(_generator: &mut SchemaGenerator) -> Schema {
    let position = json!({
        "type": "array",
        "prefixItems": longitude_latitude(),
        "items": { "type": "number" },
        "minItems": 2
    });
    let line = json!({ "type": "array", "items": position, "minItems": 2 });
    let ring = json!({ "type": "array", "items": position, "minItems": 4 });
    let polygon = json!({ "type": "array", "items": ring, "minItems": 1 });
    let typed = |name: &str, coordinates: Value| {
        json!({
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": { "type": { "const": name }, "coordinates": coordinates }
        })
    };
    json_schema!({
        "description": "A GeoJSON geometry (RFC 7946) in WGS84 longitude/latitude degrees.",
        "oneOf": [
            typed("Point", position.clone()),
            typed("MultiPoint", json!({ "type": "array", "items": position })),
            typed("LineString", line.clone()),
            typed("MultiLineString", json!({ "type": "array", "items": line })),
            typed("Polygon", polygon.clone()),
            typed("MultiPolygon", json!({ "type": "array", "items": polygon })),
            {
                "type": "object",
                "required": ["type", "geometries"],
                "properties": {
                    "type": { "const": "GeometryCollection" },
                    "geometries": { "type": "array", "items": { "type": "object" } }
                }
            }
        ]
    })
}

/// The program's `side_setbacks`: a setback per compass side, each optional.
pub fn side_setbacks(_generator: &mut SchemaGenerator) -> Schema {
    let setback = json!({ "type": "number", "minimum": 0 });
    json_schema!({
        "description": "Setbacks of the boundary edges facing a side (by the direction of their outward normal in the projected grid), replacing `setback` there, in program units.",
        "type": "object",
        "properties": {
            "north": setback,
            "east": setback,
            "south": setback,
            "west": setback
        },
        "additionalProperties": false
    })
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().into_generator()
}

fn titled(mut schema: Schema, title: &str, description: &str) -> Schema {
    schema.insert("title".to_owned(), Value::String(title.to_owned()));
    schema.insert(
        "description".to_owned(),
        Value::String(description.to_owned()),
    );
    schema
}
