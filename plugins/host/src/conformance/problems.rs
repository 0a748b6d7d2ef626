//! The standard problems of the conformance check. Each is a site and a program as a user
//! would give them (WGS84 and program units), prepared with the sdk exactly as the server
//! prepares a job, so a plugin sees the same kind of input it will see in production.

use entmoot_plugin_sdk::fixtures::{rural_demo_program, rural_demo_site};
use entmoot_plugin_sdk::prepare::prepare_problem;
use entmoot_plugin_sdk::{Problem, Program, Site};
use serde_json::json;

/// What a strategy is expected to do with a standard problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Return at least one valid layout.
    Layouts,
    /// Nothing can be placed: return valid layouts that place nothing, no layout, or a clean
    /// strategy error (`invalid_problem` or `failed`); never crash, hang or cheat.
    NothingFits,
}

/// One standard problem.
#[derive(Debug, Clone)]
pub struct StandardProblem {
    /// Short name used in the report (`rural demo`).
    pub name: &'static str,
    /// One line about what it exercises.
    pub description: &'static str,
    pub problem: Problem,
    pub expectation: Expectation,
}

/// The rural demo parcel: a 47-acre rectangle in Colorado, three 60 × 80 ft buildings.
pub fn rural_demo() -> Result<StandardProblem, String> {
    Ok(StandardProblem {
        name: "rural demo",
        description: "47-acre rectangular parcel, three 60 × 80 ft buildings, 20 ft setback",
        problem: prepare("rural demo", &rural_demo_site(), &rural_demo_program(3))?,
        expectation: Expectation::Layouts,
    })
}

/// An L-shaped (concave) parcel with a hole (an out-parcel), a wetland with a 10 m buffer and
/// a utility line crossing one arm, and a mixed program using all three rotation modes.
pub fn concave_parcel() -> Result<StandardProblem, String> {
    let site = json!({
        "boundary": {
            "type": "Polygon",
            "coordinates": [
                [
                    [-103.4100, 39.3600], [-103.4060, 39.3600], [-103.4060, 39.3615],
                    [-103.4080, 39.3615], [-103.4080, 39.3640], [-103.4100, 39.3640],
                    [-103.4100, 39.3600]
                ],
                [
                    [-103.4075, 39.3603], [-103.4075, 39.3609], [-103.4068, 39.3609],
                    [-103.4068, 39.3603], [-103.4075, 39.3603]
                ]
            ]
        },
        "exclusions": [
            {
                "kind": "wetland",
                "buffer_m": 10.0,
                "name": "seasonal wetland",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[
                        [-103.4095, 39.3625], [-103.4088, 39.3625], [-103.4088, 39.3632],
                        [-103.4095, 39.3632], [-103.4095, 39.3625]
                    ]]
                }
            },
            {
                "kind": "utility",
                "buffer_m": 5.0,
                "name": "overhead power line",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[-103.4100, 39.3620], [-103.4080, 39.3621]]
                }
            }
        ],
        // At a corner: a vertex projects exactly onto the projected boundary.
        "entrances": [[-103.4060, 39.3600]]
    });
    let program = json!({
        "units": "m",
        "setback": 5.0,
        "min_spacing": 4.0,
        "max_coverage": 0.4,
        "assets": [
            {"name": "Barn", "type": "building", "width": 20.0, "length": 30.0,
             "quantity": 4, "rotations": "quarter_turns"},
            {"name": "Parking", "type": "parking_lot", "width": 25.0, "length": 12.0,
             "quantity": 2, "rotations": "quarter_turns"},
            {"name": "Yard", "type": "equipment_yard", "width": 15.0, "length": 15.0,
             "quantity": 3, "rotations": "fixed"},
            {"name": "Tank", "type": "storage_tank", "width": 8.0, "length": 8.0,
             "quantity": 4, "rotations": "free"}
        ]
    });
    Ok(StandardProblem {
        name: "concave parcel",
        description: "L-shaped parcel with a hole, a buffered wetland and a utility line; \
                      13 assets of 4 types, fixed / quarter-turn / free rotations",
        problem: prepare_json("concave parcel", site, program)?,
        expectation: Expectation::Layouts,
    })
}

/// A 20 m square parcel with a 2 m setback and a 30 × 40 m building: nothing fits.
pub fn tiny_parcel() -> Result<StandardProblem, String> {
    let site = json!({
        "boundary": {
            "type": "Polygon",
            "coordinates": [[
                [-103.40000, 39.35000], [-103.39977, 39.35000], [-103.39977, 39.35018],
                [-103.40000, 39.35018], [-103.40000, 39.35000]
            ]]
        }
    });
    let program = json!({
        "units": "m",
        "setback": 2.0,
        "min_spacing": 3.0,
        "assets": [{"name": "Warehouse", "type": "building", "width": 30.0, "length": 40.0}]
    });
    Ok(StandardProblem {
        name: "tiny parcel",
        description: "20 m square parcel and a 30 × 40 m building: nothing fits",
        problem: prepare_json("tiny parcel", site, program)?,
        expectation: Expectation::NothingFits,
    })
}

/// Number of assets of `large_problem`.
pub const LARGE_PROBLEM_ASSETS: u32 = 4_000;

/// A large problem for the cancellation and time-limit checks: the rural demo parcel and
/// 4,000 small sheds (more than the coverage limit allows), enough work to keep a strategy
/// busy well past the moment it is cancelled or its time runs out.
pub fn large_problem() -> Result<StandardProblem, String> {
    let mut program = rural_demo_program(LARGE_PROBLEM_ASSETS);
    program.assets[0].name = "Shed".into();
    program.assets[0].width = 10.0;
    program.assets[0].length = 12.0;
    program.setback = 20.0;
    program.min_spacing = 5.0;
    Ok(StandardProblem {
        name: "large problem",
        description: "rural demo parcel and 4,000 sheds of 10 × 12 ft",
        problem: prepare("large problem", &rural_demo_site(), &program)?,
        expectation: Expectation::Layouts,
    })
}

/// The problems every plugin runs on (the large one is used by the cancellation and time
/// limit checks only).
pub fn standard_problems() -> Result<Vec<StandardProblem>, String> {
    Ok(vec![rural_demo()?, concave_parcel()?, tiny_parcel()?])
}

fn prepare_json(
    name: &str,
    site: serde_json::Value,
    program: serde_json::Value,
) -> Result<Problem, String> {
    let site: Site =
        serde_json::from_value(site).map_err(|e| format!("{name}: bad site fixture: {e}"))?;
    let program: Program =
        serde_json::from_value(program).map_err(|e| format!("{name}: bad program fixture: {e}"))?;
    prepare(name, &site, &program)
}

fn prepare(name: &str, site: &Site, program: &Program) -> Result<Problem, String> {
    prepare_problem(site, program).map_err(|e| format!("{name}: cannot prepare it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_problem_prepares() {
        let all = standard_problems().unwrap();
        assert_eq!(all.len(), 3);
        let concave = &all[1].problem;
        assert_eq!(concave.assets.len(), 13);
        assert_eq!(concave.exclusions_m.len(), 2);
        assert_eq!(concave.boundary_m.0[0].interiors().len(), 1, "the hole");
        // The L-shape: the buildable area is much smaller than its bounding box.
        use entmoot_plugin_sdk::geo::{Area, BoundingRect};
        let bbox = concave.buildable_m.bounding_rect().unwrap();
        assert!(concave.buildable_area_m2 < 0.8 * bbox.unsigned_area());
        let tiny = &all[2].problem;
        assert!(tiny.buildable_area_m2 < 300.0, "{}", tiny.buildable_area_m2);
        assert_eq!(large_problem().unwrap().problem.assets.len(), 4_000);
    }
}
