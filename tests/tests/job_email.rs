//! Job-completion e-mail: a job created with `notifyEmail` is mailed through SMTP_*
//! when it ends, naming the job, its site and its outcome; a job without one is not;
//! a bad address, or one that is not a member's, is refused when the job is created.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{
    TestServer, create_project, create_site, embedded_env, json_fixture, rural_demo_boundary,
    smtp_listener,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_is_mailed_to_its_notify_address() {
    let (port, messages) = smtp_listener().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("SMTP_HOST".into(), "127.0.0.1".into());
    env.insert("SMTP_PORT".into(), port.to_string());
    env.insert("EMAIL_FROM".into(), "Entmoot <entmoot@example.com>".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let member =
        entmoot_tests::create_user(dir.path(), &env, "planner@example.com", "Planner", "editor");
    assert!(member.status.success(), "{member:?}");
    let project = create_project(&server, "Mail").await;
    let site = create_site(&server, &project, "Mailed parcel", rural_demo_boundary()).await;
    let program = json_fixture("programs/three_buildings_ft.json");
    let create = "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }";

    let refused = server
        .graphql(
            create,
            json!({"input": {"siteId": site, "program": program, "notifyEmail": "not an address"}}),
        )
        .await
        .expect("createJob");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );

    // A well-formed address of someone outside the organization: the server must not
    // become a mail relay for any editor.
    let stranger = server
        .graphql(
            create,
            json!({"input": {"siteId": site, "program": program, "notifyEmail": "victim@example.org"}}),
        )
        .await
        .expect("createJob");
    assert_eq!(
        stranger["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{stranger}"
    );
    assert!(
        stranger["errors"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("not a member")),
        "{stranger}"
    );

    let silent = server
        .graphql(
            create,
            json!({"input": {"siteId": site, "program": program}}),
        )
        .await
        .expect("createJob");
    assert!(silent.get("errors").is_none(), "{silent}");
    let mailed = server
        .graphql(
            create,
            json!({"input": {"siteId": site, "program": program, "notifyEmail": "Planner@Example.com"}}),
        )
        .await
        .expect("createJob");
    let job = mailed["data"]["createJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{mailed}"))
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = server
            .graphql(
                "query($id: ID!) { job(id: $id) { status } }",
                json!({"id": job}),
            )
            .await
            .expect("status");
        if status["data"]["job"]["status"] == "SUCCEEDED" {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let message = entmoot_tests::next_message(&messages, 0).await;
    assert!(message.contains("planner@example.com"), "{message}");
    assert!(message.contains("Mailed parcel"), "{message}");
    assert!(message.contains("succeeded"), "{message}");
    // Only the job that asked was mailed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(messages.lock().unwrap().len(), 1);
}
