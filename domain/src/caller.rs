//! Who is making a request: the organization every read and write is scoped to, the
//! role that bounds what they may do, and the credential they used (for the audit log).

use uuid::Uuid;

/// The authenticated party behind a request. Every domain operation takes one and
/// filters by `organization_id`, so no caller can reach another organization's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organization_id: Uuid,
    pub role: Role,
    /// The API key the request presented, if any.
    pub api_key_id: Option<Uuid>,
    /// The person behind the request, if known.
    pub user_id: Option<Uuid>,
}

/// Roles are ordered: each one may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a role; roles are viewer, editor and admin")]
pub struct UnknownRole(pub String);

impl Role {
    pub fn parse(raw: &str) -> Result<Self, UnknownRole> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownRole(raw.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }
}

impl Caller {
    /// A caller acting for an organization with a role, without a stored credential:
    /// the CLI's offline commands and tests.
    pub fn acting_for(organization_id: Uuid, role: Role) -> Self {
        Self {
            organization_id,
            role,
            api_key_id: None,
            user_id: None,
        }
    }

    pub fn can_write(&self) -> bool {
        self.role >= Role::Editor
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_order() {
        assert_eq!(Role::parse(" Admin "), Ok(Role::Admin));
        assert!(Role::parse("owner").is_err());
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
        let viewer = Caller::acting_for(Uuid::nil(), Role::Viewer);
        assert!(!viewer.can_write() && !viewer.is_admin());
    }
}
