//! Cost breakdown from a unit-cost table: earthwork per m³ moved, roads per metre by class,
//! buildings per m², parking per stall (from real stall modules), other assets per m², and a
//! contingency on the subtotal. The default prices are round planning figures, not quotes;
//! a program overrides any of them with its `costs` object. Without a DEM the earthwork line
//! is unknown: it is left out of the total and the breakdown says so (`complete = false`).

use serde::{Deserialize, Serialize};

use crate::earthwork::EarthworkSummary;
use crate::layout::Layout;
use crate::parking::stall_layout;
use crate::program::AssetType;
use crate::roads::RoadClass;

/// Unit costs, in `currency`, metric units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnitCosts {
    pub currency: String,
    /// Per m³ of earth moved (the larger of cut and fill).
    pub earthwork_per_m3: f64,
    pub road_main_per_m: f64,
    pub road_secondary_per_m: f64,
    pub road_access_per_m: f64,
    pub building_per_m2: f64,
    pub parking_per_stall: f64,
    pub equipment_yard_per_m2: f64,
    pub storage_tank_per_m2: f64,
    pub pond_per_m2: f64,
    pub custom_per_m2: f64,
    /// Fraction of the subtotal added for contingency.
    pub contingency_fraction: f64,
}

impl Default for UnitCosts {
    fn default() -> Self {
        UnitCosts {
            currency: "USD".into(),
            earthwork_per_m3: 15.0,
            road_main_per_m: 700.0,
            road_secondary_per_m: 550.0,
            road_access_per_m: 350.0,
            building_per_m2: 1_200.0,
            parking_per_stall: 2_500.0,
            equipment_yard_per_m2: 60.0,
            storage_tank_per_m2: 900.0,
            pond_per_m2: 40.0,
            custom_per_m2: 500.0,
            contingency_fraction: 0.10,
        }
    }
}

/// A program's `costs`: any subset of `UnitCosts`' fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostOverrides {
    /// Currency code the costs are in (default "USD"); a label only, nothing is converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Per m³ of earth moved, the larger of cut and fill (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub earthwork_per_m3: Option<f64>,
    /// Per metre of main road (default 700).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub road_main_per_m: Option<f64>,
    /// Per metre of secondary road (default 550).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub road_secondary_per_m: Option<f64>,
    /// Per metre of access lane (default 350).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub road_access_per_m: Option<f64>,
    /// Per m² of building footprint (default 1200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub building_per_m2: Option<f64>,
    /// Per parking stall, counted from the stall modules that fit the lot (default 2500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub parking_per_stall: Option<f64>,
    /// Per m² of equipment yard (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub equipment_yard_per_m2: Option<f64>,
    /// Per m² of storage tank footprint (default 900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub storage_tank_per_m2: Option<f64>,
    /// Per m² of pond (default 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub pond_per_m2: Option<f64>,
    /// Per m² of a custom asset (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub custom_per_m2: Option<f64>,
    /// Fraction of the subtotal added for contingency (default 0.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub contingency_fraction: Option<f64>,
}

impl CostOverrides {
    /// The numeric fields with their names (for validation).
    pub fn values(&self) -> [(&'static str, Option<f64>); 11] {
        [
            ("earthwork_per_m3", self.earthwork_per_m3),
            ("road_main_per_m", self.road_main_per_m),
            ("road_secondary_per_m", self.road_secondary_per_m),
            ("road_access_per_m", self.road_access_per_m),
            ("building_per_m2", self.building_per_m2),
            ("parking_per_stall", self.parking_per_stall),
            ("equipment_yard_per_m2", self.equipment_yard_per_m2),
            ("storage_tank_per_m2", self.storage_tank_per_m2),
            ("pond_per_m2", self.pond_per_m2),
            ("custom_per_m2", self.custom_per_m2),
            ("contingency_fraction", self.contingency_fraction),
        ]
    }
}

impl UnitCosts {
    /// These costs with every field the overrides give replaced.
    pub fn with_overrides(mut self, o: &CostOverrides) -> UnitCosts {
        let set = |field: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        if let Some(c) = &o.currency {
            self.currency = c.clone();
        }
        set(&mut self.earthwork_per_m3, o.earthwork_per_m3);
        set(&mut self.road_main_per_m, o.road_main_per_m);
        set(&mut self.road_secondary_per_m, o.road_secondary_per_m);
        set(&mut self.road_access_per_m, o.road_access_per_m);
        set(&mut self.building_per_m2, o.building_per_m2);
        set(&mut self.parking_per_stall, o.parking_per_stall);
        set(&mut self.equipment_yard_per_m2, o.equipment_yard_per_m2);
        set(&mut self.storage_tank_per_m2, o.storage_tank_per_m2);
        set(&mut self.pond_per_m2, o.pond_per_m2);
        set(&mut self.custom_per_m2, o.custom_per_m2);
        set(&mut self.contingency_fraction, o.contingency_fraction);
        self
    }

    /// Price per metre of a road class.
    pub fn road_per_m(&self, class: RoadClass) -> f64 {
        match class {
            RoadClass::Main => self.road_main_per_m,
            RoadClass::Secondary => self.road_secondary_per_m,
            RoadClass::Access => self.road_access_per_m,
        }
    }
}

/// One line of the breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    /// `earthwork`, `road_main`, `building`, `parking`, …
    pub item: String,
    pub quantity: f64,
    /// `m3`, `m`, `m2` or `stall`.
    pub unit: String,
    pub unit_cost: f64,
    pub amount: f64,
}

/// The cost of a layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostBreakdown {
    pub currency: String,
    pub lines: Vec<CostLine>,
    /// Earthwork cost; `None` when unknown (no DEM).
    pub earthwork: Option<f64>,
    pub roads: f64,
    /// Buildings, parking and the other assets.
    pub assets: f64,
    pub subtotal: f64,
    pub contingency: f64,
    pub total: f64,
    /// `false` when a part (earthwork) is unknown and left out of the total.
    pub complete: bool,
}

/// Prices `layout` with `costs`; `earthwork` is `None` when unknown.
pub fn cost_breakdown(
    costs: &UnitCosts,
    layout: &Layout,
    earthwork: Option<&EarthworkSummary>,
) -> CostBreakdown {
    let mut lines = Vec::new();
    let mut line = |item: &str, quantity: f64, unit: &str, unit_cost: f64| {
        let amount = quantity * unit_cost;
        lines.push(CostLine {
            item: item.into(),
            quantity,
            unit: unit.into(),
            unit_cost,
            amount,
        });
        amount
    };
    let earthwork_cost = earthwork.map(|e| {
        line(
            "earthwork",
            e.cut_m3.max(e.fill_m3),
            "m3",
            costs.earthwork_per_m3,
        )
    });
    let mut roads = 0.0;
    for class in RoadClass::ALL {
        let length: f64 = layout
            .roads
            .iter()
            .filter(|r| r.class == class)
            .map(|r| r.length_m())
            .sum();
        if length > 0.0 {
            roads += line(
                &format!("road_{}", class.as_str()),
                length,
                "m",
                costs.road_per_m(class),
            );
        }
    }
    let mut assets = 0.0;
    let area_of = |t: AssetType| -> f64 {
        layout
            .assets
            .iter()
            .filter(|a| a.asset_type == t)
            .map(|a| a.area_m2())
            .sum()
    };
    for (t, item, price) in [
        (AssetType::Building, "building", costs.building_per_m2),
        (
            AssetType::EquipmentYard,
            "equipment_yard",
            costs.equipment_yard_per_m2,
        ),
        (
            AssetType::StorageTank,
            "storage_tank",
            costs.storage_tank_per_m2,
        ),
        (AssetType::Pond, "pond", costs.pond_per_m2),
        (AssetType::Custom, "custom", costs.custom_per_m2),
    ] {
        let area = area_of(t);
        if area > 0.0 {
            assets += line(item, area, "m2", price);
        }
    }
    let stalls: u32 = layout
        .assets
        .iter()
        .filter(|a| a.asset_type == AssetType::ParkingLot)
        .map(|a| stall_layout(a.width_m, a.length_m).stalls)
        .sum();
    if stalls > 0 {
        assets += line(
            "parking",
            f64::from(stalls),
            "stall",
            costs.parking_per_stall,
        );
    }
    let subtotal = earthwork_cost.unwrap_or(0.0) + roads + assets;
    let contingency = subtotal * costs.contingency_fraction;
    CostBreakdown {
        currency: costs.currency.clone(),
        lines,
        earthwork: earthwork_cost,
        roads,
        assets,
        subtotal,
        contingency,
        total: subtotal + contingency,
        complete: earthwork_cost.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{PlacedAsset, Road};

    fn asset(t: AssetType, w: f64, l: f64) -> PlacedAsset {
        PlacedAsset {
            asset_id: format!("{t}-1"),
            name: "x".into(),
            asset_type: t,
            center: [0.0, 0.0],
            width_m: w,
            length_m: l,
            rotation_deg: 0.0,
            shape: Default::default(),
        }
    }

    #[test]
    fn breakdown_with_and_without_earthwork() {
        let layout = Layout {
            assets: vec![
                asset(AssetType::Building, 10.0, 20.0),
                asset(AssetType::ParkingLot, 40.0, 50.0),
            ],
            roads: vec![Road {
                points: vec![[0.0, 0.0], [100.0, 0.0]],
                width_m: 7.3,
                class: RoadClass::Main,
            }],
        };
        let costs = UnitCosts::default().with_overrides(&CostOverrides {
            building_per_m2: Some(1000.0),
            contingency_fraction: Some(0.1),
            ..CostOverrides::default()
        });
        let b = cost_breakdown(&costs, &layout, None);
        assert!(!b.complete);
        assert_eq!(b.earthwork, None);
        assert_eq!(b.assets, 200.0 * 1000.0 + 72.0 * 2500.0);
        assert_eq!(b.roads, 100.0 * 700.0);
        assert!((b.total - 1.1 * (b.assets + b.roads)).abs() < 1e-6);
        let e = EarthworkSummary {
            cut_m3: 100.0,
            fill_m3: 80.0,
            ..EarthworkSummary::default()
        };
        let b = cost_breakdown(&costs, &layout, Some(&e));
        assert!(b.complete);
        assert_eq!(b.earthwork, Some(1500.0));
        assert_eq!(b.lines[0].item, "earthwork");
    }
}
