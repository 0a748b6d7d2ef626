//! The anneal strategy's parameters: parsed with errors that name the offending field, and
//! described in the manifest by the JSON Schema generated from this type (field doc
//! comments are the descriptions a user reads).

use entmoot_plugin_sdk::parameters::{JsonSchema, parse_parameters};
use serde::Deserialize;
use serde_json::Value;

/// Parameters of one run.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Parameters {
    /// Most destroy-and-repair moves in total, over all chains (0: no cap). The search also
    /// ends when every chain has run out of patience, and at the time limit.
    pub iterations: u32,
    /// Moves a chain makes without improving its best before it moves on to the next
    /// constructed start (or, with none left, stops); 0 searches until the time limit or the
    /// iteration cap. With a seed, a run that ends this way gives the same layouts every time.
    pub patience: u32,
    /// Threads the search runs on (0: one per available core). The same seed and thread
    /// count give the same layouts.
    #[schemars(range(max = 256))]
    pub threads: u32,
    /// Wall-clock budget when the run request gives no time limit, milliseconds.
    pub default_time_limit_ms: u64,
    /// Largest share of the placed assets one move removes and re-inserts (small moves are
    /// the more frequent).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub destroy_fraction: f64,
    /// Starting temperature in units of the weighted objective (0..1). It halves every 24
    /// moves; every 160 moves a chain goes back to its best layout and starts hot again.
    #[schemars(range(min = 0.0))]
    pub initial_temperature: f64,
    /// Share of assets in which two returned alternatives must differ (placed in only one of
    /// them, turned, or moved by more than their own width).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_difference: f64,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            iterations: 0,
            patience: 120,
            threads: 0,
            default_time_limit_ms: 8_000,
            destroy_fraction: 0.15,
            initial_temperature: 0.01,
            min_difference: 0.2,
        }
    }
}

pub use entmoot_plugin_sdk::parameters::ParameterError;

impl Parameters {
    /// Parses and checks parameters (`null` means all defaults).
    pub fn from_value(value: &Value) -> Result<Parameters, ParameterError> {
        let p: Parameters = parse_parameters(value)?;
        let fraction = |field, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(ParameterError::Value {
                    field,
                    message: format!("must be in [0, 1], got {v}"),
                })
            }
        };
        fraction("destroy_fraction", p.destroy_fraction)?;
        fraction("min_difference", p.min_difference)?;
        if !(p.initial_temperature.is_finite() && p.initial_temperature >= 0.0) {
            return Err(ParameterError::Value {
                field: "initial_temperature",
                message: format!("must be >= 0, got {}", p.initial_temperature),
            });
        }
        if p.threads > 256 {
            return Err(ParameterError::Value {
                field: "threads",
                message: format!("must be at most 256, got {}", p.threads),
            });
        }
        Ok(p)
    }

    /// The threads to run on: `threads`, or one per available core.
    pub fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            Parameters::from_value(&json!({})).unwrap(),
            Parameters::default()
        );
        assert_eq!(
            Parameters::from_value(&Value::Null).unwrap(),
            Parameters::default()
        );
        let p = Parameters::from_value(&json!({"iterations": 5})).unwrap();
        assert_eq!(p.iterations, 5);
        let e = Parameters::from_value(&json!({"destroy_fraction": 2})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameters.destroy_fraction: must be in [0, 1], got 2"
        );
        assert!(Parameters::from_value(&json!({"iteration": 5})).is_err());
    }

    #[test]
    fn the_published_schema_is_the_parser_s() {
        let schema = entmoot_plugin_sdk::parameters::parameter_schema::<Parameters>();
        assert_eq!(schema["additionalProperties"], false);
        for (name, property) in schema["properties"].as_object().expect("properties") {
            assert!(
                property["description"].is_string(),
                "{name} has no description"
            );
        }
        let defaults = entmoot_plugin_sdk::parameters::published_defaults::<Parameters>();
        assert_eq!(
            Parameters::from_value(&defaults).unwrap(),
            Parameters::default()
        );
    }
}
