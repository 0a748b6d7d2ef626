//! Objectives: the earlier tool's five weighted goals, each a score in `[0, 1]` (higher is
//! better) computed from named, measured metrics — nothing estimated:
//!
//! | objective (default weight) | score |
//! |---|---|
//! | cost (40) | asset cost / (asset + road + earthwork cost): the share of spending that builds the program rather than infrastructure; earthwork counts only when measured |
//! | buildable area (30) | ½ · placed / requested + ½ · placed footprint / requested footprint |
//! | accessibility (15) | ½ · mean directness (straight distance from the entrance / distance along the roads) + ½ · (1 − mean entrance distance / the site's farthest boundary point from the entrance) |
//! | environmental impact (10) | mean of: 1 − road area / (road + footprint area); share of assets at least 30 m from wetlands and floodplains; with terrain, 1 / (1 + earthwork depth in m) and 1 − mean slope under the pads / slope limit |
//! | aesthetics (5) | ½ · compactness (footprint / convex hull) + ½ · share of assets aligned with the dominant orientation |
//!
//! The weighted total is Σ weight · score / Σ weight.

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
