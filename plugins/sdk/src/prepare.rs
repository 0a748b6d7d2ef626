//! Turns a site (WGS84) and a program (m or ft) into a `Problem` in metres: projection to the
//! UTM zone of the centroid, setback inset, exclusion removal, steep ground, entrances (a
//! default one per part of the parcel that has none, on its outer edge, off exclusions and
//! within the road grade of buildable ground) and the expanded asset list with stable ids.

use geo::{
    Area, BooleanOps, Buffer, Centroid, Closest, ClosestPoint, Contains, Coord, Distance,
    Euclidean, Geometry, InteriorPoint, Intersects, MinimumRotatedRect, MultiPolygon, Point,
    Polygon, RemoveRepeatedPoints,
};

use crate::cost::UnitCosts;
use crate::geometry::as_multipolygon;
use crate::geotiff::Dem;
use crate::objectives::ObjectiveWeights;
use crate::problem::{Problem, ProblemAsset, ProblemExclusion};
use crate::program::{FieldError, Program, ProgramError, Side, join_errors};
use crate::projection::{Projection, ProjectionError};
use crate::roads::RoadSettings;
use crate::site::Site;
use crate::terrain::Terrain;

/// Point and line exclusions are grown by at least this much (metres) so that a footprint can
/// never straddle them, even with a zero buffer.
pub const MIN_LINEAR_EXCLUSION_BUFFER_M: f64 = 0.05;

/// Polygons of the buildable area smaller than this (m²) are slivers and dropped.
pub const SLIVER_AREA_M2: f64 = 0.01;

/// Why a problem could not be prepared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Program(#[from] ProgramError),
    #[error("invalid site: {}", join_errors(.0))]
    Site(Vec<FieldError>),
    #[error("{path}: {source}")]
    Projection {
        path: String,
        #[source]
        source: ProjectionError,
    },
    #[error("{path}: {message}")]
    Geometry { path: String, message: String },
    /// The buildable area became empty; `step` names what removed the last of it.
    #[error(
        "nothing is buildable: {step} removed the remaining {remaining_m2:.1} m² (boundary area {boundary_m2:.1} m²)"
    )]
    NothingBuildable {
        step: String,
        remaining_m2: f64,
        boundary_m2: f64,
    },
}

/// Prepares a problem (see the module documentation) without terrain.
pub fn prepare_problem(site: &Site, program: &Program) -> Result<Problem, PrepareError> {
    prepare_problem_with_terrain(site, program, None)
}

/// Prepares a problem with an optional DEM: the terrain is resampled onto the problem's UTM
/// grid, terrain steeper than the program's `max_slope_percent` is removed from the buildable
/// area, and strategies, the validator (road grades) and the metrics (earthwork, slope) use it.
pub fn prepare_problem_with_terrain(
    site: &Site,
    program: &Program,
    dem: Option<&Dem>,
) -> Result<Problem, PrepareError> {
    program.validate()?;
    site.validate().map_err(PrepareError::Site)?;

    let centroid = site
        .boundary
        .centroid()
        .ok_or_else(|| PrepareError::Geometry {
            path: "site.boundary".into(),
            message: "has no area (cannot find its centroid)".into(),
        })?;
    let projection = Projection::for_lon_lat(centroid.x(), centroid.y());
    let projector = projection
        .projector()
        .map_err(|source| PrepareError::Projection {
            path: "site".into(),
            source,
        })?;
    let project_err = |path: &str| {
        let path = path.to_string();
        move |source| PrepareError::Projection { path, source }
    };

    // Digitised parcels often repeat a vertex; that is harmless, so drop repeats before the
    // validity check rather than reject the parcel.
    let boundary_m: MultiPolygon<f64> = projector
        .geometry_to_metres(&site.boundary)
        .map_err(project_err("site.boundary"))?
        .remove_repeated_points();
    if let Some(e) = crate::validity::multi_polygon_validation_errors(&boundary_m)
        .into_iter()
        .next()
    {
        return Err(PrepareError::Geometry {
            path: "site.boundary".into(),
            message: format!("is not a valid polygon: {e}"),
        });
    }
    let boundary_area_m2 = boundary_m.unsigned_area();
    if boundary_area_m2 <= SLIVER_AREA_M2 {
        return Err(PrepareError::Geometry {
            path: "site.boundary".into(),
            message: format!("has no area ({boundary_area_m2} m²)"),
        });
    }

    let setback_m = program.to_metres(program.setback);
    let side_setbacks_m: Vec<(Side, f64)> = program
        .side_setbacks
        .iter()
        .map(|(side, setback)| (*side, program.to_metres(*setback)))
        .collect();
    // The inset is the smallest setback everywhere, then each edge with a larger one
    // of its own takes away everything closer to it than that.
    let smallest = side_setbacks_m
        .iter()
        .map(|(_, s)| *s)
        .fold(setback_m, f64::min);
    let mut buildable = if smallest > 0.0 {
        drop_slivers(boundary_m.buffer(-smallest))
    } else {
        boundary_m.clone()
    };
    let nothing_left = |step: String, before: &MultiPolygon<f64>| PrepareError::NothingBuildable {
        step,
        remaining_m2: before.unsigned_area(),
        boundary_m2: boundary_area_m2,
    };
    if buildable.0.is_empty() {
        return Err(nothing_left(
            format!("the setback of {smallest:.2} m"),
            &boundary_m,
        ));
    }
    let before = buildable.clone();
    buildable = drop_slivers(inset_by_side(
        &boundary_m,
        buildable,
        setback_m,
        &side_setbacks_m,
        smallest,
    ));
    if buildable.0.is_empty() {
        return Err(nothing_left("the per-side setbacks".to_owned(), &before));
    }
    let setback_line_m = if smallest > 0.0 || !side_setbacks_m.is_empty() {
        buildable.clone()
    } else {
        MultiPolygon::new(vec![])
    };

    let mut exclusions_m = Vec::new();
    let site_exclusions = site.exclusions.iter().enumerate().map(|(i, e)| {
        (
            format!("site.exclusions[{i}]"),
            e.kind,
            e.buffer_m,
            e.name.clone(),
            e.geometry.clone(),
        )
    });
    let mut program_exclusions = Vec::new();
    for (i, e) in program.exclusions.iter().enumerate() {
        let path = format!("program.exclusions[{i}]");
        let geometry = crate::geometry::geojson_to_geo(&e.geometry).map_err(|message| {
            PrepareError::Geometry {
                path: format!("{path}.geometry"),
                message,
            }
        })?;
        program_exclusions.push((path, e.kind, program.to_metres(e.buffer), None, geometry));
    }
    for (source, kind, buffer_m, name, geometry) in site_exclusions.chain(program_exclusions) {
        let geometry_m: Geometry<f64> = projector
            .geometry_to_metres(&geometry)
            .map_err(project_err(&source))?;
        let keep_out = keep_out_area(&geometry_m, buffer_m);
        let before = buildable.clone();
        buildable = drop_slivers(buildable.difference(&keep_out));
        if buildable.0.is_empty() {
            return Err(nothing_left(
                format!("{source} ({kind}, buffer {buffer_m:.2} m)"),
                &before,
            ));
        }
        exclusions_m.push(ProblemExclusion {
            kind,
            buffer_m,
            name,
            source,
            geometry: geometry_m,
            keep_out,
        });
    }

    let max_slope_percent = program
        .max_slope_percent
        .unwrap_or(crate::problem::DEFAULT_MAX_SLOPE_PERCENT);
    let mut steep_ground_m = MultiPolygon::new(vec![]);
    let terrain = match dem {
        None => None,
        Some(dem) => {
            let terrain = Terrain::from_dem(dem, &projection, &boundary_m).map_err(|e| {
                PrepareError::Geometry {
                    path: "terrain".into(),
                    message: e.to_string(),
                }
            })?;
            let steep = terrain.steep_area(max_slope_percent / 100.0);
            if !steep.0.is_empty() {
                steep_ground_m = drop_slivers(steep.intersection(&boundary_m));
                let before = buildable.clone();
                buildable = drop_slivers(buildable.difference(&steep));
                if buildable.0.is_empty() {
                    return Err(nothing_left(
                        format!("terrain steeper than {max_slope_percent} %"),
                        &before,
                    ));
                }
            }
            Some(terrain)
        }
    };

    let mut entrances_m = Vec::new();
    if let Some([lon, lat]) = program.entrance {
        let c = projector
            .to_metres(Coord { x: lon, y: lat })
            .map_err(project_err("program.entrance"))?;
        entrances_m.push([c.x, c.y]);
    }
    for (i, e) in site.entrances.iter().enumerate() {
        let c = projector
            .to_metres(*e)
            .map_err(project_err(&format!("site.entrances[{i}]")))?;
        entrances_m.push([c.x, c.y]);
    }
    // An entrance is a point of the parcel's edge. A lon/lat point on a lon/lat edge lands a
    // few centimetres off the projected (straight) edge, so snap every entrance onto it.
    for e in &mut entrances_m {
        if let Some(c) = nearest_boundary_point(&boundary_m, Point::new(e[0], e[1])) {
            *e = [c.x, c.y];
        }
    }
    // Roads cannot leave the parcel, so every part of a multi-part parcel that no given
    // entrance serves gets a default one of its own.
    let max_grade = road_settings(program).max_grade_percent / 100.0;
    for part in &boundary_m.0 {
        let served = entrances_m
            .iter()
            .any(|e| Euclidean.distance(&Point::new(e[0], e[1]), part) <= ENTRANCE_ON_PART_M);
        if served {
            continue;
        }
        if let Some(c) =
            default_entrance(part, &buildable, &exclusions_m, terrain.as_ref(), max_grade)
        {
            entrances_m.push([c.x, c.y]);
        }
    }
    if entrances_m.is_empty() {
        return Err(PrepareError::Geometry {
            path: "site.boundary".into(),
            message: "cannot find a boundary point for the default entrance".into(),
        });
    }

    let assets = expand_assets(program);
    let buildable_area_m2 = buildable.unsigned_area();
    let reference_angle_deg = dominant_edge_angle(&buildable);

    Ok(Problem {
        projection,
        boundary_m,
        buildable_m: buildable,
        exclusions_m,
        entrances_m,
        assets,
        setback_m,
        min_spacing_m: program.to_metres(program.min_spacing),
        pair_spacings: program
            .spacing_overrides
            .iter()
            .map(|o| crate::problem::PairSpacing {
                between: o.between,
                spacing_m: program.to_metres(o.spacing),
            })
            .collect(),
        max_coverage: program.max_coverage,
        boundary_area_m2,
        buildable_area_m2,
        reference_angle_deg,
        roads: road_settings(program),
        costs: match &program.costs {
            Some(o) => UnitCosts::default().with_overrides(o),
            None => UnitCosts::default(),
        },
        objective_weights: match &program.objectives {
            Some(o) => ObjectiveWeights::default().with_overrides(o),
            None => ObjectiveWeights::default(),
        },
        max_slope_percent,
        terrain,
        setback_line_m,
        steep_ground_m,
    })
}

/// The problem's road settings: defaults with the program's options (converted to metres).
pub fn road_settings(program: &Program) -> RoadSettings {
    let mut s = RoadSettings::default();
    if let Some(o) = &program.roads {
        let m = |v: Option<f64>, d: f64| v.map_or(d, |v| program.to_metres(v));
        s.main_width_m = m(o.main_width, s.main_width_m);
        s.secondary_width_m = m(o.secondary_width, s.secondary_width_m);
        s.access_width_m = m(o.access_width, s.access_width_m);
        s.access_gap_m = m(o.access_gap, s.access_gap_m);
        s.max_grade_percent = o.max_grade_percent.unwrap_or(s.max_grade_percent);
    }
    s
}

/// The area an exclusion itself covers (without its buffer): areal geometries as they are,
/// points and lines grown by `MIN_LINEAR_EXCLUSION_BUFFER_M`. Roads may not enter it.
pub fn exclusion_core(e: &ProblemExclusion) -> MultiPolygon<f64> {
    match as_multipolygon(&e.geometry) {
        Some(mp) => mp,
        None => e.geometry.buffer(MIN_LINEAR_EXCLUSION_BUFFER_M),
    }
}

/// One instance per unit of quantity; ids are `{type}-{n}` numbered per type in program order.
pub fn expand_assets(program: &Program) -> Vec<ProblemAsset> {
    let mut counters = std::collections::HashMap::new();
    let mut out = Vec::new();
    for spec in &program.assets {
        for _ in 0..spec.quantity {
            let n = counters.entry(spec.asset_type).or_insert(0u32);
            *n += 1;
            let (shape, width_m, length_m) = program.asset_shape(spec);
            out.push(ProblemAsset {
                asset_id: format!("{}-{}", spec.asset_type, n),
                name: spec.name.clone(),
                asset_type: spec.asset_type,
                width_m,
                length_m,
                rotations: spec.rotations,
                shape,
                priority: spec.priority,
            });
        }
    }
    out
}

/// The area an exclusion keeps free: areal geometries grown by `buffer_m`; points and lines
/// grown by at least `MIN_LINEAR_EXCLUSION_BUFFER_M`.
fn keep_out_area(geometry_m: &Geometry<f64>, buffer_m: f64) -> MultiPolygon<f64> {
    match as_multipolygon(geometry_m) {
        Some(mp) if buffer_m > 0.0 => mp.buffer(buffer_m),
        Some(mp) => mp,
        None => geometry_m.buffer(buffer_m.max(MIN_LINEAR_EXCLUSION_BUFFER_M)),
    }
}

/// The side an edge from `a` to `b` faces, outwards, for a ring wound counter-clockwise
/// (exterior rings are after `orient`; holes face inwards and are never a side).
fn side_of_edge(a: Coord<f64>, b: Coord<f64>) -> Side {
    // The outward normal of a counter-clockwise edge points to its right.
    let (nx, ny) = (b.y - a.y, -(b.x - a.x));
    if nx.abs() >= ny.abs() {
        if nx >= 0.0 { Side::East } else { Side::West }
    } else if ny >= 0.0 {
        Side::North
    } else {
        Side::South
    }
}

/// Removes from `buildable` everything closer to an exterior edge than that edge's
/// setback, where it is larger than `already` (what the uniform inset took).
fn inset_by_side(
    boundary_m: &MultiPolygon<f64>,
    mut buildable: MultiPolygon<f64>,
    default_m: f64,
    side_setbacks_m: &[(Side, f64)],
    already: f64,
) -> MultiPolygon<f64> {
    use geo::orient::{Direction, Orient};
    let setback_of = |side: Side| {
        side_setbacks_m
            .iter()
            .find(|(s, _)| *s == side)
            .map_or(default_m, |(_, m)| *m)
    };
    let oriented = boundary_m.orient(Direction::Default);
    for polygon in &oriented.0 {
        for line in polygon.exterior().lines() {
            let setback = setback_of(side_of_edge(line.start, line.end));
            if setback > already + 1e-9 {
                let strip = geo::LineString::new(vec![line.start, line.end]).buffer(setback);
                buildable = buildable.difference(&strip);
            }
        }
    }
    buildable
}

fn drop_slivers(mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon::new(
        mp.0.into_iter()
            .filter(|p| p.unsigned_area() > SLIVER_AREA_M2)
            .collect(),
    )
}

/// Why each of these unplaced assets is missing, by asset id: the coverage limit, no
/// buildable part wide or large enough for its box, or (when it would fit) that no
/// position next to the others has a road to an entrance. Cheap: one inset of the
/// buildable area per distinct box size.
pub fn why_not_placed(
    problem: &Problem,
    placed_footprint_m2: f64,
    unplaced: &[String],
) -> std::collections::BTreeMap<String, String> {
    let mut reasons = std::collections::BTreeMap::new();
    let mut wide_enough: Vec<(u64, bool)> = Vec::new();
    let largest_part = problem
        .buildable_m
        .0
        .iter()
        .map(|p| p.unsigned_area())
        .fold(0.0, f64::max);
    for id in unplaced {
        let Some(asset) = problem.asset(id) else {
            continue;
        };
        let area = asset.area_m2();
        let narrow = asset.width_m.min(asset.length_m);
        let key = narrow.to_bits();
        let fits = match wide_enough.iter().find(|(k, _)| *k == key) {
            Some((_, fits)) => *fits,
            None => {
                let fits = !drop_slivers(problem.buildable_m.buffer(-(narrow / 2.0 - 1e-3)))
                    .0
                    .is_empty();
                wide_enough.push((key, fits));
                fits
            }
        };
        let reason = if area > largest_part {
            format!(
                "its {area:.0} m² are more than the largest buildable part ({largest_part:.0} m²) after setbacks, exclusions{}",
                if problem.terrain.is_some() {
                    " and steep ground"
                } else {
                    ""
                }
            )
        } else if !fits {
            format!(
                "no buildable part is {narrow:.1} m wide, its narrow side, after setbacks, exclusions{}",
                if problem.terrain.is_some() {
                    " and steep ground"
                } else {
                    ""
                }
            )
        } else if placed_footprint_m2 + area > problem.max_footprint_m2() + 1e-6 {
            format!(
                "the coverage limit: {:.0} m² of {:.0} m² allowed ({} % of the parcel) are used and it needs {:.0} m²",
                placed_footprint_m2.max(0.0),
                problem.max_footprint_m2(),
                problem.max_coverage * 100.0,
                area
            )
        } else if problem.terrain.is_some() {
            format!(
                "no free position was found with a road to an entrance within the {} % road grade; the other assets, spacing and roads take the rest",
                problem.roads.max_grade_percent
            )
        } else {
            "no free position was found with a road to an entrance; the other assets, spacing and roads take the rest".to_owned()
        };
        reasons.insert(id.clone(), reason);
    }
    reasons
}

/// How far (m) a given entrance may be from a part of the parcel and still serve it.
const ENTRANCE_ON_PART_M: f64 = 0.5;

/// Candidate entrances are tried this far apart (m) along a part's outer edge, or closer
/// on a small part (at most `ENTRANCE_CANDIDATES` per part).
const ENTRANCE_STEP_M: f64 = 5.0;
const ENTRANCE_CANDIDATES: usize = 2_000;

/// The default entrance of one part of the parcel: a point of its outer edge (never of a
/// hole: a hole is land outside the parcel, with no road to it), outside every exclusion
/// and its buffer, from which a straight drive reaches the buildable ground of the part
/// within the road grade limit when terrain is known. Of those, the one nearest the
/// part's centroid plus the drive's length wins. When no point passes, the point of
/// the outer edge nearest the centroid, as before terrain and exclusions were known;
/// `None` when the part has no buildable ground (nothing will be placed there).
fn default_entrance(
    part: &Polygon<f64>,
    buildable: &MultiPolygon<f64>,
    exclusions: &[ProblemExclusion],
    terrain: Option<&Terrain>,
    max_grade: f64,
) -> Option<Coord<f64>> {
    let centroid = part.centroid()?;
    let part_buildable: Vec<&Polygon<f64>> = buildable
        .0
        .iter()
        .filter(|b| b.interior_point().is_some_and(|p| part.contains(&p)))
        .collect();
    if part_buildable.is_empty() {
        return None;
    }
    let part_buildable = MultiPolygon::new(part_buildable.into_iter().cloned().collect());
    let ring = part.exterior();
    let perimeter = ring.lines().map(|l| l.dx().hypot(l.dy())).sum::<f64>();
    let step = ENTRANCE_STEP_M.max(perimeter / ENTRANCE_CANDIDATES as f64);
    let mut best: Option<(f64, Coord<f64>)> = None;
    for line in ring.lines() {
        let length = line.dx().hypot(line.dy());
        let pieces = (length / step).ceil().max(1.0) as usize;
        for k in 0..pieces {
            let t = (k as f64 + 0.5) / pieces as f64;
            let candidate = Coord {
                x: line.start.x + line.dx() * t,
                y: line.start.y + line.dy() * t,
            };
            let point = Point::from(candidate);
            if exclusions
                .iter()
                .any(|e| Euclidean.distance(&point, &e.keep_out) < ENTRANCE_ON_PART_M)
            {
                continue;
            }
            let target = match part_buildable.closest_point(&point) {
                Closest::Intersection(p) | Closest::SinglePoint(p) => p,
                Closest::Indeterminate => continue,
            };
            let drive = geo::Line::new(candidate, target.0);
            if exclusions
                .iter()
                .any(|e| exclusion_core(e).intersects(&drive))
            {
                continue;
            }
            if let Some(terrain) = terrain
                && !terrain.segment_within_grade(
                    [candidate.x, candidate.y],
                    [target.x(), target.y()],
                    max_grade,
                )
            {
                continue;
            }
            let score = Euclidean.distance(&point, &centroid) + Euclidean.distance(&point, &target);
            if best.is_none_or(|(b, _)| score < b) {
                best = Some((score, candidate));
            }
        }
    }
    best.map(|(_, c)| c).or_else(|| {
        nearest_boundary_point(
            &MultiPolygon::new(vec![Polygon::new(ring.clone(), vec![])]),
            centroid,
        )
    })
}

/// The point of the boundary's rings nearest `centroid`.
fn nearest_boundary_point(
    boundary_m: &MultiPolygon<f64>,
    centroid: Point<f64>,
) -> Option<Coord<f64>> {
    let mut best: Option<(f64, Point<f64>)> = None;
    for polygon in &boundary_m.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            let p = match ring.closest_point(&centroid) {
                Closest::Intersection(p) | Closest::SinglePoint(p) => p,
                Closest::Indeterminate => match ring.0.first() {
                    Some(c) => Point::from(*c),
                    None => continue,
                },
            };
            let d = (p.x() - centroid.x()).hypot(p.y() - centroid.y());
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, p));
            }
        }
    }
    best.map(|(_, p)| p.0)
}

/// Angle of the longest edge of the minimum rotated rectangle, in `[0, 90)` degrees.
pub fn dominant_edge_angle(area: &MultiPolygon<f64>) -> f64 {
    let Some(rect): Option<Polygon<f64>> = area.minimum_rotated_rect() else {
        return 0.0;
    };
    let mut best = (0.0, 0.0);
    for line in rect.exterior().lines() {
        let (dx, dy) = (line.dx(), line.dy());
        let len = dx.hypot(dy);
        if len > best.0 + 1e-9 {
            best = (len, dy.atan2(dx).to_degrees());
        }
    }
    let a = best.1.rem_euclid(90.0);
    // Snap numerically-axis-aligned results to 0 so that rectangles stay on the grid.
    if a < 1e-7 || 90.0 - a < 1e-7 { 0.0 } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{demo_program, rural_demo_site};
    use geo::{Contains, polygon};

    #[test]
    fn rural_demo_prepares() {
        let problem = prepare_problem(&rural_demo_site(), &demo_program(3)).unwrap();
        assert_eq!(problem.projection.zone, 13);
        assert_eq!(problem.assets.len(), 3);
        assert_eq!(problem.assets[2].asset_id, "building-3");
        assert!((problem.assets[0].width_m - 18.288).abs() < 1e-9);
        assert!((problem.setback_m - 6.096).abs() < 1e-9);
        assert!((problem.min_spacing_m - 3.048).abs() < 1e-9);
        // ~430 m × 445 m ≈ 19 ha (47 acres)
        let acres = problem.boundary_area_m2 / 4046.856;
        assert!((45.0..50.0).contains(&acres), "{acres} acres");
        assert!(problem.buildable_area_m2 < problem.boundary_area_m2);
        // The inset removes about perimeter × setback.
        let removed = problem.boundary_area_m2 - problem.buildable_area_m2;
        assert!((removed - 1750.0 * 6.096).abs() < 200.0, "{removed}");
        assert_eq!(problem.entrances_m.len(), 1);
        // A nearly north-aligned parcel: dominant edge within a degree of the grid.
        let a = problem.reference_angle_deg;
        assert!(!(2.0..=88.0).contains(&a), "{a}");
    }

    #[test]
    fn problem_round_trips_through_json() {
        let problem = prepare_problem(&rural_demo_site(), &demo_program(3)).unwrap();
        let json = serde_json::to_string(&problem).unwrap();
        assert!(
            json.contains("\"type\":\"MultiPolygon\""),
            "geometries are GeoJSON"
        );
        let back = Problem::from_json_str(&json).unwrap();
        assert_eq!(problem, back);
    }

    #[test]
    fn exclusions_are_removed_and_buffered() {
        let mut site = rural_demo_site();
        let p = site.boundary.centroid().unwrap();
        let d = 0.0005;
        site.exclusions.push(crate::site::Exclusion {
            kind: crate::program::ExclusionKind::Wetland,
            buffer_m: 10.0,
            geometry: Geometry::Polygon(polygon![
                (x: p.x() - d, y: p.y() - d),
                (x: p.x() + d, y: p.y() - d),
                (x: p.x() + d, y: p.y() + d),
                (x: p.x() - d, y: p.y() + d),
            ]),
            name: Some("pond".into()),
        });
        let mut program = demo_program(1);
        program.exclusions.push(crate::program::ExclusionInput {
            kind: crate::program::ExclusionKind::Utility,
            buffer: 0.0,
            geometry: geojson::Geometry::new_line_string([
                [-103.4020, 39.3510],
                [-103.3970, 39.3510],
            ]),
        });
        let problem = prepare_problem(&site, &program).unwrap();
        assert_eq!(problem.exclusions_m.len(), 2);
        assert_eq!(problem.exclusions_m[1].source, "program.exclusions[0]");
        let centre = problem.boundary_m.centroid().unwrap();
        assert!(!problem.buildable_m.contains(&centre));
        // The wetland (≈ 86 m × 111 m plus a 10 m buffer) and the line strip are removed.
        let plain = prepare_problem(&rural_demo_site(), &demo_program(1)).unwrap();
        let removed = plain.buildable_area_m2 - problem.buildable_area_m2;
        assert!(
            removed > 86.0 * 111.0 + 2.0 * 10.0 * (86.0 + 111.0),
            "{removed}"
        );
    }

    #[test]
    fn explains_what_removed_everything() {
        let mut program = demo_program(1);
        program.setback = 800.0;
        let err = prepare_problem(&rural_demo_site(), &program).unwrap_err();
        assert!(matches!(err, PrepareError::NothingBuildable { .. }));
        assert!(err.to_string().contains("the setback of 243.84 m"), "{err}");

        let mut site = rural_demo_site();
        site.exclusions.push(crate::site::Exclusion {
            kind: crate::program::ExclusionKind::Floodplain,
            buffer_m: 0.0,
            geometry: Geometry::MultiPolygon(site.boundary.clone()),
            name: None,
        });
        let err = prepare_problem(&site, &demo_program(1)).unwrap_err();
        assert!(
            err.to_string().contains("site.exclusions[0] (floodplain"),
            "{err}"
        );
    }

    #[test]
    fn bad_site_is_reported_with_paths() {
        let mut site = rural_demo_site();
        site.boundary.0[0].exterior_mut(|r| r.0[2].y = f64::NAN);
        let err = prepare_problem(&site, &demo_program(1)).unwrap_err();
        assert!(
            err.to_string().contains("site.boundary[0].exterior[2]"),
            "{err}"
        );

        let bowtie = Site::from_boundary(MultiPolygon::new(vec![polygon![
            (x: -103.40, y: 39.35),
            (x: -103.39, y: 39.36),
            (x: -103.39, y: 39.35),
            (x: -103.40, y: 39.36),
        ]]));
        let err = prepare_problem(&bowtie, &demo_program(1)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("site.boundary: is not a valid polygon"),
            "{err}"
        );
    }

    #[test]
    fn repeated_vertices_are_tolerated() {
        let mut site = rural_demo_site();
        site.boundary.0[0].exterior_mut(|r| {
            let c = r.0[1];
            r.0.insert(1, c);
        });
        let problem = prepare_problem(&site, &demo_program(1)).unwrap();
        assert_eq!(problem.boundary_m.0[0].exterior().0.len(), 5);
    }

    #[test]
    fn the_default_entrance_is_never_on_a_hole_or_an_exclusion() {
        use geo::{Distance, Euclidean};
        // A hole around the centroid: its ring is the nearest boundary to the centroid.
        let mut site = rural_demo_site();
        let c = site.boundary.centroid().unwrap();
        let d = 0.0004;
        let hole = geo::LineString::from(vec![
            (c.x() - d, c.y() - d),
            (c.x() - d, c.y() + d),
            (c.x() + d, c.y() + d),
            (c.x() + d, c.y() - d),
            (c.x() - d, c.y() - d),
        ]);
        site.boundary.0[0].interiors_push(hole);
        let problem = prepare_problem(&site, &demo_program(1)).unwrap();
        let e = Point::new(problem.entrances_m[0][0], problem.entrances_m[0][1]);
        let outer = problem.boundary_m.0[0].exterior();
        let hole = &problem.boundary_m.0[0].interiors()[0];
        assert!(Euclidean.distance(&e, outer) < 1e-6, "on the outer edge");
        assert!(Euclidean.distance(&e, hole) > 100.0, "far from the hole");

        // An exclusion over the edge nearest the centroid pushes the entrance off it.
        let plain = prepare_problem(&rural_demo_site(), &demo_program(1)).unwrap();
        let old = plain.entrances_m[0];
        let old_wgs84 = plain
            .projection
            .projector()
            .unwrap()
            .to_wgs84(Coord {
                x: old[0],
                y: old[1],
            })
            .unwrap();
        let mut site = rural_demo_site();
        site.exclusions.push(crate::site::Exclusion {
            kind: crate::program::ExclusionKind::Easement,
            buffer_m: 30.0,
            geometry: Geometry::Point(Point::from(old_wgs84)),
            name: Some("gas valve".into()),
        });
        let problem = prepare_problem(&site, &demo_program(1)).unwrap();
        let e = problem.entrances_m[0];
        assert!(
            (e[0] - old[0]).hypot(e[1] - old[1]) > 30.0,
            "{e:?} vs {old:?}"
        );
    }

    #[test]
    fn with_terrain_the_default_entrance_reaches_buildable_ground_within_grade() {
        use crate::fixtures::rural_demo_dem;
        // Flat west of 100 m, a 30 % slope from there east.
        let (tiff, corner) = rural_demo_dem(|x, _| 0.30 * (x - 100.0).max(0.0));
        let dem = crate::geotiff::Dem::from_geotiff(&tiff).unwrap();
        let program = demo_program(3);
        let problem =
            prepare_problem_with_terrain(&rural_demo_site(), &program, Some(&dem)).unwrap();
        let e = problem.entrances_m[0];
        assert!(
            e[0] - corner[0] < 110.0,
            "the entrance is on the flat west: {e:?}"
        );
    }

    #[test]
    fn every_part_of_a_multi_part_parcel_gets_an_entrance() {
        let square = |x0: f64| {
            polygon![
                (x: x0, y: 39.35),
                (x: x0 + 0.003, y: 39.35),
                (x: x0 + 0.003, y: 39.353),
                (x: x0, y: 39.353),
            ]
        };
        let site = Site::from_boundary(MultiPolygon::new(vec![square(-103.40), square(-103.39)]));
        let problem = prepare_problem(&site, &demo_program(2)).unwrap();
        assert_eq!(problem.entrances_m.len(), 2);
        assert!((problem.entrances_m[0][0] - problem.entrances_m[1][0]).abs() > 500.0);
        // A given entrance serves its part only; the other part still gets one.
        let mut program = demo_program(2);
        program.entrance = Some([-103.3985, 39.35]);
        let problem = prepare_problem(&site, &program).unwrap();
        assert_eq!(problem.entrances_m.len(), 2);
    }

    #[test]
    fn program_entrance_is_used() {
        let mut program = demo_program(1);
        program.entrance = Some([-103.3995, 39.3500]);
        let problem = prepare_problem(&rural_demo_site(), &program).unwrap();
        let e = problem.entrances_m[0];
        let ymin = problem.boundary_m.0[0]
            .exterior()
            .coords()
            .map(|c| c.y)
            .fold(f64::MAX, f64::min);
        assert!((e[1] - ymin).abs() < 20.0);
    }

    #[test]
    fn a_side_setback_applies_to_the_edges_facing_that_side() {
        use geo::BoundingRect;
        let site = crate::fixtures::rural_demo_site();
        let mut program = crate::fixtures::rural_demo_program(1);
        let uniform = prepare_problem(&site, &program).unwrap();
        // 200 ft along the north side; the 20 ft elsewhere.
        program.side_setbacks.insert(Side::North, 200.0);
        let northern = prepare_problem(&site, &program).unwrap();
        let (u, n) = (
            uniform.buildable_m.bounding_rect().unwrap(),
            northern.buildable_m.bounding_rect().unwrap(),
        );
        let extra_m = (200.0 - 20.0) * 0.3048;
        assert!(n.max().y <= u.max().y - extra_m + 1.0, "{n:?} vs {u:?}");
        assert!((n.min().y - u.min().y).abs() < 1.0 && (n.min().x - u.min().x).abs() < 1.0);
        // Too large everywhere: the diagnostic names the step.
        program.side_setbacks.insert(Side::South, 5000.0);
        let err = prepare_problem(&site, &program).unwrap_err().to_string();
        assert!(err.contains("the per-side setbacks"), "{err}");
    }
}
