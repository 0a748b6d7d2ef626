//! Projects over GraphQL beyond creation: renaming and describing, and deleting with
//! everything in them, refused while a job may still run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    TestServer, create_site, embedded_env, error_code, graphql_upload, rural_demo_boundary,
    submit_three_buildings,
};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_updated_and_deleted_with_what_they_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    // No worker: a submitted job stays queued, which is what deletion must respect.
    let server = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("serve");
    let project = server
        .graphql(
            "mutation { createProject(input: {name: \"Draft\", description: \"first\"}) { id } }",
            json!({}),
        )
        .await
        .expect("project")["data"]["createProject"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let update = "mutation($id: ID!, $input: UpdateProjectInput!) { updateProject(id: $id, input: $input) { name description } }";
    let renamed = server
        .graphql(
            update,
            json!({"id": project, "input": {"name": "North Ridge"}}),
        )
        .await
        .expect("update");
    assert_eq!(
        renamed["data"]["updateProject"]["name"], "North Ridge",
        "{renamed}"
    );
    assert_eq!(renamed["data"]["updateProject"]["description"], "first");
    let cleared = server
        .graphql(update, json!({"id": project, "input": {"description": ""}}))
        .await
        .expect("update");
    assert!(
        cleared["data"]["updateProject"]["description"].is_null(),
        "{cleared}"
    );
    let invalid = server
        .graphql(update, json!({"id": project, "input": {"name": "   "}}))
        .await
        .expect("update");
    assert_eq!(error_code(&invalid), "BAD_USER_INPUT", "{invalid}");

    // A site, an uploaded file and a queued job in it.
    let site = create_site(&server, &project, "Parcel", rural_demo_boundary()).await;
    let kml = std::fs::read(entmoot_tests::fixture("rural_demo.kml")).expect("fixture");
    let uploaded = graphql_upload(
        &server,
        "mutation($p: ID!, $file: Upload!) { uploadParcel(projectId: $p, file: $file) { file { id } } }",
        json!({"p": project, "file": null}),
        "parcel.kml",
        &kml,
    )
    .await;
    let file = uploaded["data"]["uploadParcel"]["file"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{uploaded}"))
        .to_owned();
    let link = server
        .graphql(
            "query($id: ID!) { fileDownload(id: $id) { url } }",
            json!({"id": file}),
        )
        .await
        .expect("link")["data"]["fileDownload"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let job = submit_three_buildings(&server, &site).await;

    let delete = "mutation($id: ID!) { deleteProject(id: $id) }";
    let refused = server
        .graphql(delete, json!({"id": project}))
        .await
        .expect("delete");
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    let cancelled = server
        .graphql(
            "mutation($id: ID!) { cancelJob(id: $id) { status } }",
            json!({"id": job}),
        )
        .await
        .expect("cancel");
    assert_eq!(
        cancelled["data"]["cancelJob"]["status"], "CANCELLED",
        "{cancelled}"
    );
    let deleted = server
        .graphql(delete, json!({"id": project}))
        .await
        .expect("delete");
    assert_eq!(
        deleted["data"]["deleteProject"],
        project.as_str(),
        "{deleted}"
    );

    // Gone, with what it held: the project, its site and job, and the file's object.
    let gone = server
        .graphql(
            "query($p: ID!, $s: ID!, $j: ID!) { p: node(id: $p) { id } s: node(id: $s) { id } j: node(id: $j) { id } }",
            json!({"p": project, "s": site, "j": job}),
        )
        .await
        .expect("nodes");
    assert!(
        gone["data"]["p"].is_null() && gone["data"]["s"].is_null() && gone["data"]["j"].is_null(),
        "{gone}"
    );
    let fetched = reqwest::get(format!("{}{link}", server.base_url))
        .await
        .expect("GET link");
    assert_eq!(fetched.status(), 404);
    let again = server
        .graphql(delete, json!({"id": project}))
        .await
        .expect("delete");
    assert_eq!(error_code(&again), "NOT_FOUND");
}

async fn listed(server: &TestServer, variables: Value) -> (Vec<String>, bool, Option<String>) {
    let body = server
        .graphql(
            "query($first: Int, $after: String, $filter: ProjectFilterInput, $order: ProjectOrderInput) { projects(first: $first, after: $after, filter: $filter, order: $order) { edges { cursor node { name } } pageInfo { hasNextPage } } }",
            variables,
        )
        .await
        .expect("projects");
    let connection = &body["data"]["projects"];
    let edges = connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    (
        edges
            .iter()
            .map(|edge| edge["node"]["name"].as_str().expect("name").to_owned())
            .collect(),
        connection["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage"),
        edges
            .last()
            .map(|edge| edge["cursor"].as_str().expect("cursor").to_owned()),
    )
}

async fn filters_and_orders(server: &TestServer) {
    for name in ["Alpha Ridge", "beta ridge", "Gamma", "100%_done"] {
        let created = server
            .graphql(
                "mutation($name: String!) { createProject(input: {name: $name}) { id } }",
                json!({"name": name}),
            )
            .await
            .expect("project");
        assert!(created.get("errors").is_none(), "{created}");
    }
    let (names, more, _) = listed(server, json!({"filter": {"nameContains": "RIDGE"}})).await;
    assert_eq!(
        names,
        ["beta ridge", "Alpha Ridge"],
        "newest first by default"
    );
    assert!(!more);
    let (names, _, _) = listed(
        server,
        json!({"filter": {"nameContains": "ridge"}, "order": "OLDEST_FIRST"}),
    )
    .await;
    assert_eq!(names, ["Alpha Ridge", "beta ridge"]);
    // `%` and `_` are literal characters, not wildcards.
    let (names, _, _) = listed(server, json!({"filter": {"nameContains": "%_"}})).await;
    assert_eq!(names, ["100%_done"]);
    let (names, _, _) = listed(server, json!({"filter": {"nameContains": "a_p"}})).await;
    assert!(names.is_empty(), "{names:?}");
    // Pages follow the order and the filter.
    let (first_page, more, cursor) = listed(
        server,
        json!({"first": 1, "filter": {"nameContains": "ridge"}, "order": "OLDEST_FIRST"}),
    )
    .await;
    assert_eq!(first_page, ["Alpha Ridge"]);
    assert!(more);
    let (second_page, more, _) = listed(
        server,
        json!({"first": 1, "after": cursor, "filter": {"nameContains": "ridge"}, "order": "OLDEST_FIRST"}),
    )
    .await;
    assert_eq!(second_page, ["beta ridge"]);
    assert!(!more);
}

#[tokio::test]
async fn projects_are_filtered_by_name_and_ordered_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    filters_and_orders(&server).await;
}

#[tokio::test]
async fn projects_are_filtered_by_name_and_ordered_on_postgres() {
    let database = entmoot_tests::FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = entmoot_tests::production_like_env(&database.url, dir.path());
    assert!(
        entmoot_tests::run_entmoot(dir.path(), &env, &["migrate", "up"])
            .status
            .success()
    );
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    filters_and_orders(&server).await;
}
