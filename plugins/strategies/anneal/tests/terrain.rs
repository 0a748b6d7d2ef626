//! Terrain changes layouts: a DEM fixture GeoTIFF is generated (written with the `tiff`
//! crate, read back through the sdk's GeoTIFF reader) and given to `prepare_problem_with_terrain`.
//! Steep ground is removed from the buildable area, and the search moves pads off rough ground
//! to cut earthwork; without the DEM, earthwork is reported as unknown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::geo::BoundingRect;
use entmoot_plugin_sdk::geotiff::Dem;
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::prepare::{prepare_problem, prepare_problem_with_terrain};
use entmoot_plugin_sdk::{Layout, Problem, RunContext, RunRequest, Strategy, validate_layout};
use entmoot_strategy_anneal::AnnealStrategy;

/// The sdk's DEM fixture over the rural demo parcel, and the parcel's projected width.
fn dem_fixture(f: impl Fn(f64, f64) -> f64) -> (Vec<u8>, f64) {
    let plain = prepare_problem(&rural_demo_site(), &rural_demo_program(1)).unwrap();
    let width = plain.boundary_m.bounding_rect().unwrap().width();
    (entmoot_plugin_sdk::fixtures::rural_demo_dem(f).0, width)
}

fn solve(problem: &Problem) -> Layout {
    let request = RunRequest {
        seed: 7,
        parameters: serde_json::json!({"iterations": 120}),
        ..RunRequest::default()
    };
    AnnealStrategy
        .run(problem, &request, &mut RunContext::detached())
        .unwrap()
        .remove(0)
}

#[test]
fn steep_ground_is_excluded_and_the_layout_moves() {
    // The eastern half (where the entrance is) climbs at 30 %; the western half is flat. Roads
    // may climb 35 % here so that the west stays reachable from the entrance.
    let (tif, width) = dem_fixture(|x, _| if x < 215.0 { 0.0 } else { 0.3 * (x - 215.0) });
    assert!(width > 400.0);
    let dem = Dem::from_geotiff(&tif).unwrap();
    let site = rural_demo_site();
    let mut program = rural_demo_program(3);
    program.roads = Some(entmoot_plugin_sdk::program::RoadOptions {
        max_grade_percent: Some(35.0),
        ..Default::default()
    });
    let flat = prepare_problem(&site, &program).unwrap();
    let hilly = prepare_problem_with_terrain(&site, &program, Some(&dem)).unwrap();
    assert!(hilly.buildable_area_m2 < 0.6 * flat.buildable_area_m2);

    let without = solve(&flat);
    let with = solve(&hilly);
    assert_eq!(with.assets.len(), 3);
    assert_eq!(validate_layout(&hilly, &with), vec![]);
    let west_edge = hilly.boundary_m.bounding_rect().unwrap().min().x;
    for a in &with.assets {
        assert!(a.center[0] - west_edge < 215.0, "{a:?} stands on the slope");
    }
    assert!(
        without
            .assets
            .iter()
            .any(|a| a.center[0] - west_edge > 215.0),
        "without terrain the buildings sit by the entrance, on what is really a slope"
    );
    // Without a DEM earthwork is unknown, never guessed.
    let m = layout_metrics(&flat, &without);
    assert_eq!(m.earthwork, None);
    assert!(
        m.earthwork_status.starts_with("unknown"),
        "{}",
        m.earthwork_status
    );
    assert!(!m.cost.complete);
    let m = layout_metrics(&hilly, &with);
    assert!(m.earthwork.is_some());
    assert!(m.cost.complete);
}

#[test]
fn earthwork_moves_pads_off_rough_ground() {
    // Bumps of ±1.8 m every 80 m (at most 14 % slope: buildable, but costly to grade) east of
    // x = 250 m; flat ground west of it.
    let bump = |x: f64, y: f64| {
        if x < 250.0 {
            0.0
        } else {
            let k = 2.0 * std::f64::consts::PI / 80.0;
            1.8 * (k * (x - 250.0)).sin() * (k * y).sin()
        }
    };
    let (tif, _) = dem_fixture(bump);
    let dem = Dem::from_geotiff(&tif).unwrap();
    let site = rural_demo_site();
    let program = rural_demo_program(3);
    let flat = prepare_problem(&site, &program).unwrap();
    let rough = prepare_problem_with_terrain(&site, &program, Some(&dem)).unwrap();
    let blind = solve(&flat);
    let aware = solve(&rough);
    assert_eq!(validate_layout(&rough, &aware), vec![]);
    // Measure both layouts on the real terrain (the blind one's roads ignore grades, so only
    // its pads are compared).
    let pads = |l: &Layout| {
        let pads_only = Layout {
            assets: l.assets.clone(),
            roads: vec![],
        };
        let e = layout_metrics(&rough, &pads_only).earthwork.unwrap();
        e.cut_m3 + e.fill_m3
    };
    let (b, a) = (pads(&blind), pads(&aware));
    println!("earthwork: terrain-blind layout {b:.0} m³, terrain-aware layout {a:.0} m³");
    assert!(a < b, "aware {a} vs blind {b}");
    assert_ne!(aware.assets, blind.assets);
    let m = layout_metrics(&rough, &aware);
    let e = m.earthwork.unwrap();
    assert!((e.cut_yd3 - e.cut_m3 * 1.307_950_6).abs() < 1e-3);
    assert!(m.slope_disturbance_percent.is_some());
}
