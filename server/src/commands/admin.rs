//! `entmoot admin …`: organizations, users (created, their role set, removed) and API
//! keys for operators, who act with the database's authority rather than a caller's.
//! Tokens are printed once, on stdout, and never logged.

use anyhow::{Context, bail};
use entmoot_domain::access::{self, NewApiKey};
use entmoot_domain::administration::{member_by_email, remove_from_organization, set_member_role};
use entmoot_domain::audit::recent_audit_records;
use entmoot_domain::caller::Role;
use entmoot_domain::organizations::{
    LOCAL_ORGANIZATION_SLUG, create_organization, create_user, ensure_organization, find_by_slug,
    find_user_by_email,
};
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use crate::adapters::database;
use crate::cli::{AdminAction, JobsAction, KeysAction, OrganizationsAction, UsersAction};
use crate::config::Settings;

async fn open(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let connection = database::connect(settings).await?;
    if database::is_sqlite(&connection) {
        database::migrate_up(&connection).await?;
    } else {
        database::ensure_migrated(&connection, settings).await?;
    }
    Ok(connection)
}

/// The organization's id; `local` exists once any server has started, and is created
/// here otherwise so that the first key can be issued before the first start.
async fn organization_id(connection: &DatabaseConnection, slug: &str) -> anyhow::Result<Uuid> {
    if slug == LOCAL_ORGANIZATION_SLUG {
        return Ok(ensure_organization(connection, LOCAL_ORGANIZATION_SLUG, "Local").await?);
    }
    match find_by_slug(connection, slug).await? {
        Some(organization) => Ok(organization.id),
        None => bail!("--organization {slug}: no organization with this slug"),
    }
}

fn role(raw: &str) -> anyhow::Result<Role> {
    Role::parse(raw).with_context(|| format!("--role {raw}"))
}

pub async fn run(settings: Settings, action: AdminAction) -> anyhow::Result<()> {
    let connection = open(&settings).await?;
    match action {
        AdminAction::Organizations {
            action: OrganizationsAction::Create { name, slug },
        } => {
            let organization = create_organization(&connection, &name, &slug).await?;
            println!(
                "created organization {} ({})",
                organization.slug, organization.id
            );
        }
        AdminAction::Users {
            action:
                UsersAction::Create {
                    organization,
                    email,
                    name,
                    role: role_name,
                },
        } => {
            let organization_id = organization_id(&connection, &organization).await?;
            let user = create_user(
                &connection,
                organization_id,
                &email,
                &name,
                role(&role_name)?,
            )
            .await?;
            println!("created user {} ({}) as {}", user.email, user.id, user.role);
        }
        AdminAction::Users {
            action:
                UsersAction::SetRole {
                    organization,
                    email,
                    role: role_name,
                },
        } => {
            let organization_id = organization_id(&connection, &organization).await?;
            let user_id = member_by_email(&connection, organization_id, &email)
                .await?
                .with_context(|| format!("--email {email}: not a member of {organization}"))?;
            let member =
                set_member_role(&connection, organization_id, user_id, role(&role_name)?).await?;
            println!("{} is now {}", member.email, member.role.as_str());
            tell_running_servers(&settings).await;
        }
        AdminAction::Users {
            action:
                UsersAction::Remove {
                    organization,
                    email,
                },
        } => {
            let organization_id = organization_id(&connection, &organization).await?;
            let user_id = member_by_email(&connection, organization_id, &email)
                .await?
                .with_context(|| format!("--email {email}: not a member of {organization}"))?;
            let member = remove_from_organization(&connection, organization_id, user_id).await?;
            println!("removed {} from {organization}", member.email);
            tell_running_servers(&settings).await;
        }
        AdminAction::Keys { action } => keys(&connection, &settings, action).await?,
        AdminAction::Jobs { action } => jobs(&connection, action).await?,
        AdminAction::Audit {
            organization,
            limit,
        } => {
            let organization_id = organization_id(&connection, &organization).await?;
            for record in recent_audit_records(&connection, organization_id, limit).await? {
                println!(
                    "{}",
                    json!({
                        "at": record.at,
                        "action": record.action,
                        "succeeded": record.succeeded,
                        "apiKeyId": record.api_key_id,
                        "userId": record.user_id,
                        "requestId": record.request_id,
                        "clientAddress": record.client_address,
                    })
                );
            }
        }
    }
    Ok(())
}

/// A job id as an operator may give it: the UUID, or the API's global id of a Job.
fn job_id(raw: &str) -> anyhow::Result<Uuid> {
    let raw = raw.trim();
    if let Ok(id) = Uuid::parse_str(raw) {
        return Ok(id);
    }
    entmoot_domain::ids::decode_typed_id(raw, "Job")
        .map_err(|error| anyhow::anyhow!("`{raw}` is neither a job UUID nor a Job id: {error}"))
}

async fn jobs(connection: &DatabaseConnection, action: JobsAction) -> anyhow::Result<()> {
    use entmoot_domain::jobs::{transitions, unfinished_jobs};
    match action {
        JobsAction::List { limit } => {
            for job in unfinished_jobs(connection, limit).await? {
                println!(
                    "{}",
                    json!({
                        "id": job.id,
                        "organizationId": job.organization_id,
                        "status": job.status,
                        "workerId": job.worker_id,
                        "leaseExpiresAt": job.lease_expires_at,
                        "cancelRequested": job.cancel_requested,
                        "attempts": job.attempts,
                        "maxAttempts": job.max_attempts,
                        "createdAt": job.created_at,
                    })
                );
            }
        }
        JobsAction::End { job, reason } => {
            let id = job_id(&job)?;
            match transitions::end_by_operator(connection, id, &reason).await? {
                Some(ended) => println!("ended job {id}: {}", ended.status),
                None => bail!("job {id}: no such job, or it has already ended"),
            }
        }
        JobsAction::Delete { job } => {
            let id = job_id(&job)?;
            if !transitions::delete_unheld(connection, id).await? {
                bail!(
                    "job {id}: no such job, or a live worker holds it (end it first: entmoot admin jobs end {id})"
                );
            }
            println!("deleted job {id}");
        }
    }
    Ok(())
}

async fn keys(
    connection: &DatabaseConnection,
    settings: &Settings,
    action: KeysAction,
) -> anyhow::Result<()> {
    match action {
        KeysAction::Create {
            organization,
            name,
            role: role_name,
            expires_in_days,
            user,
            json: as_json,
        } => {
            let organization_id = organization_id(connection, &organization).await?;
            let user_id = match user {
                None => None,
                Some(email) => Some(
                    find_user_by_email(connection, organization_id, &email)
                        .await?
                        .with_context(|| format!("--user {email}: no such user in {organization}"))?
                        .id,
                ),
            };
            let expires_at = expires_in_days
                .map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
            let new_key = NewApiKey::parse(&name, role(&role_name)?, expires_at, user_id)?;
            let issued = access::issue_api_key(connection, organization_id, new_key).await?;
            if as_json {
                println!(
                    "{}",
                    json!({
                        "token": issued.token.expose(),
                        "id": issued.key.id,
                        "prefix": issued.key.prefix,
                        "role": issued.key.role.as_str(),
                        "expiresAt": issued.key.expires_at,
                    })
                );
            } else {
                println!(
                    "key {} ({}), role {}; its token is shown only this once:\n{}",
                    issued.key.prefix,
                    issued.key.id,
                    issued.key.role.as_str(),
                    issued.token.expose()
                );
            }
        }
        KeysAction::List { organization } => {
            let organization_id = organization_id(connection, &organization).await?;
            for key in access::list_api_keys(connection, organization_id).await? {
                println!(
                    "{}",
                    json!({
                        "id": key.id,
                        "prefix": key.prefix,
                        "name": key.name,
                        "role": key.role.as_str(),
                        "userId": key.user_id,
                        "expiresAt": key.expires_at,
                        "revokedAt": key.revoked_at,
                        "lastUsedAt": key.last_used_at,
                        "createdAt": key.created_at,
                    })
                );
            }
        }
        KeysAction::Revoke { organization, key } => {
            let organization_id = organization_id(connection, &organization).await?;
            let revoked = access::revoke_api_key(connection, organization_id, &key).await?;
            println!("revoked key {} ({})", revoked.prefix, revoked.id);
            tell_running_servers(settings).await;
        }
    }
    Ok(())
}

/// Running servers remember verified keys for a few seconds; with Redis they are told
/// to forget at once, as when an admin revokes through the API. Without Redis the one
/// server is a separate process this command cannot reach, and the lifetime applies.
async fn tell_running_servers(settings: &Settings) {
    let lifetime = settings.verified_key_lifetime.as_secs();
    let Some(redis) = &settings.redis else {
        println!("a running server stops accepting it within {lifetime} s");
        return;
    };
    let told = async {
        let client = crate::runtime::redis_client(redis, "")?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let channel = crate::adapters::redis_bus::access_channel_of(&redis.key_prefix);
        let _: i64 = redis::AsyncCommands::publish(&mut connection, channel, "changed").await?;
        anyhow::Ok(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), told).await {
        Ok(Ok(())) => println!("running servers were told to refuse it now"),
        Ok(Err(error)) => println!(
            "telling running servers failed ({error}); they stop accepting it within {lifetime} s"
        ),
        Err(_) => println!(
            "telling running servers timed out; they stop accepting it within {lifetime} s"
        ),
    }
}
