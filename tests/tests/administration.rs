//! An organization's admins administer it through GraphQL: `members`, `apiKeys`,
//! `createApiKey` (the token shown once) and `revokeApiKey` (the key refused at once).
//! Viewers and editors see none of it, and no admin reaches another organization's keys.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    TestServer, data_of, embedded_env, error_code, graphql_ok, graphql_with_token, run_entmoot,
};
use serde_json::{Value, json};

const KEYS: &str = "{ apiKeys { id name prefix role ownerId revokedAt } }";
const CREATE: &str = "mutation($name: String!, $role: MemberRole!) { createApiKey(name: $name, role: $role) { token key { id name prefix role revokedAt } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }";

fn named<'a>(keys: &'a Value, name: &str) -> Option<&'a Value> {
    keys.as_array()?.iter().find(|key| key["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_members_and_keys_and_nobody_else_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let made = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "Ada",
            "--role",
            "editor",
        ],
    );
    assert!(made.status.success(), "{made:?}");

    let members = graphql_ok(
        &server,
        "{ members { user { email displayName } role } }",
        json!({}),
    )
    .await;
    assert!(
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |member| member["user"]["email"] == "ada@example.com" && member["role"] == "EDITOR"
            ),
        "{members}"
    );
    // The harness's own key is listed (never with its secret).
    let keys = graphql_ok(&server, KEYS, json!({})).await;
    let own = named(&keys["apiKeys"], "tests").unwrap_or_else(|| panic!("{keys}"));
    assert_eq!(own["role"], "ADMIN");
    assert!(own["prefix"].as_str().unwrap().starts_with("emk_"), "{own}");
    assert!(!keys.to_string().contains(&server.api_key), "{keys}");

    // An editor key for a script: its token works once issued, with the role it was given.
    let issued = graphql_ok(
        &server,
        CREATE,
        json!({"name": "CI deploy script", "role": "EDITOR"}),
    )
    .await;
    let token = issued["createApiKey"]["token"].as_str().unwrap().to_owned();
    let key_id = issued["createApiKey"]["key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with(issued["createApiKey"]["key"]["prefix"].as_str().unwrap()));
    let viewer = data_of(
        graphql_with_token(
            &server,
            Some(&token),
            "{ viewer { role apiKey } }",
            json!({}),
        )
        .await,
    );
    assert_eq!(viewer["viewer"], json!({"role": "EDITOR", "apiKey": true}));
    let project = data_of(
        graphql_with_token(
            &server,
            Some(&token),
            "mutation { createProject(input: {name: \"Scripted\"}) { id } }",
            json!({}),
        )
        .await,
    );
    assert!(project["createProject"]["id"].is_string(), "{project}");

    // An editor administers nothing.
    for (query, variables) in [
        ("{ members { role } }", json!({})),
        (KEYS, json!({})),
        (CREATE, json!({"name": "escalation", "role": "ADMIN"})),
        (REVOKE, json!({"id": key_id})),
    ] {
        let refused = graphql_with_token(&server, Some(&token), query, variables).await;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{query}: {refused}");
    }
    // Bad input is named.
    let unnamed = server
        .graphql(CREATE, json!({"name": "  ", "role": "VIEWER"}))
        .await
        .unwrap();
    assert_eq!(error_code(&unnamed), "BAD_USER_INPUT", "{unnamed}");

    // Another organization's admin cannot see or revoke this organization's keys.
    let created = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "organizations",
            "create",
            "--name",
            "Rival",
            "--slug",
            "rival",
        ],
    );
    assert!(created.status.success(), "{created:?}");
    let rival = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "keys",
            "create",
            "--organization",
            "rival",
            "--name",
            "rival admin",
            "--role",
            "admin",
            "--json",
        ],
    );
    assert!(rival.status.success(), "{rival:?}");
    let rival: Value = serde_json::from_slice(&rival.stdout).unwrap();
    let rival = rival["token"].as_str().unwrap();
    let theirs = data_of(graphql_with_token(&server, Some(rival), KEYS, json!({})).await);
    assert!(
        named(&theirs["apiKeys"], "CI deploy script").is_none(),
        "{theirs}"
    );
    let reached = graphql_with_token(&server, Some(rival), REVOKE, json!({"id": key_id})).await;
    assert_eq!(error_code(&reached), "NOT_FOUND", "{reached}");

    // Revoked: refused at once, and listed as revoked.
    let revoked = graphql_ok(&server, REVOKE, json!({"id": key_id})).await;
    assert!(
        revoked["revokeApiKey"]["revokedAt"].is_string(),
        "{revoked}"
    );
    let after = graphql_with_token(&server, Some(&token), "{ viewer { role } }", json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");
    let keys = graphql_ok(&server, KEYS, json!({})).await;
    assert!(
        named(&keys["apiKeys"], "CI deploy script").unwrap()["revokedAt"].is_string(),
        "{keys}"
    );
}
