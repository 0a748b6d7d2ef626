//! Who is making a request: the organization every read and write is scoped to.

use uuid::Uuid;

/// The authenticated party behind a request. Every domain operation takes one and
/// filters by `organization_id`, so no caller can reach another organization's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organization_id: Uuid,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Caller {
    pub fn can_write(&self) -> bool {
        matches!(self.role, Role::Editor | Role::Admin)
    }

    /// Operations on the server itself (reloading plugins) rather than on an
    /// organization's data.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
