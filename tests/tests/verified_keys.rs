//! API instances remember verified keys for a few seconds (ENTMOOT_VERIFIED_KEY_SECONDS),
//! and that memory never outlives a revocation: a key revoked through one instance, or by
//! an operator's `entmoot admin keys revoke`, is refused by every other instance at once,
//! and an instance whose Redis connection was cut forgets everything when it is back.
//!
//! The instances here take keys on trust for 300 s, so only the published access change
//! (or the reconnection) can explain a refusal within the test's deadlines.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, PrivateRedis, TestServer, data_of, error_code, graphql_ok, graphql_with_token,
    production_like_env, run_entmoot,
};
use serde_json::{Value, json};

const CREATE: &str = "mutation($name: String!) { createApiKey(name: $name, role: EDITOR) { token key { id prefix } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }";
const VIEWER: &str = "{ viewer { role apiKey } }";

fn long_trust(env: &HashMap<String, String>) -> HashMap<String, String> {
    let mut env = env.clone();
    env.insert("ENTMOOT_VERIFIED_KEY_SECONDS".into(), "300".into());
    env
}

async fn issue_key(server: &TestServer, name: &str) -> (String, String, String) {
    let issued = graphql_ok(server, CREATE, json!({ "name": name })).await;
    let key = &issued["createApiKey"];
    (
        key["token"].as_str().unwrap().to_owned(),
        key["key"]["id"].as_str().unwrap().to_owned(),
        key["key"]["prefix"].as_str().unwrap().to_owned(),
    )
}

async fn accepted(server: &TestServer, token: &str) {
    let viewer = data_of(graphql_with_token(server, Some(token), VIEWER, json!({})).await);
    assert_eq!(viewer["viewer"], json!({"role": "EDITOR", "apiKey": true}));
}

/// Asks with `token` until the answer is UNAUTHENTICATED; panics after `deadline`.
async fn refused_within(server: &TestServer, token: &str, deadline: Duration, what: &str) {
    let started = Instant::now();
    loop {
        let answer: Value = graphql_with_token(server, Some(token), VIEWER, json!({})).await;
        if error_code(&answer) == "UNAUTHENTICATED" {
            return;
        }
        assert!(
            started.elapsed() < deadline,
            "{what}: the key was still accepted after {deadline:?}: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn two_instances(
    postgres: &FreshPostgres,
    dir: &Path,
    redis_url: Option<String>,
) -> (HashMap<String, String>, TestServer, TestServer) {
    let mut env = production_like_env(&postgres.url, dir);
    if let Some(url) = redis_url {
        env.insert("REDIS_URL".into(), url);
    }
    let env = long_trust(&env);
    let migrated = run_entmoot(dir, &env, &["migrate", "up"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let first = TestServer::start(dir, &env).await.expect("first instance");
    let second = TestServer::start(dir, &env).await.expect("second instance");
    (env, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_anywhere_is_refused_by_every_instance_at_once() {
    let postgres = FreshPostgres::create().await.expect("postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let (env, first, second) = two_instances(&postgres, dir.path(), None).await;

    // Revoked through the API of one instance, while the other remembers the key.
    let (token, key_id, _) = issue_key(&first, "script one").await;
    accepted(&second, &token).await;
    accepted(&second, &token).await;
    graphql_ok(&first, REVOKE, json!({ "id": key_id })).await;
    refused_within(
        &first,
        &token,
        Duration::from_millis(1),
        "the revoking instance",
    )
    .await;
    refused_within(
        &second,
        &token,
        Duration::from_secs(30),
        "the other instance",
    )
    .await;

    // Revoked by an operator from the command line: the CLI tells the instances too.
    let (token, _, prefix) = issue_key(&first, "script two").await;
    accepted(&first, &token).await;
    accepted(&second, &token).await;
    let revoked = run_entmoot(dir.path(), &env, &["admin", "keys", "revoke", &prefix]);
    assert!(revoked.status.success(), "{revoked:?}");
    let said = String::from_utf8_lossy(&revoked.stdout);
    assert!(said.contains("told to refuse it now"), "{said}");
    refused_within(
        &first,
        &token,
        Duration::from_secs(30),
        "the first instance",
    )
    .await;
    refused_within(
        &second,
        &token,
        Duration::from_secs(30),
        "the second instance",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_forgets_every_key_when_its_redis_connection_comes_back() {
    let postgres = FreshPostgres::create().await.expect("postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut redis = PrivateRedis::start().expect("redis-server");
    let (env, first, _second) = two_instances(&postgres, dir.path(), Some(redis.url())).await;

    let (token, _, prefix) = issue_key(&first, "script").await;
    accepted(&first, &token).await;
    // Revoked in the database by a CLI that reaches no Redis: nothing tells the
    // instance, which keeps taking the key on trust; this is what the memory does, and
    // why a lost message must not be the end of it.
    let mut without_redis = env.clone();
    without_redis.remove("REDIS_URL");
    let revoked = run_entmoot(
        dir.path(),
        &without_redis,
        &["admin", "keys", "revoke", &prefix],
    );
    assert!(revoked.status.success(), "{revoked:?}");
    accepted(&first, &token).await;

    // Redis restarts: the instance may have missed access changes meanwhile, so when
    // its subscription is back it forgets everything and reads the key again.
    redis.restart().expect("restart redis");
    refused_within(
        &first,
        &token,
        Duration::from_secs(30),
        "after the reconnection",
    )
    .await;
}
