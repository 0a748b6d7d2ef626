//! Reference inputs shipped with the sdk: the rural demo parcel and its program. Plugin
//! authors and the host's conformance check use them to exercise a strategy on a real site.

use geo::MultiPolygon;

use crate::program::{AssetSpec, AssetType, Program, Rotations, Units};
use crate::site::Site;

/// The rural demo parcel (about 47 acres in Lincoln County, Colorado) as GeoJSON, the same
/// polygon as `tests/fixtures/rural_demo.kml` (from the earlier Python project, MIT licence).
pub const RURAL_DEMO_GEOJSON: &str = include_str!("../fixtures/rural_demo.geojson");

/// Reads the boundary of the first feature of a GeoJSON FeatureCollection.
pub fn site_from_feature_collection(json: &str) -> Result<Site, String> {
    let fc: geojson::FeatureCollection =
        serde_json::from_str(json).map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    let geometry = fc
        .features
        .first()
        .and_then(|f| f.geometry.as_ref())
        .ok_or("features[0].geometry: missing")?;
    let boundary = match crate::geometry::geojson_to_geo(geometry)
        .map_err(|e| format!("features[0].geometry: {e}"))?
    {
        geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
        geo::Geometry::MultiPolygon(mp) => mp,
        other => {
            return Err(format!(
                "features[0].geometry: expected a Polygon or MultiPolygon, got {}",
                crate::geometry::geometry_type_name(&other)
            ));
        }
    };
    Ok(Site::from_boundary(boundary))
}

/// The rural demo site.
pub fn rural_demo_site() -> Site {
    // The embedded file is a constant checked by the `rural_demo_fixture_parses` test, so
    // this cannot fail at run time; an empty site would be reported by `prepare_problem`.
    site_from_feature_collection(RURAL_DEMO_GEOJSON)
        .unwrap_or_else(|_| Site::from_boundary(MultiPolygon::new(vec![])))
}

/// The earlier project's end-to-end program: `buildings` buildings of 60 × 80 ft, a 20 ft
/// setback and 10 ft spacing.
pub fn rural_demo_program(buildings: u32) -> Program {
    Program {
        units: Units::Feet,
        setback: 20.0,
        min_spacing: 10.0,
        max_coverage: crate::program::DEFAULT_MAX_COVERAGE,
        entrance: None,
        exclusions: Vec::new(),
        assets: vec![AssetSpec {
            name: "Building".into(),
            asset_type: AssetType::Building,
            width: 60.0,
            length: 80.0,
            quantity: buildings,
            rotations: Rotations::QuarterTurns,
            footprint: Default::default(),
            priority: 0,
        }],
        costs: None,
        objectives: None,
        roads: None,
        max_slope_percent: None,
        side_setbacks: Default::default(),
        spacing_overrides: Vec::new(),
    }
}

/// South-west corner of the large ranch fixture, `[lon, lat]`.
const RANCH_ORIGIN: [f64; 2] = [-103.46, 39.30];

/// Kilometre offsets east/north of `RANCH_ORIGIN` as WGS84 `[lon, lat]` (local equirectangular
/// scale; the parcel is a synthetic fixture, so exact distances do not matter).
fn ranch_lon_lat(east_km: f64, north_km: f64) -> [f64; 2] {
    let km_per_deg_lat = 111.32;
    let km_per_deg_lon = km_per_deg_lat * RANCH_ORIGIN[1].to_radians().cos();
    [
        RANCH_ORIGIN[0] + east_km / km_per_deg_lon,
        RANCH_ORIGIN[1] + north_km / km_per_deg_lat,
    ]
}

/// A synthetic ~600-acre ranch (1.9 × 1.4 km with a notch in the north edge and a private
/// inholding as a hole) with a wetland, a floodplain band, a utility easement line and an
/// existing structure, and an entrance on the south edge.
pub fn large_ranch_site() -> Site {
    use crate::program::ExclusionKind;
    use crate::site::Exclusion;
    use geo::{Coord, Geometry, LineString, Point, Polygon};
    let ring = |pts: &[(f64, f64)]| {
        LineString::new(
            pts.iter()
                .map(|&(e, n)| {
                    let [x, y] = ranch_lon_lat(e, n);
                    Coord { x, y }
                })
                .collect(),
        )
    };
    let outer = ring(&[
        (0.0, 0.0),
        (1.9, 0.0),
        (1.9, 1.4),
        (1.2, 1.4),
        (1.2, 1.0),
        (0.7, 1.0),
        (0.7, 1.4),
        (0.0, 1.4),
        (0.0, 0.0),
    ]);
    let hole = ring(&[(1.5, 0.2), (1.5, 0.4), (1.7, 0.4), (1.7, 0.2), (1.5, 0.2)]);
    let poly = |pts: &[(f64, f64)]| Geometry::Polygon(Polygon::new(ring(pts), vec![]));
    let [sx, sy] = ranch_lon_lat(0.95, 0.0);
    Site {
        boundary: MultiPolygon::new(vec![Polygon::new(outer, vec![hole])]),
        exclusions: vec![
            Exclusion {
                kind: ExclusionKind::Wetland,
                buffer_m: 30.0,
                geometry: poly(&[
                    (0.3, 0.3),
                    (0.6, 0.32),
                    (0.62, 0.55),
                    (0.35, 0.6),
                    (0.3, 0.3),
                ]),
                name: Some("marsh".into()),
            },
            Exclusion {
                kind: ExclusionKind::Floodplain,
                buffer_m: 0.0,
                geometry: poly(&[
                    (1.25, 0.6),
                    (1.9, 0.75),
                    (1.9, 0.85),
                    (1.25, 0.72),
                    (1.25, 0.6),
                ]),
                name: Some("creek floodplain".into()),
            },
            Exclusion {
                kind: ExclusionKind::Utility,
                buffer_m: 15.0,
                geometry: Geometry::LineString(ring(&[(0.0, 0.9), (0.65, 0.9)])),
                name: Some("power line easement".into()),
            },
            Exclusion {
                kind: ExclusionKind::ExistingStructure,
                buffer_m: 20.0,
                geometry: {
                    let [x, y] = ranch_lon_lat(1.0, 0.5);
                    Geometry::Point(Point::new(x, y))
                },
                name: Some("old barn".into()),
            },
        ],
        entrances: vec![Coord { x: sx, y: sy }],
    }
}

/// The large ranch's program: 200 mixed assets (metres, 15 m setback, 8 m spacing).
pub const LARGE_RANCH_PROGRAM: &str = r#"{
  "units": "m", "setback": 15, "min_spacing": 8,
  "assets": [
    {"name": "Warehouse", "type": "building", "width": 30, "length": 50, "quantity": 80},
    {"name": "Office", "type": "building", "width": 20, "length": 25, "quantity": 40},
    {"name": "Parking", "type": "parking_lot", "width": 40, "length": 60, "quantity": 20},
    {"name": "Yard", "type": "equipment_yard", "width": 50, "length": 50, "quantity": 20},
    {"name": "Tank", "type": "storage_tank", "width": 15, "length": 15, "quantity": 30, "rotations": "fixed"},
    {"name": "Pond", "type": "pond", "width": 40, "length": 40, "quantity": 10}
  ]
}"#;

/// The large ranch's program, parsed.
pub fn large_ranch_program() -> Program {
    // A constant checked by the `large_ranch_fixture_prepares` test; an unparsable constant
    // would surface there, so fall back to the demo program rather than panic here.
    Program::from_json_str(LARGE_RANCH_PROGRAM).unwrap_or_else(|_| rural_demo_program(1))
}

/// A mixed program of 15 assets for the rural demo parcel (metres, 10 m setback, 5 m
/// spacing): 2 warehouses, 5 offices, 2 parking lots and 6 fixed-rotation tanks.
pub const RURAL_DEMO_MIXED_PROGRAM: &str = r#"{
  "units": "m", "setback": 10, "min_spacing": 5,
  "assets": [
    {"name": "Warehouse", "type": "building", "width": 60, "length": 120, "quantity": 2},
    {"name": "Office", "type": "building", "width": 20, "length": 30, "quantity": 5},
    {"name": "Parking", "type": "parking_lot", "width": 40, "length": 50, "quantity": 2},
    {"name": "Tank", "type": "storage_tank", "width": 12, "length": 12, "quantity": 6, "rotations": "fixed"}
  ]
}"#;

/// The rural demo's mixed program, parsed.
pub fn rural_demo_mixed_program() -> Program {
    // A constant checked by the `mixed_program_parses` test; fall back rather than panic.
    Program::from_json_str(RURAL_DEMO_MIXED_PROGRAM).unwrap_or_else(|_| rural_demo_program(1))
}

/// A 5 m UTM (zone 13) GeoTIFF DEM over the rural demo parcel, 50 m wider on every side,
/// with elevation `1500 + relief(x, y)` where x and y are metres east and north of the
/// parcel's south-west corner (of its projected bounding box). Also returns that
/// corner. Tests of terrain (steep ground, earthwork) build their ground with it.
#[allow(clippy::expect_used)]
pub fn rural_demo_dem(relief: impl Fn(f64, f64) -> f64) -> (Vec<u8>, [f64; 2]) {
    use geo::BoundingRect;
    // Invariant: the shipped fixture prepares and its boundary has an extent, and a
    // raster of these dimensions encodes (both are checked by the sdk's own tests).
    let problem = crate::prepare::prepare_problem(&rural_demo_site(), &rural_demo_program(1))
        .expect("the rural demo fixture prepares");
    let bounds = problem
        .boundary_m
        .bounding_rect()
        .expect("the rural demo boundary has an extent");
    let pixel = 5.0;
    let origin = [bounds.min().x - 50.0, bounds.max().y + 50.0];
    let width = ((bounds.width() + 100.0) / pixel).ceil() as usize;
    let height = ((bounds.height() + 100.0) / pixel).ceil() as usize;
    let mut values = Vec::with_capacity(width * height);
    for row in 0..height {
        for col in 0..width {
            let x = origin[0] + (col as f64 + 0.5) * pixel - bounds.min().x;
            let y = origin[1] - (row as f64 + 0.5) * pixel - bounds.min().y;
            values.push(1500.0 + relief(x, y));
        }
    }
    let dem = crate::geotiff::Dem {
        width,
        height,
        values,
        crs: crate::geotiff::DemCrs::Utm {
            zone: 13,
            south: false,
        },
        origin,
        pixel: [pixel, pixel],
    };
    (
        dem.to_geotiff().expect("a finite raster encodes"),
        [bounds.min().x, bounds.min().y],
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn mixed_program_parses() {
        let program = Program::from_json_str(RURAL_DEMO_MIXED_PROGRAM).unwrap();
        let count: u32 = program.assets.iter().map(|a| a.quantity).sum();
        assert_eq!(count, 15);
    }

    #[test]
    fn large_ranch_fixture_prepares() {
        let program = Program::from_json_str(LARGE_RANCH_PROGRAM).unwrap();
        assert_eq!(program.assets.iter().map(|a| a.quantity).sum::<u32>(), 200);
        let p = crate::prepare::prepare_problem(&large_ranch_site(), &program).unwrap();
        let acres = p.boundary_area_m2 / 4046.856;
        assert!(acres > 500.0, "{acres}");
        assert_eq!(p.exclusions_m.len(), 4);
    }

    use super::*;

    #[test]
    fn rural_demo_fixture_parses() {
        let site = site_from_feature_collection(RURAL_DEMO_GEOJSON).unwrap();
        assert_eq!(site.boundary.0.len(), 1);
        assert_eq!(site.boundary.0[0].exterior().0.len(), 5);
        assert!(site.validate().is_ok());
    }

    #[test]
    fn fixture_matches_the_kml() {
        // The repository's KML fixture has the same corner coordinates.
        let kml = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/rural_demo.kml");
        let text = std::fs::read_to_string(&kml)
            .unwrap_or_else(|error| panic!("{}: {error}", kml.display()));
        let start = text.find("<coordinates>").unwrap() + "<coordinates>".len();
        let end = text.find("</coordinates>").unwrap();
        let kml_coords: Vec<[f64; 2]> = text[start..end]
            .split_whitespace()
            .map(|t| {
                let v: Vec<f64> = t.split(',').map(|n| n.parse().unwrap()).collect();
                [v[0], v[1]]
            })
            .collect();
        let site = rural_demo_site();
        let ours: Vec<[f64; 2]> = site.boundary.0[0]
            .exterior()
            .coords()
            .map(|c| [c.x, c.y])
            .collect();
        assert_eq!(kml_coords, ours);
    }

    #[test]
    fn bad_collections_are_explained() {
        assert!(
            site_from_feature_collection("{}")
                .unwrap_err()
                .contains("FeatureCollection")
        );
        let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
            "geometry":{"type":"Point","coordinates":[1,2]}}]}"#;
        assert!(
            site_from_feature_collection(point)
                .unwrap_err()
                .contains("got Point")
        );
    }
}
