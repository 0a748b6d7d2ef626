//! The `GeoJSON` scalar: any RFC 7946 object (geometry, Feature, FeatureCollection),
//! checked on input so that a resolver never sees malformed GeoJSON.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// RFC 7946 GeoJSON, WGS84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoJson(pub serde_json::Value);

/// Any RFC 7946 GeoJSON object (a geometry, a Feature or a FeatureCollection) in WGS84
/// longitude/latitude, checked when it arrives.
#[Scalar(
    name = "GeoJSON",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc7946"
)]
impl ScalarType for GeoJson {
    fn parse(value: Value) -> InputValueResult<Self> {
        let json = value
            .into_json()
            .map_err(|error| InputValueError::custom(error.to_string()))?;
        let text = json.to_string();
        text.parse::<geojson::GeoJson>()
            .map_err(|error| InputValueError::custom(format!("not RFC 7946 GeoJSON: {error}")))?;
        Ok(Self(json))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

/// Arbitrary JSON (metrics, parameters, programs).
pub type JsonValue = async_graphql::Json<serde_json::Value>;
