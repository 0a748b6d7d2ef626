//! `audit_log`: who ran which mutation, when, and whether it succeeded.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The API key the caller used, when it was one.
    pub api_key_id: Option<Uuid>,
    /// The signed-in user, or the user an API key belongs to.
    pub user_id: Option<Uuid>,
    /// The mutation field, e.g. `createProject`.
    pub action: String,
    pub succeeded: bool,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
