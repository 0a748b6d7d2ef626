//! GeoTIFF DEMs (site terrain): read with the sdk's reader (`entmoot_plugin_sdk::geotiff`,
//! the one strategies sample terrain with, so the host and plugins agree), then
//! summarised for the upload: size, CRS, pixel size, extent in WGS84, nodata count and
//! elevation range.

use entmoot_plugin_sdk::geotiff::{Dem, DemCrs};
use serde::Serialize;

use super::ImportError;
use super::crs::Crs;

/// What an uploaded DEM holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemInfo {
    pub width: usize,
    pub height: usize,
    /// EPSG code of the raster's CRS (4326 for geographic rasters).
    pub epsg: u32,
    pub crs: String,
    /// Pixel size in CRS units (degrees or metres).
    pub pixel_size: [f64; 2],
    /// `[min_x, min_y, max_x, max_y]` in CRS units.
    pub bounds: [f64; 4],
    /// `[west, south, east, north]` in WGS84 degrees.
    pub bounds_wgs84: [f64; 4],
    /// Pixels without data (nodata value or not finite).
    pub nodata_pixels: usize,
    pub min_elevation_m: Option<f64>,
    pub max_elevation_m: Option<f64>,
}

/// Reads a GeoTIFF DEM and describes it.
pub fn read_dem(bytes: &[u8]) -> Result<(Dem, DemInfo), ImportError> {
    let dem = Dem::from_geotiff(bytes).map_err(|error| ImportError::GeoTiff(error.to_string()))?;
    let epsg = match dem.crs {
        DemCrs::Geographic => 4326,
        DemCrs::Utm { zone, south } => (if south { 32700 } else { 32600 }) + u32::from(zone),
    };
    let crs = Crs::from_epsg(epsg)
        .ok_or_else(|| ImportError::GeoTiff(format!("EPSG:{epsg} is not supported")))?;
    let bounds = [
        dem.origin[0],
        dem.origin[1] - dem.height as f64 * dem.pixel[1],
        dem.origin[0] + dem.width as f64 * dem.pixel[0],
        dem.origin[1],
    ];
    let to_wgs84 = crs.transformer("the GeoTIFF")?;
    let corners = [
        (bounds[0], bounds[1]),
        (bounds[0], bounds[3]),
        (bounds[2], bounds[1]),
        (bounds[2], bounds[3]),
    ];
    let mut bounds_wgs84 = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (x, y) in corners {
        let (lon, lat) = to_wgs84.convert(x, y).ok_or_else(|| {
            ImportError::GeoTiff(format!(
                "the raster corner ({x}, {y}) is not a valid position in {}",
                crs.name
            ))
        })?;
        bounds_wgs84 = [
            bounds_wgs84[0].min(lon),
            bounds_wgs84[1].min(lat),
            bounds_wgs84[2].max(lon),
            bounds_wgs84[3].max(lat),
        ];
    }
    let known: Vec<f64> = dem
        .values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let info = DemInfo {
        width: dem.width,
        height: dem.height,
        epsg,
        crs: crs.name,
        pixel_size: dem.pixel,
        bounds,
        bounds_wgs84,
        nodata_pixels: dem.values.len() - known.len(),
        min_elevation_m: known.iter().copied().reduce(f64::min),
        max_elevation_m: known.iter().copied().reduce(f64::max),
    };
    Ok((dem, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_utm_dem_and_refuses_a_plain_tiff() {
        let dem = Dem {
            width: 4,
            height: 3,
            values: vec![
                1.0,
                2.0,
                3.0,
                4.0,
                5.0,
                f64::NAN,
                7.0,
                8.0,
                9.0,
                10.0,
                11.0,
                12.0,
            ],
            crs: DemCrs::Utm {
                zone: 13,
                south: false,
            },
            origin: [637_600.0, 4_357_000.0],
            pixel: [10.0, 10.0],
        };
        let bytes = dem.to_geotiff().unwrap();
        assert_eq!(
            super::super::sniff(&bytes),
            Some(super::super::SourceFormat::GeoTiff)
        );
        let (_, info) = read_dem(&bytes).unwrap();
        assert_eq!((info.width, info.height, info.epsg), (4, 3, 32613));
        assert_eq!(info.nodata_pixels, 1);
        assert_eq!(info.min_elevation_m, Some(1.0));
        assert_eq!(info.max_elevation_m, Some(12.0));
        assert!((info.bounds_wgs84[0] + 103.40).abs() < 0.01, "{info:?}");
        let error = read_dem(b"II*\0\x08\0\0\0\0\0").unwrap_err();
        assert!(error.to_string().starts_with("GeoTIFF: "), "{error}");
    }
}
