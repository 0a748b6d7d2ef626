//! Throw-away PostgreSQL databases for tests: create one with a random name, drop it.

use std::time::Duration;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Returns `url` with its database (path) replaced by `database`, keeping credentials,
/// host, port and query parameters.
pub fn replace_database_in_url(url: &str, database: &str) -> Result<String, DbErr> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| DbErr::Custom("database URL has no scheme".to_owned()))?;
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..authority_end], database);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// The database name in a `postgres://…/name?…` URL, if it has one.
pub fn database_name_from_url(url: &str) -> Option<String> {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let rest = &base[base.find("://")? + 3..];
    let name = &rest[rest.find('/')? + 1..];
    (!name.is_empty()).then(|| name.to_owned())
}

fn check_name(name: &str) -> Result<(), DbErr> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DbErr::Custom(format!(
            "refusing database name {name:?}: use 1-63 characters of [a-z0-9_]"
        )))
    }
}

async fn connect_admin(admin_url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(admin_url.to_owned());
    opts.max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(opts).await
}

/// Creates a new, empty database `entmoot_test_<uuid>` on the server of `admin_url`
/// (a URL of an existing database, usually the `postgres` maintenance database) and
/// returns the URL of the new database. Fails if the server is unreachable.
pub async fn create_fresh_postgres_database(admin_url: &str) -> Result<String, DbErr> {
    let name = format!("entmoot_test_{}", uuid::Uuid::new_v4().simple());
    let url = replace_database_in_url(admin_url, &name)?;
    let admin = connect_admin(admin_url).await?;
    let created = admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await;
    admin.close().await?;
    created?;
    Ok(url)
}

/// Drops database `name` (if it exists), disconnecting its remaining sessions first.
/// `name` must consist of `[a-z0-9_]` only.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), DbErr> {
    check_name(name)?;
    let admin = connect_admin(admin_url).await?;
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    admin.close().await?;
    dropped.map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u:p@h/postgres?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgres://h:5432", "postgres://h:5432/x"),
            ("postgres://h:5432/", "postgres://h:5432/x"),
        ];
        for (input, want) in cases {
            assert_eq!(replace_database_in_url(input, "x").unwrap(), want);
        }
        assert!(replace_database_in_url("nonsense", "x").is_err());
    }

    #[test]
    fn extracts_database_name() {
        assert_eq!(
            database_name_from_url("postgres://u@h:1/abc?x=1").as_deref(),
            Some("abc")
        );
        assert_eq!(database_name_from_url("postgres://u@h:1/"), None);
        assert_eq!(database_name_from_url("postgres://u@h:1"), None);
    }

    #[test]
    fn rejects_bad_names() {
        assert!(check_name("entmoot_test_0a").is_ok());
        assert!(check_name("a\"; drop").is_err());
        assert!(check_name("").is_err());
    }
}
