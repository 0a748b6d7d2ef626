//! People signing in: an invitation accepted, sessions used over HTTP and websocket on
//! two API instances sharing Redis, signed out one by one and everywhere, expiring
//! after REDIS_SESSION_EXPIRY without use; brute force slowed per account and address;
//! invitations and resets sent to a local SMTP listener.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, embedded_env, error_code, json_fixture, next_message,
    production_like_env, run_entmoot, rural_demo_boundary, smtp_listener, subscribe_with_token,
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// A GraphQL request with `token` (or none) and an optional client address.
async fn call(
    server: &TestServer,
    token: Option<&str>,
    address: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(address) = address {
        request = request.header("X-Forwarded-For", address);
    }
    request
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json")
}

async fn invite(server: &TestServer, email: &str, role: &str) -> Value {
    let body = server
        .graphql(
            "mutation($email: String!, $role: MemberRole!) { inviteMember(email: $email, role: $role) { email role emailed token expiresAt } }",
            json!({"email": email, "role": role}),
        )
        .await
        .expect("invite");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["inviteMember"].clone()
}

const ACCEPT: &str = "mutation($token: String!, $name: String!, $password: String!) { acceptInvitation(token: $token, displayName: $name, password: $password) { token role user { email } } }";
const SIGN_IN: &str = "mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { token role expiresInSeconds } }";
const VIEWER: &str =
    "{ viewer { user { email displayName } role apiKey memberships { organizationSlug role } } }";

async fn sign_in(server: &TestServer, email: &str, password: &str, address: Option<&str>) -> Value {
    call(
        server,
        None,
        address,
        SIGN_IN,
        json!({"email": email, "password": password}),
    )
    .await
}

fn session_token(body: &Value, field: &str) -> String {
    body["data"][field]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no session in {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_work_on_every_instance_and_end_when_signed_out_or_idle() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, dir.path());
    env.insert("REDIS_SESSION_EXPIRY".into(), "4".into());
    assert!(
        run_entmoot(dir.path(), &env, &["migrate", "up"])
            .status
            .success()
    );
    let first = TestServer::start(dir.path(), &env).await.expect("api 1");
    let second = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("api 2");

    // An invitation, accepted once; a second use and a made-up token are refused.
    let invitation = invite(&first, "ana@example.com", "EDITOR").await;
    assert_eq!(invitation["emailed"], false);
    let invitation_token = invitation["token"].as_str().expect("token").to_owned();
    let accepted = call(
        &second,
        None,
        None,
        ACCEPT,
        json!({"token": invitation_token, "name": "Ana", "password": PASSWORD}),
    )
    .await;
    assert!(accepted.get("errors").is_none(), "{accepted}");
    assert_eq!(accepted["data"]["acceptInvitation"]["role"], "EDITOR");
    let first_session = session_token(&accepted, "acceptInvitation");
    let again = call(
        &second,
        None,
        None,
        ACCEPT,
        json!({"token": invitation_token, "name": "Ana", "password": PASSWORD}),
    )
    .await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT", "{again}");
    let made_up = call(
        &second,
        None,
        None,
        ACCEPT,
        json!({"token": "emi_notarealtoken", "name": "X", "password": PASSWORD}),
    )
    .await;
    assert_eq!(error_code(&made_up), "BAD_USER_INPUT", "{made_up}");
    // An invitation past its expiry is refused.
    let late = invite(&first, "late@example.com", "VIEWER").await;
    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    connection
        .execute_unprepared(
            "UPDATE account_tokens SET expires_at = now() - interval '1 minute' WHERE email = 'late@example.com'",
        )
        .await
        .expect("expire the invitation");
    let expired = call(
        &first,
        None,
        None,
        ACCEPT,
        json!({"token": late["token"], "name": "Late", "password": PASSWORD}),
    )
    .await;
    assert_eq!(error_code(&expired), "BAD_USER_INPUT", "{expired}");

    // The session works on the other instance, for queries and mutations…
    let viewer = call(&first, Some(&first_session), None, VIEWER, json!({})).await;
    assert_eq!(
        viewer["data"]["viewer"]["user"]["email"], "ana@example.com",
        "{viewer}"
    );
    assert_eq!(viewer["data"]["viewer"]["role"], "EDITOR");
    assert_eq!(viewer["data"]["viewer"]["apiKey"], false);
    let project = call(
        &first,
        Some(&first_session),
        None,
        "mutation { createProject(input: {name: \"Ana's\"}) { id } }",
        json!({}),
    )
    .await;
    let project = project["data"]["createProject"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{project}"))
        .to_owned();
    let site = call(
        &first,
        Some(&first_session),
        None,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
        json!({"input": {"projectId": project, "name": "Ana's site", "boundary": rural_demo_boundary()}}),
    )
    .await["data"]["createSite"]["id"]
        .as_str()
        .expect("site")
        .to_owned();
    let job = call(
        &first,
        Some(&first_session),
        None,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
        json!({"input": {"siteId": site, "program": json_fixture("programs/three_buildings_ft.json")}}),
    )
    .await["data"]["createJob"]["id"]
        .as_str()
        .expect("job")
        .to_owned();
    // …and for subscriptions (the token in connection_init).
    let progress = "subscription($id: ID!) { jobProgress(jobId: $id) { status } }";
    let mut events = subscribe_with_token(
        &second.base_url,
        Some(&first_session),
        progress,
        json!({"id": job}),
    )
    .await
    .expect("subscribe");
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event")
        .expect("open");
    assert!(
        event["data"]["jobProgress"]["status"].is_string(),
        "{event}"
    );

    // A second session; signing out everywhere ends both, on both instances.
    let second_session = session_token(
        &sign_in(&second, "ana@example.com", PASSWORD, None).await,
        "signIn",
    );
    let ended = call(
        &second,
        Some(&second_session),
        None,
        "mutation { signOutEverywhere }",
        json!({}),
    )
    .await;
    assert_eq!(ended["data"]["signOutEverywhere"], 2, "{ended}");
    for token in [&first_session, &second_session] {
        for server in [&first, &second] {
            let refused = call(server, Some(token), None, VIEWER, json!({})).await;
            assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
        }
        let mut refused =
            subscribe_with_token(&first.base_url, Some(token), progress, json!({"id": job}))
                .await
                .expect("subscribe");
        let answer = tokio::time::timeout(Duration::from_secs(10), refused.recv())
            .await
            .expect("an answer")
            .expect("open");
        assert!(
            answer.to_string().contains("UNAUTHENTICATED"),
            "a signed-out session cannot subscribe: {answer}"
        );
    }

    // Signing out ends just that session.
    let third = session_token(
        &sign_in(&first, "ana@example.com", PASSWORD, None).await,
        "signIn",
    );
    let out = call(
        &first,
        Some(&third),
        None,
        "mutation { signOut }",
        json!({}),
    )
    .await;
    assert_eq!(out["data"]["signOut"], true, "{out}");
    assert_eq!(
        error_code(&call(&second, Some(&third), None, VIEWER, json!({})).await),
        "UNAUTHENTICATED"
    );

    // Use renews a session (sliding); REDIS_SESSION_EXPIRY (4 s) idle ends it. The
    // margins are wide so that a loaded machine's slow request does not decide.
    let fourth_body = sign_in(&first, "ana@example.com", PASSWORD, None).await;
    assert_eq!(fourth_body["data"]["signIn"]["expiresInSeconds"], 4);
    let fourth = session_token(&fourth_body, "signIn");
    let started = Instant::now();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let used = call(&second, Some(&fourth), None, VIEWER, json!({})).await;
        assert!(used.get("errors").is_none(), "{used}");
    }
    assert!(
        started.elapsed() > Duration::from_secs(5),
        "outlived its expiry by use"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        error_code(&call(&first, Some(&fourth), None, VIEWER, json!({})).await),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn twenty_wrong_passwords_are_refused_but_the_owner_elsewhere_gets_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_TRUST_FORWARDED_HEADERS".into(), "true".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let invitation = invite(&server, "bo@example.com", "VIEWER").await;
    let accepted = call(
        &server,
        None,
        None,
        ACCEPT,
        json!({"token": invitation["token"], "name": "Bo", "password": PASSWORD}),
    )
    .await;
    assert!(accepted.get("errors").is_none(), "{accepted}");

    // The attempt counters are per calendar minute: keep the twenty guesses in one.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    if 60 - now % 60 < 20 {
        tokio::time::sleep(Duration::from_secs(60 - now % 60 + 1)).await;
    }
    let attacker = "203.0.113.7";
    let mut answers = Vec::new();
    for attempt in 0..20 {
        let body = sign_in(
            &server,
            "bo@example.com",
            &format!("guess number {attempt}!"),
            Some(attacker),
        )
        .await;
        answers.push(error_code(&body).to_owned());
    }
    let wrong = answers
        .iter()
        .filter(|code| *code == "UNAUTHENTICATED")
        .count();
    let limited = answers
        .iter()
        .filter(|code| *code == "LIMIT_EXCEEDED")
        .count();
    assert_eq!(wrong + limited, 20, "{answers:?}");
    assert!(
        limited >= 15,
        "most of twenty guesses are refused: {answers:?}"
    );
    // Even the right password is refused from the attacker's address now.
    let blocked = sign_in(&server, "bo@example.com", PASSWORD, Some(attacker)).await;
    assert_eq!(error_code(&blocked), "LIMIT_EXCEEDED");

    // An unknown email and a wrong password get the same answer.
    let unknown = sign_in(&server, "nobody@example.com", PASSWORD, Some("192.0.2.1")).await;
    let wrong_password = sign_in(
        &server,
        "bo@example.com",
        "not the password",
        Some("192.0.2.2"),
    )
    .await;
    assert_eq!(
        unknown["errors"][0]["message"],
        wrong_password["errors"][0]["message"]
    );
    assert_eq!(error_code(&unknown), error_code(&wrong_password));

    // The owner, from elsewhere, is not locked out.
    let owner = sign_in(&server, "bo@example.com", PASSWORD, Some("198.51.100.9")).await;
    assert!(owner.get("errors").is_none(), "{owner}");
}

fn token_in(message: &str, start: &str) -> String {
    let position = message
        .find(start)
        .unwrap_or_else(|| panic!("no {start} token in {message}"));
    message[position..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_resets_reach_the_smtp_server() {
    let (port, messages) = smtp_listener().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = embedded_env(dir.path());
    env.insert("SMTP_HOST".into(), "127.0.0.1".into());
    env.insert("SMTP_PORT".into(), port.to_string());
    env.insert("EMAIL_FROM".into(), "Entmoot <entmoot@example.com>".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");

    let invitation = invite(&server, "cy@example.com", "ADMIN").await;
    assert_eq!(invitation["emailed"], true);
    assert!(
        invitation["token"].is_null(),
        "an e-mailed token is not shown"
    );
    let mail = next_message(&messages, 0).await;
    assert!(mail.contains("cy@example.com"), "{mail}");
    let token = token_in(&mail, "emi_");
    let accepted = call(
        &server,
        None,
        None,
        ACCEPT,
        json!({"token": token, "name": "Cy", "password": PASSWORD}),
    )
    .await;
    let session = session_token(&accepted, "acceptInvitation");

    // A reset asked for by the person: e-mailed, single use, ends the sessions.
    let asked = call(
        &server,
        None,
        None,
        "mutation { requestPasswordReset(email: \"cy@example.com\") }",
        json!({}),
    )
    .await;
    assert_eq!(asked["data"]["requestPasswordReset"], true);
    let nobody = call(
        &server,
        None,
        None,
        "mutation { requestPasswordReset(email: \"nobody@example.com\") }",
        json!({}),
    )
    .await;
    assert_eq!(nobody, asked, "the same answer for an unknown email");
    let mail = next_message(&messages, 1).await;
    let reset = token_in(&mail, "emr_");
    let new_password = "a brand new passphrase";
    let reset_query = "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";
    let done = call(
        &server,
        None,
        None,
        reset_query,
        json!({"token": reset, "password": new_password}),
    )
    .await;
    assert_eq!(done["data"]["resetPassword"], true, "{done}");
    let reused = call(
        &server,
        None,
        None,
        reset_query,
        json!({"token": reset, "password": "yet another passphrase"}),
    )
    .await;
    assert_eq!(error_code(&reused), "BAD_USER_INPUT");
    assert_eq!(
        error_code(&call(&server, Some(&session), None, VIEWER, json!({})).await),
        "UNAUTHENTICATED",
        "a reset ends every session"
    );
    assert_eq!(
        error_code(&sign_in(&server, "cy@example.com", PASSWORD, None).await),
        "UNAUTHENTICATED"
    );
    let signed_in = sign_in(&server, "cy@example.com", new_password, None).await;
    assert_eq!(signed_in["data"]["signIn"]["role"], "ADMIN", "{signed_in}");
}

#[tokio::test]
async fn an_invitation_or_reset_cannot_take_over_an_account_of_another_organization() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let invitation = invite(&server, "dee@example.com", "EDITOR").await;
    let accepted = call(
        &server,
        None,
        None,
        ACCEPT,
        json!({"token": invitation["token"], "name": "Dee", "password": PASSWORD}),
    )
    .await;
    assert!(accepted.get("errors").is_none(), "{accepted}");

    // The admin of another organization invites the same person; without SMTP the
    // token comes back to that admin, who must not be able to set Dee's password.
    assert!(
        run_entmoot(
            dir.path(),
            &env,
            &[
                "admin",
                "organizations",
                "create",
                "--name",
                "Rival",
                "--slug",
                "rival"
            ],
        )
        .status
        .success()
    );
    let issued = run_entmoot(
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
    let rival: Value = serde_json::from_slice(&issued.stdout).expect("key json");
    let rival = rival["token"].as_str().expect("token").to_owned();
    let rival_invitation = call(
        &server,
        Some(&rival),
        None,
        "mutation { inviteMember(email: \"dee@example.com\", role: ADMIN) { token } }",
        json!({}),
    )
    .await;
    let rival_token = rival_invitation["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{rival_invitation}"))
        .to_owned();
    let takeover = call(
        &server,
        None,
        None,
        ACCEPT,
        json!({"token": rival_token, "name": "Not Dee", "password": "the rival's password"}),
    )
    .await;
    assert_eq!(error_code(&takeover), "UNAUTHENTICATED", "{takeover}");
    let still_dee = sign_in(&server, "dee@example.com", PASSWORD, None).await;
    assert!(
        still_dee.get("errors").is_none(),
        "Dee's password is unchanged: {still_dee}"
    );

    // Guessing Dee's password through the invitation tells nothing either: the right
    // password gets the same refusal, and the token is not spent.
    let with_right_password = call(
        &server,
        None,
        None,
        ACCEPT,
        json!({"token": rival_token, "name": "Dee", "password": PASSWORD}),
    )
    .await;
    assert_eq!(error_code(&with_right_password), "UNAUTHENTICATED");
    assert_eq!(
        with_right_password["errors"][0]["message"],
        takeover["errors"][0]["message"]
    );

    // Dee herself, signed in, accepts: one account, two organizations.
    let dee_session = session_token(&still_dee, "signIn");
    let joined = call(
        &server,
        Some(&dee_session),
        None,
        "mutation($token: String!) { acceptInvitation(token: $token) { token role } }",
        json!({"token": rival_token}),
    )
    .await;
    assert_eq!(
        joined["data"]["acceptInvitation"]["role"], "ADMIN",
        "{joined}"
    );
    let session = session_token(&joined, "acceptInvitation");
    let viewer = call(&server, Some(&session), None, VIEWER, json!({})).await;
    assert_eq!(
        viewer["data"]["viewer"]["memberships"]
            .as_array()
            .expect("memberships")
            .len(),
        2,
        "{viewer}"
    );

    // Nor may that admin take the account over with a reset token.
    let reset = call(
        &server,
        Some(&rival),
        None,
        "mutation { issuePasswordReset(email: \"dee@example.com\") { token } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&reset), "FORBIDDEN", "{reset}");
}
