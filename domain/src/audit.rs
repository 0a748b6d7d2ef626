//! The audit log of mutations: who ran which one, when, from where, and whether it
//! succeeded. Written by the transport once the mutation has run.

use chrono::{DateTime, Utc};
use entmoot_entities::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::caller::Caller;

/// One mutation field as it ran.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub action: String,
    pub succeeded: bool,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: Uuid,
    pub api_key_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub succeeded: bool,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub at: DateTime<Utc>,
}

pub async fn record_mutations(
    database: &DatabaseConnection,
    caller: &Caller,
    entries: Vec<AuditEntry>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    for entry in entries {
        audit_log::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(caller.organization_id),
            api_key_id: Set(caller.api_key_id),
            user_id: Set(caller.user_id),
            action: Set(entry.action),
            succeeded: Set(entry.succeeded),
            request_id: Set(entry.request_id),
            client_address: Set(entry.client_address),
            at: Set(now),
        }
        .insert(database)
        .await?;
    }
    Ok(())
}

/// One account mutation reached without a token (`signIn`, `acceptInvitation`,
/// `requestPasswordReset`, `resetPassword`), written to the log of the organization it
/// concerns with the person it concerns. When neither is known (an unknown e-mail, a
/// token that matches nothing) there is no organization to write to: those go to the
/// process log only.
pub async fn record_account_event(
    database: &DatabaseConnection,
    organization_id: Uuid,
    user_id: Option<Uuid>,
    entry: AuditEntry,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        api_key_id: Set(None),
        user_id: Set(user_id),
        action: Set(entry.action),
        succeeded: Set(entry.succeeded),
        request_id: Set(entry.request_id),
        client_address: Set(entry.client_address),
        at: Set(Utc::now()),
    }
    .insert(database)
    .await?;
    Ok(())
}

/// The newest entries of an organization, newest first.
pub async fn recent_audit_records(
    database: &DatabaseConnection,
    organization_id: Uuid,
    limit: u64,
) -> Result<Vec<AuditRecord>, DbErr> {
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::OrganizationId.eq(organization_id))
        .order_by_desc(audit_log::Column::At)
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(database)
        .await?
        .into_iter()
        .map(|model| AuditRecord {
            id: model.id,
            api_key_id: model.api_key_id,
            user_id: model.user_id,
            action: model.action,
            succeeded: model.succeeded,
            request_id: model.request_id,
            client_address: model.client_address,
            at: model.at,
        })
        .collect())
}
