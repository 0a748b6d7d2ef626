//! An organization's admins administer it through GraphQL: `members`,
//! `changeMemberRole` and `removeMember` (in effect at the member's next request, and
//! never leaving the organization without an admin, even when two admins demote each
//! other at once), `apiKeys`, `createApiKey` (the token shown once) and `revokeApiKey`
//! (the key refused at once). Viewers and editors see none of it, no admin reaches
//! another organization's members or keys, and operators do the same with
//! `entmoot admin users set-role` and `remove`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    FreshPostgres, TestServer, create_user, data_of, embedded_env, error_code, graphql_ok,
    graphql_with_token, production_like_env, run_entmoot,
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
    let made = create_user(dir.path(), &env, "ada@example.com", "Ada", "editor");
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
    let rival = rival_admin_key(dir.path(), &env);
    let rival = rival.as_str();
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

/// Creates organization `rival` and returns an admin key of it.
fn rival_admin_key(
    dir: &std::path::Path,
    env: &std::collections::HashMap<String, String>,
) -> String {
    let created = run_entmoot(
        dir,
        env,
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
    let issued = run_entmoot(
        dir,
        env,
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
    assert!(issued.status.success(), "{issued:?}");
    let issued: Value = serde_json::from_slice(&issued.stdout).unwrap();
    issued["token"].as_str().unwrap().to_owned()
}

const MEMBERS: &str = "{ members { user { id email } role } }";
const CHANGE_ROLE: &str = "mutation($userId: ID!, $role: MemberRole!) { changeMemberRole(userId: $userId, role: $role) { user { email } role } }";
const REMOVE: &str =
    "mutation($userId: ID!) { removeMember(userId: $userId) { user { email } role } }";

/// Adds a person to the local organization and issues them a key with `role` (the CLI,
/// as an operator would); returns the key's token.
fn person_with_key(
    dir: &std::path::Path,
    env: &std::collections::HashMap<String, String>,
    email: &str,
    role: &str,
) -> String {
    let made = run_entmoot(
        dir,
        env,
        &[
            "admin", "users", "create", "--email", email, "--name", email, "--role", role,
        ],
    );
    assert!(made.status.success(), "{made:?}");
    let issued = run_entmoot(
        dir,
        env,
        &[
            "admin", "keys", "create", "--name", email, "--role", role, "--user", email, "--json",
        ],
    );
    assert!(issued.status.success(), "{issued:?}");
    let issued: Value = serde_json::from_slice(&issued.stdout).unwrap();
    issued["token"].as_str().unwrap().to_owned()
}

async fn user_id_of(server: &TestServer, email: &str) -> String {
    let members = graphql_ok(server, MEMBERS, json!({})).await;
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["user"]["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not a member: {members}"))["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn admins(server: &TestServer) -> Vec<String> {
    let members = graphql_ok(server, MEMBERS, json!({})).await;
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|member| member["role"] == "ADMIN")
        .map(|member| member["user"]["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_roles_and_remove_members_and_an_admin_always_remains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    membership_changes(dir.path(), &env).await;
}

/// The same on PostgreSQL + Redis, where two demotions really run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_admin_always_remains_too() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, dir.path());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success(), "{migrated:?}");
    membership_changes(dir.path(), &env).await;
}

async fn membership_changes(
    dir: &std::path::Path,
    env: &std::collections::HashMap<String, String>,
) {
    let server = TestServer::start(dir, env).await.expect("serve");
    let ada = person_with_key(dir, env, "ada@example.com", "admin");
    let bob = person_with_key(dir, env, "bob@example.com", "editor");
    let ada_id = user_id_of(&server, "ada@example.com").await;
    let bob_id = user_id_of(&server, "bob@example.com").await;
    let role_of = async |token: &str| {
        data_of(graphql_with_token(&server, Some(token), "{ viewer { role } }", json!({})).await)
            ["viewer"]["role"]
            .clone()
    };

    // A lowered role takes effect on the member's key at its next request.
    let lowered = graphql_ok(
        &server,
        CHANGE_ROLE,
        json!({"userId": bob_id, "role": "VIEWER"}),
    )
    .await;
    assert_eq!(lowered["changeMemberRole"]["role"], "VIEWER", "{lowered}");
    assert_eq!(role_of(&bob).await, "VIEWER");
    let refused = graphql_with_token(
        &server,
        Some(&bob),
        "mutation { createProject(input: {name: \"Not any more\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    // Non-admins change nobody, themselves included.
    for (query, variables) in [
        (CHANGE_ROLE, json!({"userId": bob_id, "role": "ADMIN"})),
        (REMOVE, json!({"userId": ada_id})),
    ] {
        let refused = graphql_with_token(&server, Some(&bob), query, variables).await;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{query}: {refused}");
    }

    // Ada is the only admin member: she can neither step down nor leave.
    assert_eq!(admins(&server).await, ["ada@example.com"]);
    for (query, variables) in [
        (CHANGE_ROLE, json!({"userId": ada_id, "role": "EDITOR"})),
        (REMOVE, json!({"userId": ada_id})),
    ] {
        let refused = graphql_with_token(&server, Some(&ada), query, variables).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{query}: {refused}");
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("without an admin"),
            "{refused}"
        );
    }
    let refused_by_operator = run_entmoot(
        dir,
        env,
        &[
            "admin",
            "users",
            "set-role",
            "--email",
            "ada@example.com",
            "--role",
            "viewer",
        ],
    );
    assert!(!refused_by_operator.status.success());
    assert!(
        String::from_utf8_lossy(&refused_by_operator.stderr).contains("without an admin"),
        "{refused_by_operator:?}"
    );

    // Two admins demoting each other at the same moment leave one admin, every time.
    graphql_ok(
        &server,
        CHANGE_ROLE,
        json!({"userId": bob_id, "role": "ADMIN"}),
    )
    .await;
    let bob_admin = {
        let issued = run_entmoot(
            dir,
            env,
            &[
                "admin",
                "keys",
                "create",
                "--name",
                "bob admin",
                "--role",
                "admin",
                "--user",
                "bob@example.com",
                "--json",
            ],
        );
        assert!(issued.status.success(), "{issued:?}");
        let issued: Value = serde_json::from_slice(&issued.stdout).unwrap();
        issued["token"].as_str().unwrap().to_owned()
    };
    for round in 0..5 {
        let (by_ada, by_bob) = tokio::join!(
            graphql_with_token(
                &server,
                Some(&ada),
                CHANGE_ROLE,
                json!({"userId": bob_id, "role": "EDITOR"})
            ),
            graphql_with_token(
                &server,
                Some(&bob_admin),
                CHANGE_ROLE,
                json!({"userId": ada_id, "role": "EDITOR"})
            ),
        );
        let succeeded = [&by_ada, &by_bob]
            .iter()
            .filter(|answer| answer.get("errors").is_none())
            .count();
        for answer in [&by_ada, &by_bob] {
            if answer.get("errors").is_some() {
                assert!(
                    ["BAD_USER_INPUT", "FORBIDDEN"].contains(&error_code(answer)),
                    "round {round}: {answer}"
                );
            }
        }
        assert_eq!(succeeded, 1, "round {round}: {by_ada} {by_bob}");
        assert_eq!(admins(&server).await.len(), 1, "round {round}");
        // The operator's key (no person behind it) restores both.
        for user_id in [&ada_id, &bob_id] {
            graphql_ok(
                &server,
                CHANGE_ROLE,
                json!({"userId": user_id, "role": "ADMIN"}),
            )
            .await;
        }
    }

    // Removed: gone from the list, and their key refused at once.
    let removed = graphql_with_token(&server, Some(&ada), REMOVE, json!({"userId": bob_id})).await;
    assert_eq!(
        data_of(removed)["removeMember"]["user"]["email"],
        "bob@example.com"
    );
    let after =
        graphql_with_token(&server, Some(&bob_admin), "{ viewer { role } }", json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");
    let again = graphql_ok(&server, MEMBERS, json!({})).await;
    assert!(!again.to_string().contains("bob@example.com"), "{again}");
    let twice = graphql_with_token(&server, Some(&ada), REMOVE, json!({"userId": bob_id})).await;
    assert_eq!(error_code(&twice), "NOT_FOUND", "{twice}");

    // Another organization's admin reaches nobody here.
    let rival = rival_admin_key(dir, env);
    let rival = rival.as_str();
    for (query, variables) in [
        (CHANGE_ROLE, json!({"userId": ada_id, "role": "VIEWER"})),
        (REMOVE, json!({"userId": ada_id})),
    ] {
        let reached = graphql_with_token(&server, Some(rival), query, variables).await;
        assert_eq!(error_code(&reached), "NOT_FOUND", "{query}: {reached}");
    }
    assert_eq!(role_of(&ada).await, "ADMIN");

    // The operator's commands do the same: set a role, remove a member.
    let carol = person_with_key(dir, env, "carol@example.com", "viewer");
    let promoted = run_entmoot(
        dir,
        env,
        &[
            "admin",
            "users",
            "set-role",
            "--email",
            "carol@example.com",
            "--role",
            "editor",
        ],
    );
    assert!(promoted.status.success(), "{promoted:?}");
    assert_eq!(
        role_of(&carol).await,
        "VIEWER",
        "the key's own role still caps it"
    );
    let removed = run_entmoot(
        dir,
        env,
        &["admin", "users", "remove", "--email", "carol@example.com"],
    );
    assert!(removed.status.success(), "{removed:?}");
    // A separate process cannot reach the embedded server's memory of verified keys:
    // the key stops within that memory's lifetime (5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let after =
            graphql_with_token(&server, Some(&carol), "{ viewer { role } }", json!({})).await;
        if error_code(&after) == "UNAUTHENTICATED" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a removed member's key still works: {after}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
