//! The anneal strategy's parameters: JSON Schema (published in the manifest) and parsing with
//! errors that name the offending field.

use entmoot_plugin_sdk::parameters::parse_parameters;
use serde::Deserialize;
use serde_json::{Value, json};

/// Parameters of one run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Parameters {
    /// Destroy-and-repair iterations in total (shared by the chains).
    pub iterations: u32,
    /// Wall-clock budget when the request gives no time limit, milliseconds.
    pub default_time_limit_ms: u64,
    /// Largest share of the placed assets one move removes and re-inserts.
    pub destroy_fraction: f64,
    /// Starting temperature, in units of the weighted objective (0..1).
    pub initial_temperature: f64,
    /// Two alternatives must differ in at least this share of their assets (moved by more
    /// than a metre, or placed in only one of them).
    pub min_difference: f64,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            iterations: 240,
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
        Ok(p)
    }

    /// The JSON Schema of the parameters.
    pub fn schema() -> Value {
        let d = Parameters::default();
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "iterations": {"type": "integer", "minimum": 0, "default": d.iterations,
                    "description": "Destroy-and-repair iterations in total; with a seed, the same count gives the same layouts."},
                "default_time_limit_ms": {"type": "integer", "minimum": 0, "default": d.default_time_limit_ms,
                    "description": "Wall-clock budget when the run request gives no time limit."},
                "destroy_fraction": {"type": "number", "minimum": 0, "maximum": 1, "default": d.destroy_fraction,
                    "description": "Largest share of the placed assets one move removes and re-inserts."},
                "initial_temperature": {"type": "number", "minimum": 0, "default": d.initial_temperature,
                    "description": "Starting temperature in units of the weighted objective (0..1); cools linearly to 0."},
                "min_difference": {"type": "number", "minimum": 0, "maximum": 1, "default": d.min_difference,
                    "description": "Share of assets in which two returned alternatives must differ."}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
