//! The greedy strategy's parameters: parsed with errors that name the offending field, and
//! described in the manifest by the JSON Schema generated from this type (field doc
//! comments are the descriptions a user reads).

use entmoot_plugin_sdk::parameters::{JsonSchema, parse_parameters};
use serde::Deserialize;
use serde_json::Value;

/// Parameters of one greedy run.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// Candidate grid step in metres; by default 1/8 of each asset's short side, between
    /// 0.25 and 2 m.
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub grid_step_m: Option<f64>,
    /// Also pack from the other three corners of the buildable area (more alternatives).
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
        let p = Parameters::from_value(&json!({"grid_step_m": 0.5, "mirrors": false})).unwrap();
        assert_eq!(p.grid_step_m, Some(0.5));
        assert!(!p.mirrors);
        let e = Parameters::from_value(&json!({"grid_step_m": -1})).unwrap_err();
        assert_eq!(e.to_string(), "parameters.grid_step_m: must be > 0, got -1");
        let e = Parameters::from_value(&json!({"grid_stepm": 1})).unwrap_err();
        assert!(e.to_string().contains("unknown field `grid_stepm`"), "{e}");
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
