//! Relay-style global identifiers: `base64("Type:uuid")`, opaque to clients.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GlobalIdError {
    #[error("`{0}` is not a valid id")]
    Malformed(String),
    #[error("id `{id}` is a {actual}, expected a {expected}")]
    WrongType {
        id: String,
        expected: &'static str,
        actual: String,
    },
}

pub fn encode_global_id(type_name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// Decodes any global id into its type name and uuid.
pub fn decode_global_id(global_id: &str) -> Result<(String, Uuid), GlobalIdError> {
    let malformed = || GlobalIdError::Malformed(global_id.to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(global_id).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (type_name, raw) = text.split_once(':').ok_or_else(malformed)?;
    let id = Uuid::parse_str(raw).map_err(|_| malformed())?;
    Ok((type_name.to_owned(), id))
}

/// Decodes a global id that must name an object of `expected` type.
pub fn decode_typed_id(global_id: &str, expected: &'static str) -> Result<Uuid, GlobalIdError> {
    let (actual, id) = decode_global_id(global_id)?;
    if actual != expected {
        return Err(GlobalIdError::WrongType {
            id: global_id.to_owned(),
            expected,
            actual,
        });
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_the_type() {
        let id = Uuid::new_v4();
        let global = encode_global_id("Project", id);
        assert_eq!(decode_typed_id(&global, "Project"), Ok(id));
        assert!(matches!(
            decode_typed_id(&global, "Site"),
            Err(GlobalIdError::WrongType { .. })
        ));
        assert!(matches!(
            decode_global_id("not base64!"),
            Err(GlobalIdError::Malformed(_))
        ));
    }
}
