//! Encryption in transit to PostgreSQL: DATABASE_URL's `sslmode` and `sslrootcert` reach
//! the driver. With `verify-full` and the CA of the server's certificate the server runs
//! and its connections are encrypted (pg_stat_ssl says so); with another CA it is refused.
//!
//! The test PostgreSQL is the machine's cluster, which serves TLS with Debian's self-signed
//! `ssl-cert-snakeoil` certificate (its own CA); tests/run checks that `ssl` is on.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use entmoot_tests::{FreshPostgres, TestServer, graphql_ok, production_like_env, run_entmoot};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

const SERVER_CERTIFICATE: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The host name the server's certificate is made out to (its CN), which must resolve to
/// this machine for `verify-full`.
fn certificate_host() -> String {
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "multiline", "-in"])
        .arg(SERVER_CERTIFICATE)
        .output()
        .expect("openssl");
    assert!(
        output.status.success(),
        "{SERVER_CERTIFICATE}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.trim().strip_prefix("commonName").map(str::to_owned))
        .map(|rest| rest.trim().trim_start_matches('=').trim().to_owned())
        .expect("a commonName in the server certificate")
}

/// `url` with its host replaced by `host` and `query` appended.
fn with_host_and_query(url: &str, host: &str, query: &str) -> String {
    let (scheme_and_user, rest) = url.split_once('@').expect("user@host in the URL");
    let (_, port_and_database) = rest.split_once(':').expect("host:port in the URL");
    format!("{scheme_and_user}@{host}:{port_and_database}?{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_talks_to_postgres_over_verified_tls() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let admin = Database::connect(database.url.as_str()).await.unwrap();
    let ssl = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            "SHOW ssl",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    assert_eq!(
        ssl, "on",
        "the test PostgreSQL must serve TLS (tests/run turns it on)"
    );
    let host = certificate_host();
    let dir = tempfile::tempdir().expect("tempdir");

    // Another CA: the server's certificate does not verify, and nothing starts.
    let other_ca = dir.path().join("other-ca.pem");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=Not the server's CA", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .expect("openssl");
    assert!(made.status.success());
    let mut env = production_like_env(&database.url, dir.path());
    env.insert(
        "DATABASE_URL".into(),
        with_host_and_query(
            &database.url,
            &host,
            &format!("sslmode=verify-full&sslrootcert={}", other_ca.display()),
        ),
    );
    let refused = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        !refused.status.success(),
        "a certificate from an unknown CA"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot connect") && stderr.contains("UnknownIssuer"),
        "refused for its certificate: {stderr}"
    );

    // The server's own CA: migrations, the API and its queries all run over TLS.
    env.insert(
        "DATABASE_URL".into(),
        with_host_and_query(
            &database.url,
            &host,
            &format!("sslmode=verify-full&sslrootcert={SERVER_CERTIFICATE}"),
        ),
    );
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    graphql_ok(
        &server,
        "mutation { createProject(input: {name: \"Over TLS\"}) { id } }",
        json!({}),
    )
    .await;
    let database_name = database.url.rsplit('/').next().unwrap().to_owned();
    let encrypted = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_ssl s \
                 JOIN pg_stat_activity a USING (pid) \
                 WHERE a.datname = '{database_name}' AND a.pid <> pg_backend_pid()"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let tls: i64 = encrypted.try_get_by_index(0).unwrap();
    let all: i64 = encrypted.try_get_by_index(1).unwrap();
    assert!(all >= 1, "the server holds connections to its database");
    assert_eq!(tls, all, "every connection of the server is encrypted");
}
