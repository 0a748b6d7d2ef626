//! The parcel as the platform stores it: boundary, exclusion zones and entrances, all in
//! WGS84 longitude/latitude. `prepare::prepare_problem` turns it into metres.

use geo::{Coord, CoordsIter, Geometry, MultiPolygon};
use serde::{Deserialize, Serialize};

use crate::geometry::{serde_coords, serde_geometry, serde_multipolygon};
use crate::program::{ExclusionKind, FieldError, Problems, check_lon_lat};

/// A land parcel (WGS84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Parcel boundary; holes (interior rings) are areas outside the parcel.
    #[serde(with = "serde_multipolygon")]
    pub boundary: MultiPolygon<f64>,
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
    /// Entrances, `[lon, lat]`.
    #[serde(default, with = "serde_coords")]
    pub entrances: Vec<Coord<f64>>,
}

/// An area of the site that must stay free, plus `buffer_m` metres around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub kind: ExclusionKind,
    #[serde(default)]
    pub buffer_m: f64,
    #[serde(with = "serde_geometry")]
    pub geometry: Geometry<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Site {
    /// A site with only a boundary.
    pub fn from_boundary(boundary: MultiPolygon<f64>) -> Site {
        Site {
            boundary,
            exclusions: Vec::new(),
            entrances: Vec::new(),
        }
    }

    /// Checks coordinates are finite WGS84 and buffers are non-negative; lists every problem
    /// with its path (`site.boundary[0].exterior[3]`).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut p = Problems::default();
        if self.boundary.0.is_empty() {
            p.push("site.boundary", "is empty");
        }
        for (i, polygon) in self.boundary.0.iter().enumerate() {
            let rings = std::iter::once(("exterior".to_string(), polygon.exterior())).chain(
                polygon
                    .interiors()
                    .iter()
                    .enumerate()
                    .map(|(j, r)| (format!("interiors[{j}]"), r)),
            );
            for (ring_name, ring) in rings {
                let path = format!("site.boundary[{i}].{ring_name}");
                if ring.0.len() < 4 {
                    p.push(
                        path.clone(),
                        format!(
                            "a ring needs at least 4 positions (3 corners and the closing one), got {}",
                            ring.0.len()
                        ),
                    );
                }
                for (k, c) in ring.0.iter().enumerate() {
                    if !check_lon_lat(&mut p, &format!("{path}[{k}]"), c.x, c.y) {
                        break;
                    }
                }
            }
        }
        for (i, e) in self.exclusions.iter().enumerate() {
            let path = format!("site.exclusions[{i}]");
            p.distance(format!("{path}.buffer_m"), e.buffer_m);
            if let Some(name) = &e.name {
                p.name(format!("{path}.name"), name);
            }
            for (k, c) in e.geometry.coords_iter().enumerate() {
                if !check_lon_lat(
                    &mut p,
                    &format!("{path}.geometry (coordinate {k})"),
                    c.x,
                    c.y,
                ) {
                    break;
                }
            }
        }
        for (i, c) in self.entrances.iter().enumerate() {
            check_lon_lat(&mut p, &format!("site.entrances[{i}]"), c.x, c.y);
        }
        if p.0.is_empty() { Ok(()) } else { Err(p.0) }
    }
}
