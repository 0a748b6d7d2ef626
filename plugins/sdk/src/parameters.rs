//! A run request's `parameters` read into a strategy's own type, with errors that name the
//! offending field: the same shape of error from every strategy.
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
