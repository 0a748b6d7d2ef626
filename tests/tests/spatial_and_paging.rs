//! Spatial searches (`sitesIntersecting`, `buildingsWithin`) and Relay paging in both
//! directions (`projects`, `Project.sites`, `Site.jobs`), on SQLite and on PostgreSQL,
//! where the spatial filter must be one the GIST index answers.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    FreshPostgres, TestServer, create_project, create_site, data_of, embedded_env,
    first_layout_when_succeeded, production_like_env, run_entmoot, rural_demo_boundary,
    submit_three_buildings,
};
use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};
use serde_json::{Value, json};

/// A square of `side` degrees with its south-west corner at (lon, lat).
fn square(lon: f64, lat: f64, side: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]]})
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn spatial_searches_find_what_lies_there(server: &TestServer) {
    let project = create_project(server, "Portfolio").await;
    let ranch = create_site(server, &project, "Ranch", rural_demo_boundary()).await;
    create_site(server, &project, "Far away", square(10.0, 50.0, 0.01)).await;
    create_site(server, &project, "Next door", square(10.02, 50.0, 0.01)).await;

    let search =
        |window: Value| async move {
            data_of(server
            .graphql(
                "query($window: [Float!]!) { sitesIntersecting(window: $window) { id name } }",
                json!({"window": window}),
            )
            .await
            .expect("sitesIntersecting"))["sitesIntersecting"]
            .clone()
        };
    // A window around the Colorado ranch only.
    let colorado = search(json!([-106.0, 38.0, -103.0, 41.0])).await;
    assert_eq!(names(&colorado), ["Ranch"], "{colorado}");
    assert_eq!(colorado[0]["id"], ranch.as_str());
    // A window that touches the first square only, and one that spans both.
    assert_eq!(
        names(&search(json!([9.99, 49.99, 10.015, 50.005])).await),
        ["Far away"]
    );
    assert_eq!(
        names(&search(json!([9.9, 49.9, 10.1, 50.1])).await),
        ["Far away", "Next door"]
    );
    // Inside the bounding box of nothing.
    assert!(names(&search(json!([0.0, 0.0, 1.0, 1.0])).await).is_empty());

    // Refusals say what is wrong.
    for (window, expected) in [
        (json!([1.0, 2.0]), "four numbers"),
        (json!([10.0, 0.0, -10.0, 1.0]), "not a window"),
        (json!([0.0, -91.0, 1.0, 1.0]), "not a window"),
    ] {
        let refused = server
            .graphql(
                "query($window: [Float!]!) { sitesIntersecting(window: $window) { id } }",
                json!({"window": window}),
            )
            .await
            .expect("refusal");
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused}"
        );
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }

    // The buildings of a stored layout, found by the area they stand in.
    let job = submit_three_buildings(server, &ranch).await;
    let layout = first_layout_when_succeeded(server, &job).await;
    let within = |area: Value| async move {
        data_of(server
            .graphql(
                "query($area: GeoJSON!) { buildingsWithin(area: $area) { assetId name layoutId footprint widthM } }",
                json!({"area": area}),
            )
            .await
            .expect("buildingsWithin"))["buildingsWithin"]
            .clone()
    };
    let on_the_ranch = within(rural_demo_boundary()).await;
    let found = on_the_ranch.as_array().unwrap();
    assert_eq!(found.len(), 3, "{on_the_ranch}");
    for building in found {
        assert_eq!(building["layoutId"], layout["id"]);
        assert_eq!(building["footprint"]["type"], "Polygon");
        assert!(building["widthM"].as_f64().unwrap() > 0.0);
    }
    assert!(
        within(square(10.0, 50.0, 0.01))
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn pages_go_both_ways(server: &TestServer) {
    for name in ["Paging one", "Paging two", "Paging three"] {
        create_project(server, name).await;
    }
    let page = |arguments: &str| {
        let query = format!(
            "query {{ projects({arguments}, filter: {{nameContains: \"Paging\"}}) {{ edges {{ cursor node {{ name }} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
        );
        async move {
            data_of(server.graphql(&query, json!({})).await.expect("projects"))["projects"].clone()
        }
    };
    let project_names = |connection: &Value| -> Vec<String> {
        connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Newest first: three, two, one. The last two are two and one.
    let last_two = page("last: 2").await;
    assert_eq!(project_names(&last_two), ["Paging two", "Paging one"]);
    assert_eq!(last_two["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(last_two["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        last_two["pageInfo"]["startCursor"],
        last_two["edges"][0]["cursor"]
    );
    let start = last_two["pageInfo"]["startCursor"].as_str().unwrap();
    let before = page(&format!("last: 2, before: \"{start}\"")).await;
    assert_eq!(project_names(&before), ["Paging three"]);
    assert_eq!(before["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(before["pageInfo"]["hasNextPage"], true);
    // Forward from the first page, and both sizes at once refused.
    let first = page("first: 1").await;
    assert_eq!(project_names(&first), ["Paging three"]);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    let end = first["pageInfo"]["endCursor"].as_str().unwrap();
    let next = page(&format!("first: 5, after: \"{end}\"")).await;
    assert_eq!(project_names(&next), ["Paging two", "Paging one"]);
    assert_eq!(next["pageInfo"]["hasPreviousPage"], true);
    let both = server
        .graphql(
            "query { projects(first: 1, last: 1) { edges { cursor } } }",
            json!({}),
        )
        .await
        .expect("both");
    assert_eq!(
        both["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{both}"
    );

    // A project's sites page like any list: oldest first.
    let project = create_project(server, "Sites paging").await;
    for name in ["A", "B", "C"] {
        create_site(server, &project, name, rural_demo_boundary()).await;
    }
    let sites = |arguments: &str| {
        let query = format!(
            "query($id: ID!) {{ project(id: $id) {{ sites{arguments} {{ edges {{ node {{ name }} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }} }}"
        );
        let project = project.clone();
        async move {
            data_of(
                server
                    .graphql(&query, json!({"id": project}))
                    .await
                    .expect("sites"),
            )["project"]["sites"]
                .clone()
        }
    };
    let all = sites("").await;
    assert_eq!(project_names(&all), ["A", "B", "C"]);
    assert_eq!(all["pageInfo"]["hasNextPage"], false);
    let one = sites("(first: 1)").await;
    assert_eq!(project_names(&one), ["A"]);
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let end = one["pageInfo"]["endCursor"].as_str().unwrap();
    let rest = sites(&format!("(first: 5, after: \"{end}\")")).await;
    assert_eq!(project_names(&rest), ["B", "C"]);
    let last = sites("(last: 1)").await;
    assert_eq!(project_names(&last), ["C"]);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spatial_searches_and_paging_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    spatial_searches_find_what_lies_there(&server).await;
    pages_go_both_ways(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spatial_searches_and_paging_on_postgres_use_the_gist_index() {
    let database = FreshPostgres::create().await.expect("fresh database");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, dir.path());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    spatial_searches_find_what_lies_there(&server).await;
    pages_go_both_ways(&server).await;

    // The predicate `sitesIntersecting` and `buildingsWithin` send is one the GIST
    // indexes answer (sequential scans off, as on a table too large to scan).
    let connection = Database::connect(&database.url).await.expect("connect");
    for (table, index, predicate) in [
        (
            "sites",
            "sites_geom_gist",
            "ST_Intersects(geom, ST_MakeEnvelope(-106, 38, -103, 41, 4326))",
        ),
        (
            "buildings",
            "buildings_geom_gist",
            "ST_Within(geom, ST_MakeEnvelope(-106, 38, -103, 41, 4326))",
        ),
    ] {
        // One transaction, so the setting and the EXPLAIN share a connection.
        let transaction = connection.begin().await.expect("begin");
        transaction
            .execute_unprepared("SET LOCAL enable_seqscan = off")
            .await
            .expect("set");
        let plan = transaction
            .query_all_raw(Statement::from_string(
                connection.get_database_backend(),
                format!("EXPLAIN SELECT id FROM {table} WHERE {predicate}"),
            ))
            .await
            .expect("explain");
        transaction.rollback().await.expect("rollback");
        let plan: Vec<String> = plan
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap())
            .collect();
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{table}: the plan does not use {index}:\n{}",
            plan.join("\n")
        );
    }
}

#[tokio::test]
async fn an_operator_can_turn_the_spatial_searches_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENABLE_GEOSPATIAL_ANALYSIS".into(), "false".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    for query in [
        "{ sitesIntersecting(window: [0, 0, 1, 1]) { id } }",
        r#"{ buildingsWithin(area: {type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]]}) { assetId } }"#,
    ] {
        let body = server.graphql(query, json!({})).await.expect(query);
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{query}: {body}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("ENABLE_GEOSPATIAL_ANALYSIS=false")),
            "{query}: {body}"
        );
    }
    // Everything else still works.
    let project = server
        .graphql(
            "mutation { createProject(input: {name: \"Still here\"}) { id } }",
            json!({}),
        )
        .await
        .expect("createProject");
    assert!(project.get("errors").is_none(), "{project}");
}
