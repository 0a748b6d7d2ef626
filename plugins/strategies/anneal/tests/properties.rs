//! Property tests: random concave parcels with holes and exclusions, random programs (round
//! tanks and ponds, L-shaped buildings and yards, rectangles; priorities; a pair spacing), random
//! seeds — every layout the strategy returns passes the validator (it has roads reaching every
//! placed asset, and nothing overlaps, crowds or leaves the buildable area). A failing case
//! prints its seed so it can be replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entmoot_plugin_sdk::geo::{Coord, LineString, MultiPolygon, Polygon};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::program::{
    AssetSpec, AssetType, FootprintInput, Program, Rotations, SpacingOverride, Units,
};
use entmoot_plugin_sdk::site::{Exclusion, Site};
use entmoot_plugin_sdk::{RunContext, RunRequest, Strategy, validate_layout};
use entmoot_strategy_anneal::AnnealStrategy;
use entmoot_strategy_anneal::rng::Rng;

/// A star-shaped (so concave, never self-intersecting) parcel around (-103.4, 39.35) of
/// 150–400 m radius, with a square hole and up to two exclusions.
fn random_site(rng: &mut Rng) -> Site {
    let (lon0, lat0): (f64, f64) = (-103.4, 39.35);
    let m_lon = 1.0 / (111_320.0 * lat0.to_radians().cos());
    let m_lat = 1.0 / 111_320.0;
    let at = |x: f64, y: f64| Coord {
        x: lon0 + x * m_lon,
        y: lat0 + y * m_lat,
    };
    let n = 7 + rng.below(6);
    let base = 150.0 + 250.0 * rng.unit();
    let mut ring: Vec<Coord<f64>> = (0..n)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            let r = base * (0.6 + 0.4 * rng.unit());
            at(r * a.cos(), r * a.sin())
        })
        .collect();
    ring.push(ring[0]);
    let h = 0.1 * base;
    let (hx, hy) = (
        0.2 * base * (rng.unit() - 0.5),
        0.2 * base * (rng.unit() - 0.5),
    );
    let hole = vec![
        at(hx - h, hy - h),
        at(hx - h, hy + h),
        at(hx + h, hy + h),
        at(hx + h, hy - h),
        at(hx - h, hy - h),
    ];
    let mut site = Site::from_boundary(MultiPolygon::new(vec![Polygon::new(
        LineString::new(ring),
        vec![LineString::new(hole)],
    )]));
    for _ in 0..rng.below(3) {
        let (cx, cy) = (
            0.5 * base * (rng.unit() - 0.5),
            0.5 * base * (rng.unit() - 0.5),
        );
        let s = 0.08 * base;
        site.exclusions.push(Exclusion {
            kind: entmoot_plugin_sdk::program::ExclusionKind::Wetland,
            buffer_m: 10.0 * rng.unit(),
            geometry: entmoot_plugin_sdk::geo::Geometry::Polygon(Polygon::new(
                LineString::new(vec![
                    at(cx, cy),
                    at(cx + s, cy),
                    at(cx + s, cy + s),
                    at(cx, cy + s),
                    at(cx, cy),
                ]),
                vec![],
            )),
            name: None,
        });
    }
    site
}

fn random_program(rng: &mut Rng) -> Program {
    let types = [
        AssetType::Building,
        AssetType::ParkingLot,
        AssetType::EquipmentYard,
        AssetType::StorageTank,
        AssetType::Pond,
    ];
    let rotations = [Rotations::Fixed, Rotations::QuarterTurns, Rotations::Free];
    Program {
        units: Units::Metres,
        setback: 3.0 + 10.0 * rng.unit(),
        min_spacing: 2.0 + 8.0 * rng.unit(),
        max_coverage: 0.2 + 0.6 * rng.unit(),
        entrance: None,
        exclusions: Vec::new(),
        assets: (0..1 + rng.below(3))
            .map(|k| {
                let asset_type = types[rng.below(types.len())];
                let width = 8.0 + 30.0 * rng.unit();
                let length = 8.0 + 40.0 * rng.unit();
                // Round tanks and ponds, L-shaped buildings and yards, rectangles.
                let (width, length, footprint) = match (asset_type, rng.below(2)) {
                    (AssetType::StorageTank | AssetType::Pond, 0) => {
                        (width, 0.0, FootprintInput::Circle)
                    }
                    (AssetType::Building | AssetType::EquipmentYard, 0) => (
                        0.0,
                        0.0,
                        FootprintInput::Polygon(vec![
                            [0.0, 0.0],
                            [width, 0.0],
                            [width, length / 3.0],
                            [width / 3.0, length / 3.0],
                            [width / 3.0, length],
                            [0.0, length],
                        ]),
                    ),
                    _ => (width, length, FootprintInput::Rectangle),
                };
                AssetSpec {
                    name: format!("asset {k}"),
                    asset_type,
                    width,
                    length,
                    quantity: 1 + rng.below(12) as u32,
                    rotations: rotations[rng.below(rotations.len())],
                    footprint,
                    priority: rng.below(3) as i32,
                }
            })
            .collect(),
        costs: None,
        objectives: None,
        roads: None,
        max_slope_percent: None,
        side_setbacks: Default::default(),
        // Sometimes a pair of types that must keep further apart (or may come closer).
        spacing_overrides: if rng.below(2) == 0 {
            vec![SpacingOverride {
                between: [types[rng.below(types.len())], types[rng.below(types.len())]],
                spacing: 1.0 + 20.0 * rng.unit(),
            }]
        } else {
            Vec::new()
        },
    }
}

#[test]
fn every_returned_layout_is_valid() {
    let mut solved = 0;
    for case in 0..12u64 {
        let mut rng = Rng::new(1000 + case);
        let site = random_site(&mut rng);
        let program = random_program(&mut rng);
        let Ok(problem) = prepare_problem(&site, &program) else {
            continue; // e.g. the setback consumed a small parcel: nothing to solve
        };
        let request = RunRequest {
            seed: case,
            alternatives: 2,
            parameters: serde_json::json!({"iterations": 16}),
            ..RunRequest::default()
        };
        let layouts = AnnealStrategy
            .run(&problem, &request, &mut RunContext::detached())
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        for (i, l) in layouts.iter().enumerate() {
            assert_eq!(
                validate_layout(&problem, l),
                vec![],
                "case {case}, alternative {i}"
            );
        }
        solved += 1;
    }
    assert!(solved >= 8, "only {solved} random cases could be prepared");
}
