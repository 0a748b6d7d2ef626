//! Accounts cannot be claimed across organizations, and every way to test a password
//! is limited: an invitation to an e-mail that already has an account (even one
//! without a password) is accepted only by that person signed in; a reset token dies
//! when the person's memberships change; a key is capped by its user's membership in
//! the key's organization, read on every request; changePassword and acceptInvitation
//! answer 429 with Retry-After once over their limit; an attacker with many addresses
//! does not lock the owner out; the anonymous account mutations are in the audit log;
//! switchOrganization moves a session only between the person's own organizations.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use entmoot_tests::{TestServer, create_user, embedded_env, error_code, run_entmoot};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const ACCEPT: &str = "mutation($token: String!, $name: String, $password: String) { acceptInvitation(token: $token, displayName: $name, password: $password) { token role } }";
const SIGN_IN: &str = "mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { token role } }";
const RESET: &str = "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";

/// The status, the Retry-After header and the body of a GraphQL POST.
async fn post(
    server: &TestServer,
    token: Option<&str>,
    address: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(address) = address {
        request = request.header("X-Forwarded-For", address);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (status, retry_after, response.json().await.expect("json"))
}

async fn call(server: &TestServer, token: Option<&str>, query: &str, variables: Value) -> Value {
    post(server, token, None, query, variables).await.2
}

fn admin(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> String {
    let output = run_entmoot(dir, env, args);
    assert!(
        output.status.success(),
        "entmoot {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Creates organization `slug` and returns an admin key of it.
fn organization_admin_key(dir: &Path, env: &HashMap<String, String>, slug: &str) -> String {
    admin(
        dir,
        env,
        &[
            "admin",
            "organizations",
            "create",
            "--name",
            slug,
            "--slug",
            slug,
        ],
    );
    let issued = admin(
        dir,
        env,
        &[
            "admin",
            "keys",
            "create",
            "--organization",
            slug,
            "--name",
            "admin",
            "--role",
            "admin",
            "--json",
        ],
    );
    let issued: Value = serde_json::from_str(&issued).expect("key json");
    issued["token"].as_str().expect("token").to_owned()
}

async fn invite(server: &TestServer, key: &str, email: &str, role: &str) -> String {
    let body = call(
        server,
        Some(key),
        "mutation($email: String!, $role: MemberRole!) { inviteMember(email: $email, role: $role) { token } }",
        json!({"email": email, "role": role}),
    )
    .await;
    body["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("inviteMember: {body}"))
        .to_owned()
}

/// Invites `email` to the server's organization and accepts as a new person.
async fn new_member(server: &TestServer, email: &str, role: &str) -> String {
    let token = invite(server, &server.api_key, email, role).await;
    let accepted = call(
        server,
        None,
        ACCEPT,
        json!({"token": token, "name": "Someone", "password": PASSWORD}),
    )
    .await;
    accepted["data"]["acceptInvitation"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("acceptInvitation: {accepted}"))
        .to_owned()
}

/// Waits for a fresh calendar minute when fewer than `needed` seconds are left: the
/// attempt counters are per minute.
async fn with_seconds_left_in_minute(needed: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    if 60 - now % 60 < needed {
        tokio::time::sleep(Duration::from_secs(60 - now % 60 + 1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_resets_and_keys_stay_inside_their_organization() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let rival = organization_admin_key(dir.path(), &env, "rival");

    // An account without a password (what `entmoot admin users create` makes) cannot
    // be claimed by the rival admin who invites it and picks a password.
    let made = create_user(dir.path(), &env, "gus@example.com", "Gus", "admin");
    assert!(made.status.success(), "{made:?}");
    let rival_invitation = invite(&server, &rival, "gus@example.com", "ADMIN").await;
    let claimed = call(
        &server,
        None,
        ACCEPT,
        json!({"token": rival_invitation, "name": "Gus", "password": "the rival's password"}),
    )
    .await;
    assert_eq!(error_code(&claimed), "UNAUTHENTICATED", "{claimed}");
    let signed_in = call(
        &server,
        None,
        SIGN_IN,
        json!({"email": "gus@example.com", "password": "the rival's password"}),
    )
    .await;
    assert_eq!(error_code(&signed_in), "UNAUTHENTICATED", "{signed_in}");

    // A reset the local admin issued while Fay was only here dies when she joins the
    // rival organization (as its admin): it must not become a way into the rival.
    let fay_session = new_member(&server, "fay@example.com", "VIEWER").await;
    let issued = call(
        &server,
        Some(&server.api_key),
        "mutation { issuePasswordReset(email: \"fay@example.com\") { token } }",
        json!({}),
    )
    .await;
    let reset_token = issued["data"]["issuePasswordReset"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("issuePasswordReset: {issued}"))
        .to_owned();
    let fay_invitation = invite(&server, &rival, "fay@example.com", "ADMIN").await;
    let joined = call(
        &server,
        Some(&fay_session),
        ACCEPT,
        json!({"token": fay_invitation}),
    )
    .await;
    assert_eq!(
        joined["data"]["acceptInvitation"]["role"], "ADMIN",
        "{joined}"
    );
    let reset = call(
        &server,
        None,
        RESET,
        json!({"token": reset_token, "password": "the local admin's choice"}),
    )
    .await;
    assert_eq!(error_code(&reset), "BAD_USER_INPUT", "{reset}");
    let fay = call(
        &server,
        None,
        SIGN_IN,
        json!({"email": "fay@example.com", "password": PASSWORD}),
    )
    .await;
    assert!(
        fay.get("errors").is_none(),
        "Fay's password is unchanged: {fay}"
    );

    // A key of Hal's is capped by his membership here, read on every request.
    new_member(&server, "hal@example.com", "ADMIN").await;
    let issued = admin(
        dir.path(),
        &env,
        &[
            "admin",
            "keys",
            "create",
            "--name",
            "hal's script",
            "--role",
            "admin",
            "--user",
            "hal@example.com",
            "--json",
        ],
    );
    let hal_key: Value = serde_json::from_str(&issued).expect("key json");
    let hal_key = hal_key["token"].as_str().expect("token").to_owned();
    let create = "mutation { createProject(input: {name: \"Hal's\"}) { id } }";
    let before = call(&server, Some(&hal_key), create, json!({})).await;
    assert!(before.get("errors").is_none(), "{before}");
    // Hal is lowered to viewer (a new invitation, accepted by Hal signed in).
    let hal_session = call(
        &server,
        None,
        SIGN_IN,
        json!({"email": "hal@example.com", "password": PASSWORD}),
    )
    .await["data"]["signIn"]["token"]
        .as_str()
        .expect("Hal signs in")
        .to_owned();
    let lowered = invite(&server, &server.api_key, "hal@example.com", "VIEWER").await;
    let accepted = call(
        &server,
        Some(&hal_session),
        ACCEPT,
        json!({"token": lowered}),
    )
    .await;
    assert_eq!(
        accepted["data"]["acceptInvitation"]["role"], "VIEWER",
        "{accepted}"
    );
    let after = call(&server, Some(&hal_key), create, json!({})).await;
    assert_eq!(error_code(&after), "FORBIDDEN", "{after}");

    // The anonymous account mutations are in the audit log, failures too.
    let audit = admin(dir.path(), &env, &["admin", "audit", "--limit", "200"]);
    let entries: Vec<Value> = audit
        .lines()
        .map(|line| serde_json::from_str(line).expect("audit line"))
        .collect();
    for (action, succeeded) in [
        ("signIn", true),
        ("signIn", false),
        ("acceptInvitation", true),
    ] {
        assert!(
            entries
                .iter()
                .any(|entry| entry["action"] == action && entry["succeeded"] == succeeded),
            "no {action} (succeeded: {succeeded}) in {audit}"
        );
    }
    let rival_audit = admin(
        dir.path(),
        &env,
        &[
            "admin",
            "audit",
            "--organization",
            "rival",
            "--limit",
            "200",
        ],
    );
    // Gus's claimed invitation is refused in the rival's log, and written once.
    let refused_claims = rival_audit
        .lines()
        .filter(|line| {
            line.contains("\"acceptInvitation\"") && line.contains("\"succeeded\":false")
        })
        .count();
    assert_eq!(refused_claims, 1, "{rival_audit}");
    let hal_lowered = entries
        .iter()
        .filter(|entry| entry["action"] == "acceptInvitation")
        .count();
    assert_eq!(hal_lowered, 3, "each acceptance is written once: {audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_tests_are_limited_with_429_and_the_owner_is_never_locked_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_TRUST_FORWARDED_HEADERS".into(), "true".into());
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "0".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let session = new_member(&server, "ivy@example.com", "EDITOR").await;

    with_seconds_left_in_minute(40).await;
    // changePassword tests the current password: limited per person.
    let change = "mutation($current: String!) { changePassword(currentPassword: $current, newPassword: \"another long passphrase\") { token } }";
    let mut last = (0, None, Value::Null);
    for attempt in 0..6 {
        last = post(
            &server,
            Some(&session),
            None,
            change,
            json!({"current": format!("wrong guess {attempt}")}),
        )
        .await;
    }
    assert_eq!(last.0, 429, "{:?}", last.2);
    assert_eq!(error_code(&last.2), "LIMIT_EXCEEDED");
    assert!(
        last.1
            .as_deref()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s <= 60),
        "Retry-After: {:?}",
        last.1
    );

    // acceptInvitation is limited per address, whatever the token.
    let mut last = (0, None, Value::Null);
    for attempt in 0..6 {
        last = post(
            &server,
            None,
            Some("192.0.2.50"),
            ACCEPT,
            json!({"token": format!("emi_guess{attempt}"), "name": "X", "password": PASSWORD}),
        )
        .await;
    }
    assert_eq!(last.0, 429, "{:?}", last.2);
    assert_eq!(error_code(&last.2), "LIMIT_EXCEEDED");
    assert!(last.1.is_some());

    // Twenty-one addresses spend the account's whole budget with wrong passwords...
    let mut attackers = Vec::new();
    for address in 0..21 {
        let server_url = server.base_url.clone();
        attackers.push(tokio::spawn(async move {
            let mut codes = Vec::new();
            for attempt in 0..5 {
                let body: Value = reqwest::Client::new()
                    .post(format!("{server_url}/graphql"))
                    .header("X-Forwarded-For", format!("203.0.113.{address}"))
                    .json(&json!({"query": SIGN_IN, "variables": {"email": "ivy@example.com", "password": format!("guess {attempt}")}}))
                    .send()
                    .await
                    .expect("POST")
                    .json()
                    .await
                    .expect("json");
                codes.push(error_code(&body).to_owned());
            }
            codes
        }));
    }
    let mut limited = 0;
    for attacker in attackers {
        limited += attacker
            .await
            .expect("attacker")
            .iter()
            .filter(|code| *code == "LIMIT_EXCEEDED")
            .count();
    }
    // ...and then (the account's budget spent) every attacker address is refused...
    let (status, retry_after, refused) = post(
        &server,
        None,
        Some("203.0.113.3"),
        SIGN_IN,
        json!({"email": "ivy@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        error_code(&refused),
        "LIMIT_EXCEEDED",
        "{refused} ({limited} limited)"
    );
    assert_eq!(status, 429);
    assert!(retry_after.is_some());
    // ...but the owner, from an address with no failures, gets in.
    let (status, _, owner) = post(
        &server,
        None,
        Some("198.51.100.9"),
        SIGN_IN,
        json!({"email": "ivy@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{owner}");
    assert_eq!(owner["data"]["signIn"]["role"], "EDITOR", "{owner}");
}

#[tokio::test]
async fn only_the_operator_reloads_the_process_wide_strategies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let tenant = organization_admin_key(dir.path(), &env, "tenant");
    let reload = "mutation { reloadStrategies { summary refused { path } } }";
    let refused = call(&server, Some(&tenant), reload, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let operator = call(&server, Some(&server.api_key), reload, json!({})).await;
    assert!(
        operator["data"]["reloadStrategies"]["summary"].is_string(),
        "{operator}"
    );
}

const SWITCH: &str = "mutation($organization: String!) { switchOrganization(organization: $organization) { token role } }";
const WHO: &str = "{ viewer { organizationId role memberships { organizationSlug } } }";

/// A person in two organizations moves between them with their session and no password;
/// nobody reaches an organization they do not belong to this way, and a key cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_switches_only_between_their_own_organizations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let rival = organization_admin_key(dir.path(), &env, "rival");
    organization_admin_key(dir.path(), &env, "third");
    let local_session = new_member(&server, "hal@example.com", "ADMIN").await;
    let invitation = invite(&server, &rival, "hal@example.com", "VIEWER").await;
    let joined = call(
        &server,
        Some(&local_session),
        ACCEPT,
        json!({"token": invitation}),
    )
    .await;
    assert_eq!(
        joined["data"]["acceptInvitation"]["role"], "VIEWER",
        "{joined}"
    );
    let here = call(&server, Some(&local_session), WHO, json!({})).await;
    assert_eq!(here["data"]["viewer"]["role"], "ADMIN", "{here}");

    let switched = call(
        &server,
        Some(&local_session),
        SWITCH,
        json!({"organization": "rival"}),
    )
    .await;
    assert_eq!(
        switched["data"]["switchOrganization"]["role"], "VIEWER",
        "{switched}"
    );
    let rival_session = switched["data"]["switchOrganization"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let there = call(&server, Some(&rival_session), WHO, json!({})).await;
    assert_eq!(there["data"]["viewer"]["role"], "VIEWER", "{there}");
    assert_ne!(
        there["data"]["viewer"]["organizationId"], here["data"]["viewer"]["organizationId"],
        "{there}"
    );
    // The session it came from has ended.
    let old = call(&server, Some(&local_session), WHO, json!({})).await;
    assert_eq!(error_code(&old), "UNAUTHENTICATED", "{old}");

    // Not to an organization they are not in (it exists), nor to one that does not exist:
    // the same answer.
    for organization in ["third", "no-such-organization"] {
        let refused = call(
            &server,
            Some(&rival_session),
            SWITCH,
            json!({"organization": organization}),
        )
        .await;
        assert_eq!(
            error_code(&refused),
            "FORBIDDEN",
            "{organization}: {refused}"
        );
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("not a member"),
            "{refused}"
        );
    }
    // A key belongs to its organization.
    let with_key = call(
        &server,
        Some(&rival),
        SWITCH,
        json!({"organization": "local"}),
    )
    .await;
    assert_eq!(error_code(&with_key), "FORBIDDEN", "{with_key}");
    // And back, as admin again.
    let back = call(
        &server,
        Some(&rival_session),
        SWITCH,
        json!({"organization": "local"}),
    )
    .await;
    assert_eq!(
        back["data"]["switchOrganization"]["role"], "ADMIN",
        "{back}"
    );
}
