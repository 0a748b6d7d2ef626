//! WGS84 ⇄ UTM projection (pure Rust, proj4rs): every computation runs in metres in the UTM
//! zone of the site's centroid and is projected back to longitude/latitude for output.

use geo::{Coord, MapCoords};
use proj4rs::Proj;
use serde::{Deserialize, Serialize};

/// Why a coordinate could not be projected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProjectionError {
    #[error("UTM zone must be in 1..=60, got {0}")]
    BadZone(u8),
    #[error("cannot set up the projection `{definition}`: {reason}")]
    Setup { definition: String, reason: String },
    #[error("cannot project ({x}, {y}) {direction}: {reason}")]
    Transform {
        x: f64,
        y: f64,
        direction: &'static str,
        reason: String,
    },
}

/// A UTM zone on the WGS84 datum. Serialised in a problem so every party projects alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    /// UTM zone, 1..=60.
    pub zone: u8,
    /// Southern hemisphere (false northing 10 000 km).
    pub south: bool,
}

impl Projection {
    /// The standard UTM zone containing `lon`/`lat` (degrees). The Norway and Svalbard
    /// exceptions are not applied; any zone is accurate enough near its central meridian.
    pub fn for_lon_lat(lon: f64, lat: f64) -> Projection {
        let zone = ((lon + 180.0) / 6.0).floor().clamp(0.0, 59.0) as u8 + 1;
        Projection {
            zone,
            south: lat < 0.0,
        }
    }

    /// EPSG code of this zone (326zz north, 327zz south).
    pub fn epsg(&self) -> u32 {
        (if self.south { 32700 } else { 32600 }) + u32::from(self.zone)
    }

    /// The proj string of this zone.
    pub fn proj_string(&self) -> String {
        format!(
            "+proj=utm +zone={}{} +datum=WGS84 +units=m +no_defs",
            self.zone,
            if self.south { " +south" } else { "" }
        )
    }

    /// Builds the transformer for this zone.
    pub fn projector(&self) -> Result<Projector, ProjectionError> {
        if !(1..=60).contains(&self.zone) {
            return Err(ProjectionError::BadZone(self.zone));
        }
        let setup = |definition: &str| {
            Proj::from_proj_string(definition).map_err(|e| ProjectionError::Setup {
                definition: definition.to_string(),
                reason: e.to_string(),
            })
        };
        Ok(Projector {
            projection: *self,
            utm: setup(&self.proj_string())?,
            wgs84: setup("+proj=longlat +datum=WGS84 +no_defs")?,
        })
    }
}

/// Projects coordinates between WGS84 (degrees) and one UTM zone (metres).
pub struct Projector {
    projection: Projection,
    utm: Proj,
    wgs84: Proj,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("projection", &self.projection)
            .finish_non_exhaustive()
    }
}

impl Projector {
    /// The zone this projector targets.
    pub fn projection(&self) -> Projection {
        self.projection
    }

    /// WGS84 `(lon, lat)` degrees → UTM `(easting, northing)` metres.
    pub fn to_metres(&self, c: Coord<f64>) -> Result<Coord<f64>, ProjectionError> {
        let mut p = (c.x.to_radians(), c.y.to_radians(), 0.0);
        proj4rs::transform::transform(&self.wgs84, &self.utm, &mut p).map_err(|e| {
            ProjectionError::Transform {
                x: c.x,
                y: c.y,
                direction: "from WGS84 to UTM",
                reason: e.to_string(),
            }
        })?;
        finite(Coord { x: p.0, y: p.1 }, c, "from WGS84 to UTM")
    }

    /// UTM `(easting, northing)` metres → WGS84 `(lon, lat)` degrees.
    pub fn to_wgs84(&self, c: Coord<f64>) -> Result<Coord<f64>, ProjectionError> {
        let mut p = (c.x, c.y, 0.0);
        proj4rs::transform::transform(&self.utm, &self.wgs84, &mut p).map_err(|e| {
            ProjectionError::Transform {
                x: c.x,
                y: c.y,
                direction: "from UTM to WGS84",
                reason: e.to_string(),
            }
        })?;
        finite(
            Coord {
                x: p.0.to_degrees(),
                y: p.1.to_degrees(),
            },
            c,
            "from UTM to WGS84",
        )
    }

    /// Projects a whole geometry to metres.
    pub fn geometry_to_metres<G>(&self, g: &G) -> Result<G::Output, ProjectionError>
    where
        G: MapCoords<f64, f64>,
    {
        g.try_map_coords(|c| self.to_metres(c))
    }

    /// Projects a whole geometry back to WGS84.
    pub fn geometry_to_wgs84<G>(&self, g: &G) -> Result<G::Output, ProjectionError>
    where
        G: MapCoords<f64, f64>,
    {
        g.try_map_coords(|c| self.to_wgs84(c))
    }
}

fn finite(
    out: Coord<f64>,
    input: Coord<f64>,
    direction: &'static str,
) -> Result<Coord<f64>, ProjectionError> {
    if out.x.is_finite() && out.y.is_finite() {
        Ok(out)
    } else {
        Err(ProjectionError::Transform {
            x: input.x,
            y: input.y,
            direction,
            reason: "result is not finite".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_selection() {
        assert_eq!(
            Projection::for_lon_lat(-103.4, 39.35),
            Projection {
                zone: 13,
                south: false
            }
        );
        assert_eq!(Projection::for_lon_lat(-180.0, 0.0).zone, 1);
        assert_eq!(Projection::for_lon_lat(180.0, 0.0).zone, 60);
        assert_eq!(Projection::for_lon_lat(151.2, -33.9).epsg(), 32756);
        assert!(
            Projection {
                zone: 0,
                south: false
            }
            .projector()
            .is_err()
        );
    }

    #[test]
    fn known_points_project_like_proj() {
        // Reference values from PROJ 9 (Debian's cs2cs):
        // echo "-103.4020 39.3500" | cs2cs +proj=longlat +datum=WGS84 +to +proj=utm +zone=13 +datum=WGS84
        for (lon, lat, e, n) in [
            (-103.402, 39.35, 637_692.856_9, 4_356_835.287_0),
            (151.2, -33.9, 333_568.941_0, 6_247_473.336_8),
        ] {
            let p = Projection::for_lon_lat(lon, lat).projector().unwrap();
            let m = p.to_metres(Coord { x: lon, y: lat }).unwrap();
            assert!((m.x - e).abs() < 1e-3, "{m:?}");
            assert!((m.y - n).abs() < 1e-3, "{m:?}");
        }
    }

    #[test]
    fn round_trip_is_below_one_centimetre() {
        for &(lon, lat) in &[
            (-103.402, 39.35),
            (-103.397, 39.354),
            (2.35, 48.85),
            (151.2, -33.9),
            (-70.6, -53.1),
            (0.0, 0.0),
            (-177.0, 64.0),
        ] {
            let p = Projection::for_lon_lat(lon, lat).projector().unwrap();
            // Points up to ~3 km away from the reference, as on a large parcel.
            for (dx, dy) in [(0.0, 0.0), (0.03, 0.02), (-0.03, -0.02)] {
                let c = Coord {
                    x: lon + dx,
                    y: lat + dy,
                };
                let back = p.to_wgs84(p.to_metres(c).unwrap()).unwrap();
                let m1 = p.to_metres(c).unwrap();
                let m2 = p.to_metres(back).unwrap();
                let err_m = ((m1.x - m2.x).powi(2) + (m1.y - m2.y).powi(2)).sqrt();
                assert!(err_m < 0.01, "round trip error {err_m} m at {c:?}");
                assert!((back.x - c.x).abs() < 1e-9 && (back.y - c.y).abs() < 1e-9);
            }
        }
    }
}
