//! `entmoot import FILE`: reads a parcel file (KML, KMZ, GeoJSON, zipped Shapefile, DXF)
//! or a GeoTIFF DEM the way an upload is read, and prints what was found as JSON: the
//! boundary and why it was chosen, the exclusion candidates, the source CRS and every
//! repair. Nothing is stored.

use anyhow::Context;
use entmoot_formats::geotiff::read_dem;
use entmoot_formats::{Crs, ImportOptions, SourceFormat, read_site_file_with, sniff};
use entmoot_plugin_sdk::geo::{GeodesicArea, Geometry};
use entmoot_plugin_sdk::geometry::geo_to_geojson;
use serde_json::json;

use crate::cli::ImportArgs;

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let shown = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| shown.clone())?;
    if sniff(&bytes) == Some(SourceFormat::GeoTiff) {
        let (_, info) = read_dem(&bytes).with_context(|| shown.clone())?;
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"format": "geotiff", "dem": info}))?
        );
        return Ok(());
    }
    let options = ImportOptions {
        crs: match &args.crs {
            Some(text) => Some(Crs::parse_declared(text).context("--crs")?),
            None => None,
        },
        boundary: args
            .boundary
            .as_deref()
            .map(crate::commands::solve::boundary_choice),
    };
    let imported = read_site_file_with(&bytes, &options).with_context(|| shown.clone())?;
    let summary = json!({
        "format": imported.format.as_str(),
        "source_crs": imported.source_crs,
        "boundary": {
            "location": imported.boundary_location,
            "reason": imported.boundary_reason,
            "parts": imported.site.boundary.0.len(),
            "holes": imported.site.boundary.0.iter().map(|p| p.interiors().len()).sum::<usize>(),
            "area_m2": imported.site.boundary.geodesic_area_unsigned(),
            "area_measured": "geodesic, on the WGS84 ellipsoid",
            "geometry": geo_to_geojson(&Geometry::MultiPolygon(imported.site.boundary.clone())),
        },
        "exclusion_candidates": imported.exclusion_candidates.iter().map(|candidate| json!({
            "name": candidate.polygon.name,
            "location": candidate.polygon.location,
            "suggested_kind": candidate.suggested_kind,
            "properties": candidate.polygon.properties,
            "area_m2": candidate.polygon.geometry.geodesic_area_unsigned(),
            "area_measured": "geodesic, on the WGS84 ellipsoid",
        })).collect::<Vec<_>>(),
        "repairs": imported.repairs.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
