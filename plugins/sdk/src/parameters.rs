//! A strategy's parameters: read from a run request into the strategy's own type, with
//! errors that name the offending field (the same shape of error from every strategy), and
//! described for the manifest by a JSON Schema generated from that same type, so the
//! published schema and the parser cannot disagree on names, types or defaults.
//!
//! ```
//! use entmoot_plugin_sdk::parameters::{ParameterError, parse_parameters};
//! use entmoot_plugin_sdk::serde_json::json;
//!
//! #[derive(Debug, Default, PartialEq, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Parameters {
//!     #[serde(default)]
//!     step_m: Option<f64>,
//! }
//!
//! let parsed: Parameters = parse_parameters(&json!({"step_m": 2.0})).unwrap();
//! assert_eq!(parsed.step_m, Some(2.0));
//! // `null` (no parameters given) is every default.
//! assert_eq!(parse_parameters::<Parameters>(&json!(null)).unwrap(), Parameters::default());
//! let refused = parse_parameters::<Parameters>(&json!({"stepm": 1})).unwrap_err();
//! assert!(matches!(refused, ParameterError::Shape(_)));
//! assert!(refused.to_string().starts_with("parameters: unknown field `stepm`"));
//! ```

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use schemars::JsonSchema;

use crate::strategy::StrategyError;

/// Why a strategy refused its parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    /// Not the strategy's shape: an unknown field, a wrong type.
    #[error("parameters: {0}")]
    Shape(String),
    /// A field of the right type with a value the strategy cannot use.
    #[error("parameters.{field}: {message}")]
    Value {
        field: &'static str,
        message: String,
    },
}

impl From<ParameterError> for StrategyError {
    fn from(error: ParameterError) -> Self {
        StrategyError::InvalidParameters(error.to_string())
    }
}

/// Reads `value` into `T`; `null` means `T::default()`. Checks of ranges and of fields
/// against each other stay with the strategy, which reports them as
/// [`ParameterError::Value`].
pub fn parse_parameters<T: DeserializeOwned + Default>(value: &Value) -> Result<T, ParameterError> {
    if value.is_null() {
        return Ok(T::default());
    }
    T::deserialize(value).map_err(|error| ParameterError::Shape(error.to_string()))
}

/// The JSON Schema (draft 2020-12) of a parameter type, for `Manifest::parameters`.
/// Field doc comments become descriptions, `Default` values become `default`s,
/// `#[serde(deny_unknown_fields)]` becomes `"additionalProperties": false`, and ranges
/// come from `#[schemars(range(min = …, max = …))]` (checking them stays the strategy's,
/// with a message that names the field).
///
/// ```
/// use entmoot_plugin_sdk::parameters::{JsonSchema, parameter_schema};
///
/// /// Parameters of a made-up strategy.
/// #[derive(Debug, Default, serde::Deserialize, JsonSchema)]
/// #[serde(deny_unknown_fields, default)]
/// struct Parameters {
///     /// Share of the assets one move may change.
///     #[schemars(range(min = 0.0, max = 1.0))]
///     fraction: f64,
/// }
///
/// let schema = parameter_schema::<Parameters>();
/// assert_eq!(schema["additionalProperties"], false);
/// assert_eq!(schema["properties"]["fraction"]["maximum"], 1.0);
/// assert_eq!(schema["properties"]["fraction"]["description"], "Share of the assets one move may change.");
/// assert_eq!(schema["properties"]["fraction"]["default"], 0.0);
/// ```
pub fn parameter_schema<T: JsonSchema>() -> Value {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    unwrap_descriptions(&mut schema);
    schema
}

/// Doc comments are wrapped for source files; a description is read in a form or a
/// tooltip, so a single line break becomes a space (a blank line stays a paragraph).
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                match field {
                    Value::String(text) if name == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| {
                                paragraph
                                    .split('\n')
                                    .map(str::trim)
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => unwrap_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// The object of every default a parameter schema publishes (`null` for a field without
/// one): what a form shows before anyone types. A strategy's test parses it and compares
/// with its `Default`, so the published defaults cannot drift from the real ones.
///
/// ```
/// use entmoot_plugin_sdk::parameters::{JsonSchema, parse_parameters, published_defaults};
///
/// #[derive(Debug, PartialEq, serde::Deserialize, JsonSchema)]
/// #[serde(deny_unknown_fields, default)]
/// struct Parameters {
///     /// Grid step, metres.
///     step_m: f64,
/// }
/// impl Default for Parameters {
///     fn default() -> Self { Parameters { step_m: 2.0 } }
/// }
///
/// let defaults = published_defaults::<Parameters>();
/// assert_eq!(defaults["step_m"], 2.0);
/// assert_eq!(parse_parameters::<Parameters>(&defaults).unwrap(), Parameters::default());
/// ```
pub fn published_defaults<T: JsonSchema>() -> Value {
    let schema = parameter_schema::<T>();
    let defaults = schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| (name.clone(), property["default"].clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(defaults)
}
