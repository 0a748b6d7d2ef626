//! The greedy strategy's parameters: their JSON Schema (published in the manifest) and parsing
//! with errors that name the offending field.

use entmoot_plugin_sdk::parameters::parse_parameters;
use serde::Deserialize;
use serde_json::{Value, json};

/// Parameters of one greedy run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// Candidate grid step in metres; `None` picks one per asset (1/8 of its short side,
    /// between 0.25 m and 2 m).
    #[serde(default)]
    pub grid_step_m: Option<f64>,
    /// Also pack from the other three corners of the buildable area.
    #[serde(default = "yes")]
    pub mirrors: bool,
    /// Also pack in a frame aligned with the buildable area's dominant edge.
    #[serde(default = "yes")]
    pub align_to_site: bool,
}

fn yes() -> bool {
    true
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            grid_step_m: None,
            mirrors: true,
            align_to_site: true,
        }
    }
}

pub use entmoot_plugin_sdk::parameters::ParameterError;

impl Parameters {
    /// Parses and checks parameters (`null` means all defaults).
    pub fn from_value(value: &Value) -> Result<Parameters, ParameterError> {
        let p: Parameters = parse_parameters(value)?;
        if let Some(step) = p.grid_step_m
            && !(step.is_finite() && step > 0.0)
        {
            return Err(ParameterError::Value {
                field: "grid_step_m",
                message: format!("must be > 0, got {step}"),
            });
        }
        Ok(p)
    }

    /// The JSON Schema of the parameters.
    pub fn schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "grid_step_m": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "Candidate grid step in metres; by default 1/8 of each asset's short side, between 0.25 and 2 m."
                },
                "mirrors": {
                    "type": "boolean",
                    "default": true,
                    "description": "Also pack from the other three corners of the buildable area (more alternatives)."
                },
                "align_to_site": {
                    "type": "boolean",
                    "default": true,
                    "description": "Also pack in a frame aligned with the buildable area's dominant edge."
                }
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
        let p = Parameters::from_value(&json!({"grid_step_m": 0.5, "mirrors": false})).unwrap();
        assert_eq!(p.grid_step_m, Some(0.5));
        assert!(!p.mirrors);
        let e = Parameters::from_value(&json!({"grid_step_m": -1})).unwrap_err();
        assert_eq!(e.to_string(), "parameters.grid_step_m: must be > 0, got -1");
        let e = Parameters::from_value(&json!({"grid_stepm": 1})).unwrap_err();
        assert!(e.to_string().contains("unknown field `grid_stepm`"), "{e}");
    }
}
