//! Objectives: five weighted goals, each a score in `[0, 1]` (higher is better) computed
//! from named, measured metrics — nothing estimated. Every score is a ratio of quantities
//! of the same unit (money, m², m, counts), so it has none.
//!
//! | objective (default weight) | what it measures | score |
//! |---|---|---|
//! | cost (40) | how much of the spending builds the program rather than infrastructure (currency) | asset cost / (asset + road + earthwork cost); earthwork counts only when measured |
//! | buildable area (30) | how much of the program was placed (count and m²) | ½ · placed / requested + ½ · placed footprint / requested footprint |
//! | accessibility (15) | how little road the layout needs and how close the assets are to an entrance (m) | ½ · road economy + ½ · (1 − mean straight distance from the nearest entrance to each asset / the farthest boundary point from an entrance); road economy = R / (R + road length), R = √(requested count · requested footprint), the spanning tree of the program packed edge to edge in a square (`metrics::road_economy`) |
//! | environmental impact (10) | paved and disturbed ground, and nearness to wetlands (m², count; with terrain m³ and %) | mean of: 1 − road area / (road + footprint area); share of assets at least 30 m from wetlands and floodplains; with terrain, 1 / (1 + earthwork depth in m) and 1 − mean slope under the pads / slope limit |
//! | aesthetics (5) | how compact and orderly the layout is | ½ · compactness (footprint / convex hull) + ½ · share of assets aligned with the dominant orientation |
//!
//! The weighted total is Σ weight · score / Σ weight.
//!
//! Invariants, checked by `tests::a_planner_s_ranking_is_the_objective_s`: at the same
//! placement, a shorter road network scores higher (cost, road economy and road area all
//! fall with length, and no term rewards a road for being longer or a walk for being
//! longer); placing more of the program scores higher; assets nearer an entrance score
//! higher; and (`tests::less_earthwork_scores_higher`) the same layout on ground that needs
//! less earthwork scores higher. An earlier accessibility term, the directness of the walk along the roads,
//! rewarded a spur to every asset over a shared trunk and was removed for that reason.

use serde::{Deserialize, Serialize};

/// Objective weights (any non-negative numbers; only their ratios matter).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectiveWeights {
    pub cost: f64,
    pub buildable_area: f64,
    pub accessibility: f64,
    pub environmental_impact: f64,
    pub aesthetics: f64,
}

impl Default for ObjectiveWeights {
    fn default() -> Self {
        ObjectiveWeights {
            cost: 40.0,
            buildable_area: 30.0,
            accessibility: 15.0,
            environmental_impact: 10.0,
            aesthetics: 5.0,
        }
    }
}

/// A program's `objectives`: any subset of the weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightOverrides {
    /// Weight of the cost objective (default 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cost: Option<f64>,
    /// Weight of the buildable-area objective (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub buildable_area: Option<f64>,
    /// Weight of the accessibility objective (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub accessibility: Option<f64>,
    /// Weight of the environmental-impact objective (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub environmental_impact: Option<f64>,
    /// Weight of the aesthetics objective (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub aesthetics: Option<f64>,
}

impl WeightOverrides {
    /// These overrides with the ones `other` gives replacing them (a job's weights over
    /// its program's).
    pub fn overridden_by(&self, other: &WeightOverrides) -> WeightOverrides {
        WeightOverrides {
            cost: other.cost.or(self.cost),
            buildable_area: other.buildable_area.or(self.buildable_area),
            accessibility: other.accessibility.or(self.accessibility),
            environmental_impact: other.environmental_impact.or(self.environmental_impact),
            aesthetics: other.aesthetics.or(self.aesthetics),
        }
    }

    /// The fields with their names (for validation).
    pub fn values(&self) -> [(&'static str, Option<f64>); 5] {
        [
            ("cost", self.cost),
            ("buildable_area", self.buildable_area),
            ("accessibility", self.accessibility),
            ("environmental_impact", self.environmental_impact),
            ("aesthetics", self.aesthetics),
        ]
    }
}

impl ObjectiveWeights {
    /// These weights with the given ones replaced.
    pub fn with_overrides(mut self, o: &WeightOverrides) -> Self {
        self.cost = o.cost.unwrap_or(self.cost);
        self.buildable_area = o.buildable_area.unwrap_or(self.buildable_area);
        self.accessibility = o.accessibility.unwrap_or(self.accessibility);
        self.environmental_impact = o.environmental_impact.unwrap_or(self.environmental_impact);
        self.aesthetics = o.aesthetics.unwrap_or(self.aesthetics);
        self
    }
}

/// The five scores and their weighted total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveScores {
    pub cost: f64,
    pub buildable_area: f64,
    pub accessibility: f64,
    pub environmental_impact: f64,
    pub aesthetics: f64,
    /// Σ weight · score / Σ weight, in `[0, 1]`.
    pub weighted: f64,
}

impl ObjectiveScores {
    /// Computes the weighted total of these scores.
    pub fn weigh(mut self, w: &ObjectiveWeights) -> Self {
        let total =
            w.cost + w.buildable_area + w.accessibility + w.environmental_impact + w.aesthetics;
        self.weighted = if total > 0.0 {
            (w.cost * self.cost
                + w.buildable_area * self.buildable_area
                + w.accessibility * self.accessibility
                + w.environmental_impact * self.environmental_impact
                + w.aesthetics * self.aesthetics)
                / total
        } else {
            0.0
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Layout, PlacedAsset, Road};
    use crate::metrics::layout_metrics;
    use crate::test_support::square_problem;

    /// The square problem's 10 × 20 m buildings at these centres, with these roads.
    fn layout(centres: &[[f64; 2]], roads: &[&[[f64; 2]]]) -> Layout {
        let problem = square_problem();
        Layout {
            assets: centres
                .iter()
                .zip(&problem.assets)
                .map(|(centre, spec)| PlacedAsset {
                    asset_id: spec.asset_id.clone(),
                    name: spec.name.clone(),
                    asset_type: spec.asset_type,
                    center: *centre,
                    width_m: spec.width_m,
                    length_m: spec.length_m,
                    rotation_deg: 0.0,
                    shape: Default::default(),
                })
                .collect(),
            roads: roads
                .iter()
                .map(|points| Road::new(points.to_vec(), 6.0))
                .collect(),
        }
    }

    fn weighted(layout: &Layout) -> f64 {
        layout_metrics(&square_problem(), layout)
            .objectives
            .weighted
    }

    /// Pairs a planner ranks without hesitation (the entrance is at (50, 0)); the
    /// weighted objective must rank them the same way.
    #[test]
    fn a_planner_s_ranking_is_the_objective_s() {
        let row = [[30.0, 50.0], [50.0, 50.0], [70.0, 50.0]];
        // A trunk from the entrance and one cross road (80 m) …
        let trunk = layout(
            &row,
            &[&[[50.0, 0.0], [50.0, 35.0]], &[[30.0, 35.0], [70.0, 35.0]]],
        );
        // … against a spur from the entrance to every building (129 m), every walk straight.
        let spurs = layout(
            &row,
            &[
                &[[50.0, 0.0], [30.0, 35.0]],
                &[[50.0, 0.0], [50.0, 35.0]],
                &[[50.0, 0.0], [70.0, 35.0]],
            ],
        );
        assert!(
            weighted(&trunk) > weighted(&spurs),
            "shorter roads at equal placement: {} against {}",
            weighted(&trunk),
            weighted(&spurs)
        );
        // The same trunk with a dead end that serves nothing.
        let dead_end = layout(
            &row,
            &[
                &[[50.0, 0.0], [50.0, 35.0]],
                &[[30.0, 35.0], [70.0, 35.0]],
                &[[70.0, 35.0], [90.0, 35.0], [90.0, 80.0]],
            ],
        );
        assert!(weighted(&trunk) > weighted(&dead_end));

        // Every building placed beats two of three, on the same roads.
        let two = layout(
            &row[..2],
            &[&[[50.0, 0.0], [50.0, 35.0]], &[[30.0, 35.0], [70.0, 35.0]]],
        );
        assert!(weighted(&trunk) > weighted(&two));

        // The same arrangement nearer the entrance, with its shorter roads.
        let near = layout(
            &[[30.0, 30.0], [50.0, 30.0], [70.0, 30.0]],
            &[&[[50.0, 0.0], [50.0, 15.0]], &[[30.0, 15.0], [70.0, 15.0]]],
        );
        assert!(weighted(&near) > weighted(&trunk));
    }

    /// The third kind of pair a planner ranks: the same layout where the ground under it
    /// needs less earthwork. Same pads and roads, on a flat DEM and on one with bumps of
    /// ±1.8 m every 80 m (at most 14 % slope: buildable, but costly to grade).
    #[test]
    fn less_earthwork_scores_higher() {
        use crate::fixtures::{rural_demo_dem, rural_demo_program, rural_demo_site};
        use crate::geotiff::Dem;
        use crate::prepare::prepare_problem_with_terrain;
        let bumps = |x: f64, y: f64| {
            let k = 2.0 * std::f64::consts::PI / 80.0;
            1.8 * (k * x).sin() * (k * y).sin()
        };
        let ground = |relief: &dyn Fn(f64, f64) -> f64| {
            let dem = Dem::from_geotiff(&rural_demo_dem(relief).0).unwrap();
            prepare_problem_with_terrain(&rural_demo_site(), &rural_demo_program(3), Some(&dem))
                .unwrap()
        };
        let (flat, rough) = (ground(&|_, _| 0.0), ground(&bumps));
        // Three buildings in a row by the middle of the parcel, joined by a road to the
        // entrance (the same on both grounds; validity is not what is ranked here).
        let centre = crate::geo::Centroid::centroid(&flat.buildable_m).unwrap();
        let spec = &flat.assets[0];
        let assets: Vec<PlacedAsset> = (0..3)
            .map(|k| PlacedAsset {
                asset_id: flat.assets[k].asset_id.clone(),
                name: spec.name.clone(),
                asset_type: spec.asset_type,
                center: [centre.x() + 25.0 * k as f64, centre.y()],
                width_m: spec.width_m,
                length_m: spec.length_m,
                rotation_deg: 0.0,
                shape: spec.shape.clone(),
            })
            .collect();
        let mut layout = Layout {
            assets,
            roads: vec![],
        };
        crate::roads::connect_layout(&flat, &mut layout, Some(0.0));
        let (on_flat, on_rough) = (
            layout_metrics(&flat, &layout),
            layout_metrics(&rough, &layout),
        );
        let volume = |m: &crate::metrics::Metrics| {
            let e = m.earthwork.as_ref().expect("measured with a DEM");
            e.cut_m3 + e.fill_m3
        };
        assert!(volume(&on_rough) > volume(&on_flat) + 1.0);
        assert!(
            on_flat.objectives.weighted > on_rough.objectives.weighted,
            "less earthwork: {} against {}",
            on_flat.objectives.weighted,
            on_rough.objectives.weighted
        );
    }

    #[test]
    fn road_economy_falls_with_every_metre_of_road() {
        let problem = square_problem();
        let economy = |length: f64| crate::metrics::road_economy(&problem, length);
        assert_eq!(economy(0.0), 1.0);
        // Never capped: even a metre less road is better (the earlier, MST-based term was
        // flat at 1 whenever the roads were shorter than the asset centres' spanning tree).
        assert!(economy(1.0) < 1.0);
        assert!(economy(1.0) > economy(2.0));
        assert!(economy(100.0) > economy(150.0));
        assert!(economy(150.0) > economy(300.0));
        let count = problem.assets.len() as f64;
        let footprint: f64 = problem.assets.iter().map(|a| a.area_m2()).sum();
        let yardstick = (count * footprint).sqrt();
        assert!((economy(yardstick) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn weighting() {
        let s = ObjectiveScores {
            cost: 1.0,
            buildable_area: 0.5,
            ..ObjectiveScores::default()
        }
        .weigh(&ObjectiveWeights::default());
        assert!((s.weighted - (40.0 + 15.0) / 100.0).abs() < 1e-12);
        let w = ObjectiveWeights::default().with_overrides(&WeightOverrides {
            cost: Some(0.0),
            ..WeightOverrides::default()
        });
        assert_eq!(w.cost, 0.0);
        assert_eq!(w.aesthetics, 5.0);
    }
}
