//! End-to-end tests of the greedy strategy on prepared problems: the rural demo requirement,
//! dense packing against a perfect-grid bound, rotated and holed parcels, time limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::geo::{Coord, MinimumRotatedRect, MultiPolygon, Polygon, Rotate, polygon};
use entmoot_plugin_sdk::metrics::layout_metrics;
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::program::{ExclusionInput, ExclusionKind, Rotations};
use entmoot_plugin_sdk::projection::Projection;
use entmoot_plugin_sdk::{Problem, RunContext, RunRequest, Site, Strategy, validate_layout};
use entmoot_strategy_greedy::GreedyStrategy;

fn solve(problem: &Problem, request: &RunRequest) -> Vec<entmoot_plugin_sdk::Layout> {
    GreedyStrategy
        .run(problem, request, &mut RunContext::detached())
        .unwrap()
}

/// How many `w` × `l` boxes (either orientation) a perfect grid with `spacing` gaps fits in a
/// `a` × `b` rectangle.
fn perfect_grid(a: f64, b: f64, w: f64, l: f64, spacing: f64) -> usize {
    let fit = |side: f64, d: f64| ((side + spacing) / (d + spacing)).floor() as usize;
    (fit(a, w) * fit(b, l)).max(fit(a, l) * fit(b, w))
}

/// Side lengths of the buildable area's minimum rotated rectangle.
fn min_rect_sides(area: &MultiPolygon<f64>) -> (f64, f64) {
    let rect: Polygon<f64> = area.minimum_rotated_rect().unwrap();
    let c: Vec<Coord<f64>> = rect.exterior().coords().copied().collect();
    let side = |i: usize| (c[i + 1].x - c[i].x).hypot(c[i + 1].y - c[i].y);
    (side(0), side(1))
}

#[test]
fn rural_demo_places_all_three_buildings_without_violations() {
    let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
    let layouts = solve(&problem, &RunRequest::default());
    assert_eq!(layouts.len(), 1);
    let layout = &layouts[0];
    assert_eq!(layout.assets.len(), 3);
    assert_eq!(validate_layout(&problem, layout), vec![]);
    let m = layout_metrics(&problem, layout);
    assert_eq!((m.requested, m.placed), (3, 3));
    assert!((m.footprint_m2 - 3.0 * 18.288 * 24.384).abs() < 1e-6);
}

#[test]
fn alternatives_are_distinct_valid_and_deterministic() {
    let problem = prepare_problem(&rural_demo_site(), &rural_demo_program(3)).unwrap();
    let request = RunRequest {
        alternatives: 5,
        ..RunRequest::default()
    };
    let a = solve(&problem, &request);
    let b = solve(&problem, &request);
    assert_eq!(a, b, "deterministic");
    assert_eq!(a.len(), 5);
    for (i, l) in a.iter().enumerate() {
        assert_eq!(validate_layout(&problem, l), vec![], "alternative {i}");
        assert_eq!(l.assets.len(), 3);
        for (j, earlier) in a[..i].iter().enumerate() {
            assert_ne!(earlier, l, "alternatives {j} and {i} are the same");
        }
    }
}

#[test]
fn packs_densely_and_fast() {
    let mut program = rural_demo_program(1000);
    program.max_coverage = 1.0;
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let (w, l, s) = (18.288, 24.384, 3.048);
    let (a, b) = min_rect_sides(&problem.buildable_m);
    let bound = perfect_grid(a, b, w, l, s);

    let started = Instant::now();
    let layouts = solve(&problem, &RunRequest::default());
    let elapsed = started.elapsed();
    let placed = layouts[0].assets.len();
    println!(
        "dense rural demo: placed {placed} of 1000; a perfect grid on the buildable area's \
         {a:.1} m × {b:.1} m minimum rotated rectangle holds {bound} ({:.1} %); {elapsed:?} for 8 variants",
        100.0 * placed as f64 / bound as f64
    );
    assert_eq!(validate_layout(&problem, &layouts[0]), vec![]);
    assert!(placed as f64 >= 0.95 * bound as f64, "{placed} vs {bound}");
    let budget = if cfg!(debug_assertions) { 60.0 } else { 5.0 };
    assert!(elapsed.as_secs_f64() < budget, "{elapsed:?}");
}

#[test]
fn stops_at_the_coverage_limit() {
    let mut program = rural_demo_program(1000);
    program.max_coverage = 0.1;
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let layout = &solve(&problem, &RunRequest::default())[0];
    let m = layout_metrics(&problem, layout);
    assert!(m.coverage <= 0.1 + 1e-9, "{}", m.coverage);
    let one = 18.288 * 24.384;
    assert!(m.coverage * problem.boundary_area_m2 + one > 0.1 * problem.boundary_area_m2);
    assert_eq!(validate_layout(&problem, layout), vec![]);
}

/// The rural demo parcel rotated by `degrees` about its centre, rigidly in metres (rotating
/// lon/lat directly would shear it, as a degree of longitude is shorter than one of latitude).
fn rotated_site(degrees: f64) -> Site {
    let mut site = rural_demo_site();
    let c = site.boundary.0[0].exterior().0[0];
    let projector = Projection::for_lon_lat(c.x, c.y).projector().unwrap();
    let metres: MultiPolygon<f64> = projector.geometry_to_metres(&site.boundary).unwrap();
    let rotated = metres.rotate_around_centroid(degrees);
    site.boundary = projector.geometry_to_wgs84(&rotated).unwrap();
    site
}

#[test]
fn aligns_with_a_rotated_parcel() {
    let mut program = rural_demo_program(1000);
    program.max_coverage = 1.0;
    let problem = prepare_problem(&rotated_site(30.0), &program).unwrap();
    let reference = problem.reference_angle_deg;
    assert!(reference > 5.0 && reference < 85.0, "{reference}");
    let (a, b) = min_rect_sides(&problem.buildable_m);
    let bound = perfect_grid(a, b, 18.288, 24.384, 3.048);
    let layout = &solve(&problem, &RunRequest::default())[0];
    let placed = layout.assets.len();
    println!("rotated parcel: placed {placed}, perfect grid {bound}");
    assert_eq!(validate_layout(&problem, layout), vec![]);
    assert!(placed as f64 >= 0.95 * bound as f64, "{placed} vs {bound}");
    assert!(
        layout.assets.iter().all(|a| {
            let d = (a.rotation_deg - reference).rem_euclid(90.0);
            d < 1e-6 || 90.0 - d < 1e-6
        }),
        "site-aligned"
    );
}

#[test]
fn fixed_rotation_stays_on_the_grid() {
    let mut program = rural_demo_program(20);
    program.assets[0].rotations = Rotations::Fixed;
    let problem = prepare_problem(&rotated_site(30.0), &program).unwrap();
    let layout = &solve(&problem, &RunRequest::default())[0];
    assert!(!layout.assets.is_empty());
    assert!(layout.assets.iter().all(|a| a.rotation_deg == 0.0));
    assert_eq!(validate_layout(&problem, layout), vec![]);
}

#[test]
fn avoids_exclusions_and_holes() {
    let mut site = rural_demo_site();
    // A hole in the parcel (not part of it) and a wetland with a 15 m buffer.
    let hole = polygon![
        (x: -103.4005, y: 39.3510), (x: -103.3995, y: 39.3510),
        (x: -103.3995, y: 39.3520), (x: -103.4005, y: 39.3520),
    ];
    site.boundary.0[0].interiors_push(hole.exterior().clone());
    let mut program = rural_demo_program(400);
    program.max_coverage = 1.0;
    program.exclusions.push(ExclusionInput {
        kind: ExclusionKind::Wetland,
        buffer: 50.0,
        geometry: entmoot_plugin_sdk::geojson::Geometry::new_polygon([[
            [-103.3985, 39.3525],
            [-103.3975, 39.3525],
            [-103.3980, 39.3535],
            [-103.3985, 39.3525],
        ]]),
    });
    let problem = prepare_problem(&site, &program).unwrap();
    let layout = &solve(&problem, &RunRequest::default())[0];
    assert!(layout.assets.len() > 100, "{}", layout.assets.len());
    assert_eq!(validate_layout(&problem, layout), vec![]);
}

#[test]
fn time_limit_returns_a_valid_partial_layout() {
    let mut program = rural_demo_program(1000);
    program.max_coverage = 1.0;
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let request = RunRequest {
        time_limit_ms: Some(0),
        ..RunRequest::default()
    };
    let mut ctx = RunContext::detached().with_time_limit(request.time_limit_ms);
    let layouts = GreedyStrategy.run(&problem, &request, &mut ctx).unwrap();
    assert_eq!(layouts.len(), 1);
    assert_eq!(validate_layout(&problem, &layouts[0]), vec![]);
}

#[test]
fn mixed_sizes_and_progress() {
    let json = r#"{
        "units": "m", "setback": 10, "min_spacing": 5,
        "assets": [
            {"name": "Warehouse", "type": "building", "width": 60, "length": 120, "quantity": 2},
            {"name": "Office", "type": "building", "width": 20, "length": 30, "quantity": 4},
            {"name": "Parking", "type": "parking_lot", "width": 40, "length": 50, "quantity": 2},
            {"name": "Tank", "type": "storage_tank", "width": 12, "length": 12, "quantity": 6, "rotations": "fixed"}
        ]}"#;
    let program = entmoot_plugin_sdk::Program::from_json_str(json).unwrap();
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let mut reports = Vec::new();
    let layouts = {
        let mut ctx = RunContext::new(|p| reports.push(p.clone()), || false);
        GreedyStrategy
            .run(&problem, &RunRequest::default(), &mut ctx)
            .unwrap()
    };
    assert_eq!(layouts[0].assets.len(), 14);
    assert_eq!(validate_layout(&problem, &layouts[0]), vec![]);
    assert_eq!(reports.len(), 8);
    assert_eq!(reports.last().unwrap().fraction, 1.0);
    assert_eq!(reports.last().unwrap().best_objective, Some(14.0));
    // The warehouses went first (largest first) and so sit in the packing corner.
    let ids: Vec<&str> = layouts[0]
        .assets
        .iter()
        .map(|a| a.asset_id.as_str())
        .collect();
    assert_eq!(&ids[..2], ["building-1", "building-2"]);
}

#[test]
fn large_ranch_200_mixed_assets_zero_violations_within_a_minute() {
    use entmoot_plugin_sdk::fixtures::{large_ranch_program, large_ranch_site};
    let problem = prepare_problem(&large_ranch_site(), &large_ranch_program()).unwrap();
    assert!(problem.boundary_area_m2 / 4046.856 > 500.0);
    let started = Instant::now();
    let layout = &solve(&problem, &RunRequest::default())[0];
    let elapsed = started.elapsed();
    println!(
        "large ranch: placed {} of 200 in {elapsed:?}",
        layout.assets.len()
    );
    assert_eq!(validate_layout(&problem, layout), vec![]);
    assert_eq!(layout.assets.len(), 200);
    assert!(elapsed.as_secs_f64() < 60.0, "{elapsed:?}");
}

#[test]
fn round_tanks_and_an_l_shaped_building_are_placed_as_their_outlines() {
    let program = entmoot_plugin_sdk::Program::from_json_str(
        r#"{
            "units": "ft", "setback": 20, "min_spacing": 10,
            "assets": [
                {"name": "Tank", "type": "storage_tank", "width": 40, "footprint": "circle", "quantity": 4},
                {"name": "Shop", "type": "building",
                 "footprint": [[0, 0], [120, 0], [120, 40], [40, 40], [40, 100], [0, 100]], "quantity": 2},
                {"name": "Barn", "type": "building", "width": 60, "length": 80}
            ]
        }"#,
    )
    .unwrap();
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let tank = problem.asset("storage_tank-1").unwrap();
    assert_eq!(tank.shape, entmoot_plugin_sdk::shape::Shape::Circle);
    // The L is 120 × 100 ft with 40 ft arms: 120·40 + 40·60 ft², not its box.
    let shop = problem.asset("building-1").unwrap();
    let l_area_ft2: f64 = 120.0 * 40.0 + 40.0 * 60.0;
    assert!((shop.area_m2() - l_area_ft2 * 0.3048 * 0.3048).abs() < 1e-6);
    let layouts = solve(&problem, &RunRequest::default());
    let best = &layouts[0];
    assert_eq!(
        best.assets.len(),
        7,
        "{:?}",
        layout_metrics(&problem, best).unplaced_asset_ids
    );
    assert_eq!(validate_layout(&problem, best), vec![]);
    for asset in &best.assets {
        let vertices = asset.footprint().exterior().coords().count() - 1;
        let expected = match asset.asset_type {
            entmoot_plugin_sdk::program::AssetType::StorageTank => 32,
            _ if asset.name == "Shop" => 6,
            _ => 4,
        };
        assert_eq!(vertices, expected, "{}", asset.asset_id);
    }
    // The metrics count the outlines: four circles of 20 ft radius are less than their
    // boxes.
    let metrics = layout_metrics(&problem, best);
    let boxes_m2: f64 = best.assets.iter().map(|a| a.width_m * a.length_m).sum();
    assert!(
        metrics.footprint_m2 < boxes_m2 - 1.0,
        "{} vs {boxes_m2}",
        metrics.footprint_m2
    );
}

#[test]
fn pair_spacings_and_priorities_are_honoured() {
    // 40 barns of ordinary priority and 4 shops of high priority listed last, on a
    // parcel that holds far fewer: every shop is placed. Tanks keep 100 ft from
    // buildings, though buildings keep only 10 ft from each other.
    let program = entmoot_plugin_sdk::Program::from_json_str(
        r#"{
            "units": "ft", "setback": 20, "min_spacing": 10, "max_coverage": 0.05,
            "spacing_overrides": [{"between": ["storage_tank", "building"], "spacing": 100}],
            "assets": [
                {"name": "Barn", "type": "building", "width": 60, "length": 80, "quantity": 40},
                {"name": "Tank", "type": "storage_tank", "width": 30, "footprint": "circle", "quantity": 3},
                {"name": "Shop", "type": "building", "width": 50, "length": 50, "quantity": 4, "priority": 10}
            ]
        }"#,
    )
    .unwrap();
    let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
    let best = solve(&problem, &RunRequest::default()).remove(0);
    assert_eq!(validate_layout(&problem, &best), vec![]);
    let placed = |name: &str| best.assets.iter().filter(|a| a.name == name).count();
    assert_eq!(placed("Shop"), 4, "the high-priority shops come first");
    assert!(placed("Barn") < 40, "the coverage limit leaves barns out");
    let gap = 100.0 * 0.3048;
    for tank in best.assets.iter().filter(|a| a.name == "Tank") {
        for building in best
            .assets
            .iter()
            .filter(|a| a.asset_type.as_str() == "building")
        {
            let d = entmoot_plugin_sdk::geo::Distance::distance(
                &entmoot_plugin_sdk::geo::Euclidean,
                &tank.footprint(),
                &building.footprint(),
            );
            assert!(
                d >= gap - 1e-3,
                "{} is {d:.2} m from {}",
                tank.asset_id,
                building.asset_id
            );
        }
    }
}
