//! GeoJSON export: the layout contract of docs/layout-geojson.md (the sdk's
//! `layout_to_geojson`), with
//! the title, metrics, earthwork and cost as a foreign member `entmoot` of the
//! FeatureCollection (RFC 7946 §6.1), which GIS readers ignore.

use entmoot_plugin_sdk::geojson_out::layout_to_geojson;
use serde_json::json;

use super::{ExportError, ExportInput};

pub fn write(input: &ExportInput<'_>) -> Result<Vec<u8>, ExportError> {
    let mut collection = layout_to_geojson(input.problem, input.layout).map_err(|source| {
        ExportError::Projection {
            what: "the layout".into(),
            source,
        }
    })?;
    let mut members = serde_json::Map::new();
    members.insert(
        "entmoot".into(),
        json!({
            "title": input.title,
            "utm_epsg": input.problem.projection.epsg(),
            "metrics": input.metrics,
            "earthwork": input.earthwork,
            "cost": input.cost,
        }),
    );
    collection.foreign_members = Some(members);
    serde_json::to_vec_pretty(&collection).map_err(|error| ExportError::Write {
        format: "GeoJSON",
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::demo;
    use super::*;

    #[test]
    fn keeps_the_contract_and_adds_metrics() {
        let (problem, layout, metrics) = demo();
        let bytes = write(&ExportInput {
            title: "Demo",
            problem: &problem,
            layout: &layout,
            metrics: &metrics,
            earthwork: None,
            cost: None,
            made_on: None,
        })
        .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["type"], "FeatureCollection");
        assert_eq!(value["entmoot"]["metrics"]["placed"], 2);
        let assets = value["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["properties"]["kind"] == "asset")
            .count();
        assert_eq!(assets, 2);
    }
}
