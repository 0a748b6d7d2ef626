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

/// Longest id kept in an error message: a valid id has about 60 characters, and an
/// error must not echo back the megabyte a client sent.
const MAX_ECHOED_ID_CHARS: usize = 80;

fn echoed(global_id: &str) -> String {
    if global_id.chars().count() <= MAX_ECHOED_ID_CHARS {
        global_id.to_owned()
    } else {
        let start: String = global_id.chars().take(MAX_ECHOED_ID_CHARS).collect();
        format!("{start}… ({} characters)", global_id.chars().count())
    }
}

pub fn encode_global_id(type_name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// Decodes any global id into its type name and uuid.
pub fn decode_global_id(global_id: &str) -> Result<(String, Uuid), GlobalIdError> {
    let malformed = || GlobalIdError::Malformed(echoed(global_id));
    if global_id.len() > 4 * MAX_ECHOED_ID_CHARS {
        return Err(malformed());
    }
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
            id: echoed(global_id),
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
        let huge = "A".repeat(900_000);
        let refused = decode_global_id(&huge).expect_err("too long").to_string();
        assert!(refused.len() < 200, "{refused}");
    }
}
