//! GeoTIFF digital elevation models: reading (single-band integer or float rasters, strips or
//! tiles, uncompressed/LZW/Deflate as the `tiff` crate decodes them) with the georeferencing
//! GeoKeys (`ModelPixelScale`, `ModelTiepoint`, `GeoKeyDirectory`), GDAL's nodata value, and
//! a CRS that is geographic WGS84/NAD83 or UTM on WGS84/NAD83; and writing the same (for
//! fixtures and tests). Elevations are in metres.
//!
//! ```
//! use entmoot_plugin_sdk::geotiff::{Dem, DemCrs};
//! let dem = Dem {
//!     width: 3, height: 2,
//!     values: vec![1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0],
//!     crs: DemCrs::Utm { zone: 13, south: false },
//!     origin: [500_000.0, 4_000_000.0],
//!     pixel: [10.0, 10.0],
//! };
//! let bytes = dem.to_geotiff().unwrap();
//! let back = Dem::from_geotiff(&bytes).unwrap();
//! assert_eq!(back.crs, dem.crs);
//! assert_eq!(back.values[1], 2.0);
//! assert!(back.values[4].is_nan());
//! // Pixel (0, 0) covers x in [500000, 500010], y in [3999990, 4000000]; its centre:
//! assert_eq!(back.sample(500_005.0, 3_999_995.0), Some(1.0));
//! ```

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::encoder::{TiffEncoder, colortype::Gray32Float};
use tiff::tags::Tag;

/// Largest raster accepted, in pixels (a 8000 × 8000 DEM).
pub const MAX_PIXELS: usize = 64_000_000;

/// The coordinate reference system of a DEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DemCrs {
    /// Longitude/latitude in degrees (EPSG 4326 or 4269).
    Geographic,
    /// UTM metres (EPSG 326zz/327zz or NAD83 269zz).
    Utm { zone: u8, south: bool },
}

/// Why a DEM could not be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DemError {
    #[error("not a readable TIFF: {0}")]
    Tiff(String),
    #[error("the TIFF has no {0} tag, so it is not a GeoTIFF")]
    MissingTag(&'static str),
    #[error("unsupported coordinate reference system: {0}")]
    UnsupportedCrs(String),
    #[error("unsupported raster: {0}")]
    UnsupportedRaster(String),
}

impl From<tiff::TiffError> for DemError {
    fn from(e: tiff::TiffError) -> Self {
        DemError::Tiff(e.to_string())
    }
}

/// A DEM as read: `values` row-major from the top (north) row, NaN where there is no data.
/// Pixel `(col, row)` covers `[origin.x + col·pixel.x, +pixel.x] × [origin.y − (row+1)·pixel.y,
/// origin.y − row·pixel.y]`; its value is taken at the pixel centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Dem {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f64>,
    pub crs: DemCrs,
    /// Top-left corner of the raster in CRS units.
    pub origin: [f64; 2],
    /// Pixel size in CRS units (both positive).
    pub pixel: [f64; 2],
}

const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const GEOGRAPHIC_TYPE: u16 = 2048;
const PROJECTED_CS_TYPE: u16 = 3072;
const PROJ_LINEAR_UNITS: u16 = 4099;
const RASTER_PIXEL_IS_POINT: u16 = 2;

impl Dem {
    /// Reads a GeoTIFF DEM from its bytes.
    pub fn from_geotiff(bytes: &[u8]) -> Result<Dem, DemError> {
        let mut d = Decoder::new(Cursor::new(bytes))?.with_limits(Limits::default());
        let (w, h) = d.dimensions()?;
        let (width, height) = (w as usize, h as usize);
        if width == 0 || height == 0 || width.saturating_mul(height) > MAX_PIXELS {
            return Err(DemError::UnsupportedRaster(format!(
                "{width} × {height} pixels (at most {MAX_PIXELS})"
            )));
        }
        let scale = d
            .find_tag(Tag::ModelPixelScaleTag)?
            .ok_or(DemError::MissingTag("ModelPixelScale"))?
            .into_f64_vec()?;
        let tie = d
            .find_tag(Tag::ModelTiepointTag)?
            .ok_or(DemError::MissingTag("ModelTiepoint"))?
            .into_f64_vec()?;
        if scale.len() < 2 || tie.len() < 6 || !(scale[0] > 0.0 && scale[1] > 0.0) {
            return Err(DemError::UnsupportedRaster(
                "ModelPixelScale/ModelTiepoint must give positive pixel sizes and one tie point"
                    .into(),
            ));
        }
        let keys = d
            .find_tag(Tag::GeoKeyDirectoryTag)?
            .ok_or(DemError::MissingTag("GeoKeyDirectory"))?
            .into_u16_vec()?;
        let key = |id: u16| -> Option<u16> {
            keys.get(4..)?
                .chunks_exact(4)
                .find(|k| k[0] == id && k[1] == 0)
                .map(|k| k[3])
        };
        let crs = crs_from_keys(
            key(GT_MODEL_TYPE),
            key(GEOGRAPHIC_TYPE),
            key(PROJECTED_CS_TYPE),
            key(PROJ_LINEAR_UNITS),
        )?;
        let nodata: Option<f64> = match d.find_tag(Tag::GdalNodata)? {
            Some(v) => v
                .into_string()
                .ok()
                .and_then(|s| s.trim_matches(char::from(0)).trim().parse().ok()),
            None => None,
        };
        let values: Vec<f64> = match d.read_image()? {
            DecodingResult::U8(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::U16(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::U32(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::I8(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::I16(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::I32(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::F32(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::F64(v) => v,
            _ => {
                return Err(DemError::UnsupportedRaster(
                    "sample format (use 8/16/32-bit integers or 32/64-bit floats)".into(),
                ));
            }
        };
        if values.len() != width * height {
            return Err(DemError::UnsupportedRaster(format!(
                "{} samples for {width} × {height} pixels (only single-band DEMs are supported)",
                values.len()
            )));
        }
        let values = values
            .into_iter()
            .map(|v| {
                if !v.is_finite()
                    || nodata.is_some_and(|n| (v - n).abs() <= 1e-6 * n.abs().max(1.0))
                {
                    f64::NAN
                } else {
                    v
                }
            })
            .collect();
        // With PixelIsPoint the tie point is a pixel centre; shift to the corner convention.
        let (mut ox, mut oy) = (tie[3] - tie[0] * scale[0], tie[4] + tie[1] * scale[1]);
        if key(GT_RASTER_TYPE) == Some(RASTER_PIXEL_IS_POINT) {
            ox -= scale[0] / 2.0;
            oy += scale[1] / 2.0;
        }
        Ok(Dem {
            width,
            height,
            values,
            crs,
            origin: [ox, oy],
            pixel: [scale[0], scale[1]],
        })
    }

    /// Writes this DEM as a float32 GeoTIFF (PixelIsArea), with GDAL nodata `-9999`.
    pub fn to_geotiff(&self) -> Result<Vec<u8>, DemError> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut enc = TiffEncoder::new(&mut buf)?;
            let mut image = enc.new_image::<Gray32Float>(self.width as u32, self.height as u32)?;
            let dir = image.encoder();
            dir.write_tag(
                Tag::ModelPixelScaleTag,
                &[self.pixel[0], self.pixel[1], 0.0][..],
            )?;
            dir.write_tag(
                Tag::ModelTiepointTag,
                &[0.0, 0.0, 0.0, self.origin[0], self.origin[1], 0.0][..],
            )?;
            let mut keys: Vec<u16> = vec![1, 1, 0, 0];
            let mut push = |id: u16, v: u16| keys.extend_from_slice(&[id, 0, 1, v]);
            match self.crs {
                DemCrs::Geographic => {
                    push(GT_MODEL_TYPE, 2);
                    push(GT_RASTER_TYPE, 1);
                    push(GEOGRAPHIC_TYPE, 4326);
                }
                DemCrs::Utm { zone, south } => {
                    push(GT_MODEL_TYPE, 1);
                    push(GT_RASTER_TYPE, 1);
                    push(
                        PROJECTED_CS_TYPE,
                        (if south { 32700 } else { 32600 }) + u16::from(zone),
                    );
                    push(PROJ_LINEAR_UNITS, 9001);
                }
            }
            keys[3] = ((keys.len() - 4) / 4) as u16;
            dir.write_tag(Tag::GeoKeyDirectoryTag, &keys[..])?;
            dir.write_tag(Tag::GdalNodata, "-9999")?;
            let data: Vec<f32> = self
                .values
                .iter()
                .map(|v| if v.is_finite() { *v as f32 } else { -9999.0 })
                .collect();
            image.write_data(&data)?;
        }
        Ok(buf.into_inner())
    }

    /// The value of pixel `(col, row)`, `None` outside or without data.
    pub fn pixel_value(&self, col: i64, row: i64) -> Option<f64> {
        if col < 0 || row < 0 || col as usize >= self.width || row as usize >= self.height {
            return None;
        }
        let v = self.values[row as usize * self.width + col as usize];
        v.is_finite().then_some(v)
    }

    /// Bilinear interpolation between pixel centres at CRS coordinates `(x, y)`; `None`
    /// outside the raster or next to missing data.
    pub fn sample(&self, x: f64, y: f64) -> Option<f64> {
        let fc = (x - self.origin[0]) / self.pixel[0] - 0.5;
        let fr = (self.origin[1] - y) / self.pixel[1] - 0.5;
        if !fc.is_finite() || !fr.is_finite() {
            return None;
        }
        let (c0, r0) = (fc.floor(), fr.floor());
        let (tx, ty) = (fc - c0, fr - r0);
        let (c0, r0) = (c0 as i64, r0 as i64);
        let get = |c: i64, r: i64, weight: f64| -> Option<f64> {
            if weight == 0.0 {
                Some(0.0)
            } else {
                self.pixel_value(c, r).map(|v| v * weight)
            }
        };
        Some(
            get(c0, r0, (1.0 - tx) * (1.0 - ty))?
                + get(c0 + 1, r0, tx * (1.0 - ty))?
                + get(c0, r0 + 1, (1.0 - tx) * ty)?
                + get(c0 + 1, r0 + 1, tx * ty)?,
        )
    }
}

fn crs_from_keys(
    model: Option<u16>,
    geographic: Option<u16>,
    projected: Option<u16>,
    linear_units: Option<u16>,
) -> Result<DemCrs, DemError> {
    if let Some(code) = projected {
        if linear_units.is_some_and(|u| u != 9001) {
            return Err(DemError::UnsupportedCrs(format!(
                "EPSG {code} with linear unit {} (only metres are supported)",
                linear_units.unwrap_or_default()
            )));
        }
        return match code {
            32601..=32660 => Ok(DemCrs::Utm {
                zone: (code - 32600) as u8,
                south: false,
            }),
            32701..=32760 => Ok(DemCrs::Utm {
                zone: (code - 32700) as u8,
                south: true,
            }),
            // NAD83 / UTM zones 1N–23N: within about a metre of WGS84 UTM.
            26901..=26923 => Ok(DemCrs::Utm {
                zone: (code - 26900) as u8,
                south: false,
            }),
            _ => Err(DemError::UnsupportedCrs(format!(
                "projected EPSG {code} (use WGS84 or NAD83 UTM, or geographic WGS84)"
            ))),
        };
    }
    match (model, geographic) {
        (_, Some(4326 | 4269)) | (Some(2), None) => Ok(DemCrs::Geographic),
        (_, Some(code)) => Err(DemError::UnsupportedCrs(format!(
            "geographic EPSG {code} (use 4326 or 4269)"
        ))),
        _ => Err(DemError::UnsupportedCrs(
            "the GeoKeys name no coordinate reference system".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geographic_round_trip_and_errors() {
        let dem = Dem {
            width: 2,
            height: 2,
            values: vec![100.0, 101.0, 102.0, 103.0],
            crs: DemCrs::Geographic,
            origin: [-103.5, 39.4],
            pixel: [0.001, 0.001],
        };
        let back = Dem::from_geotiff(&dem.to_geotiff().unwrap()).unwrap();
        assert_eq!(back, dem);
        let mid = back.sample(-103.499, 39.399).unwrap();
        assert!((mid - 101.5).abs() < 1e-6, "{mid}");
        assert_eq!(back.sample(-100.0, 39.0), None);
        assert!(matches!(
            Dem::from_geotiff(b"not a tiff"),
            Err(DemError::Tiff(_))
        ));
        assert!(matches!(
            crs_from_keys(Some(1), None, Some(2154), Some(9001)),
            Err(DemError::UnsupportedCrs(_))
        ));
    }
}
