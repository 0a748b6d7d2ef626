//! Entmoot's database migrations (sea-orm-migration), for SQLite and PostgreSQL + PostGIS.
//!
//! Every table is created portably. On PostgreSQL only, the migrations also
//! `CREATE EXTENSION IF NOT EXISTS postgis` and add, next to each WKB column, a generated
//! `geom geometry(<Type>,4326)` column with a GIST index (`<table>_geom_gist`). On SQLite
//! each geometry table instead gets a bounding-box index (`<table>_bbox`).
//!
//! Note: `Migrator::fresh` drops every table of the schema, which on PostgreSQL includes
//! PostGIS's `spatial_ref_sys` and fails; use `Migrator::reset` followed by `up` instead.

use sea_orm_migration::prelude::*;

mod common;
mod m0001_organizations_users_keys;
mod m0002_projects_files_sites;
mod m0003_jobs_layouts_buildings;
mod m0004_job_history;
mod m0005_audit_log;
mod m0006_memberships_account_tokens;
mod m0007_job_retry_at;
mod m0008_job_notify_email;
mod m0009_layout_edits;
mod m0010_job_event_sequence;
mod pg;

pub use pg::{
    create_fresh_postgres_database, database_name_from_url, drop_database, replace_database_in_url,
};

/// Runs all of Entmoot's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_organizations_users_keys::Migration),
            Box::new(m0002_projects_files_sites::Migration),
            Box::new(m0003_jobs_layouts_buildings::Migration),
            Box::new(m0004_job_history::Migration),
            Box::new(m0005_audit_log::Migration),
            Box::new(m0006_memberships_account_tokens::Migration),
            Box::new(m0007_job_retry_at::Migration),
            Box::new(m0008_job_notify_email::Migration),
            Box::new(m0009_layout_edits::Migration),
            Box::new(m0010_job_event_sequence::Migration),
        ]
    }
}
