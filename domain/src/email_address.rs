//! An email address as Entmoot accepts it: trimmed, lowercased (so that sign-in does
//! not depend on how it was typed), with a local part and a dotted domain.
//!
//! ```
//! use entmoot_domain::email_address::EmailAddress;
//! assert_eq!(EmailAddress::parse(" Ana@Example.com ").unwrap().as_str(), "ana@example.com");
//! assert!(EmailAddress::parse("not an address").is_err());
//! ```

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an email address")]
pub struct InvalidEmail(pub String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let email = raw.trim().to_lowercase();
        let plausible = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if plausible {
            Ok(Self(email))
        } else {
            Err(InvalidEmail(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}
