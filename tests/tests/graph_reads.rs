//! Reading the graph: projects with their sites and latest layouts cost the same
//! number of database queries for one project as for a page of them (DataLoaders),
//! the fields that walk up the tree agree with the ones that walk down, and a site's
//! jobs are a connection with status filters, order and cursors.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use entmoot_tests::{
    FreshPostgres, TestServer, create_project, create_site, data_of, embedded_env,
    first_layout_when_succeeded, production_like_env, run_entmoot, rural_demo_boundary,
    submit_three_buildings,
};
use serde_json::{Value, json};

const TYPICAL: &str = "query($first: Int!) { projects(first: $first) { edges { node { id name sites { edges { node { id name areaM2 latestLayout { id placedCount metrics } } } } } } } }";

/// The total of `entmoot_db_queries_total` over its outcomes.
async fn queries_so_far(server: &TestServer) -> f64 {
    let exposition = server
        .get("/metrics")
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    exposition
        .lines()
        .filter(|line| line.starts_with("entmoot_db_queries_total"))
        .map(|line| {
            line.rsplit(' ')
                .next()
                .and_then(|value| value.parse::<f64>().ok())
                .expect("a sample")
        })
        .sum()
}

/// The queries one request costs: the fewest over five tries, so that a background
/// task (job recovery, upload sweep) running at the same moment does not count.
async fn queries_of(server: &TestServer, query: &str, variables: Value) -> f64 {
    let mut fewest = f64::INFINITY;
    for _ in 0..5 {
        let before = queries_so_far(server).await;
        let body = server
            .graphql(query, variables.clone())
            .await
            .expect("query");
        assert!(body["errors"].is_null(), "{body}");
        let after = queries_so_far(server).await;
        fewest = fewest.min(after - before);
    }
    fewest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_projects_costs_a_fixed_number_of_queries_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    a_page_of_projects_with_sites_and_latest_layouts_costs_a_fixed_number_of_queries(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_projects_costs_a_fixed_number_of_queries_on_postgresql() {
    let database = FreshPostgres::create().await.expect("PostgreSQL");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, dir.path());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    a_page_of_projects_with_sites_and_latest_layouts_costs_a_fixed_number_of_queries(&server).await;
}

async fn a_page_of_projects_with_sites_and_latest_layouts_costs_a_fixed_number_of_queries(
    server: &TestServer,
) {
    // Three projects of two sites each; every site but the last has a finished job.
    let mut latest = Vec::new();
    let mut projects = Vec::new();
    for p in 0..3 {
        let project = create_project(server, &format!("Project {p}")).await;
        for s in 0..2 {
            let site = create_site(
                server,
                &project,
                &format!("Site {p}.{s}"),
                rural_demo_boundary(),
            )
            .await;
            if (p, s) != (2, 1) {
                let job = submit_three_buildings(server, &site).await;
                latest.push((site, job));
            }
        }
        projects.push(project);
    }
    let mut expected_layouts = Vec::new();
    for (site, job) in &latest {
        let layout = first_layout_when_succeeded(server, job).await;
        expected_layouts.push((site.clone(), layout["id"].as_str().unwrap().to_owned()));
    }

    let page = data_of(
        server
            .graphql(TYPICAL, json!({"first": 10}))
            .await
            .expect("typical"),
    );
    let edges = page["projects"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 3);
    let mut seen_sites = 0;
    for edge in edges {
        let sites = edge["node"]["sites"]["edges"].as_array().expect("sites");
        assert_eq!(sites.len(), 2, "{edge}");
        for site in sites.iter().map(|site_edge| &site_edge["node"]) {
            seen_sites += 1;
            let expected = expected_layouts
                .iter()
                .find(|(id, _)| site["id"] == id.as_str())
                .map(|(_, layout)| layout.as_str());
            assert_eq!(site["latestLayout"]["id"].as_str(), expected, "{site}");
            if expected.is_some() {
                assert_eq!(site["latestLayout"]["placedCount"], 3);
            }
        }
    }
    assert_eq!(seen_sites, 6);

    // The page reads layouts without their large columns; asking for the GeoJSON reads
    // it by id, and it is the layout's own.
    let (site, layout) = &expected_layouts[0];
    let full = data_of(server
        .graphql(
            "query($site: ID!, $layout: ID!) { site: node(id: $site) { ... on Site { latestLayout { geojson roads } } } layout: node(id: $layout) { ... on Layout { geojson } } }",
            json!({"site": site, "layout": layout}),
        )
        .await
        .expect("geojson"));
    assert_eq!(
        full["site"]["latestLayout"]["geojson"],
        full["layout"]["geojson"]
    );
    assert_eq!(full["layout"]["geojson"]["type"], "FeatureCollection");
    assert!(
        !full["site"]["latestLayout"]["roads"]["features"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // One project or three: the same queries (authentication, projects, sites,
    // latest layouts), not one more per project or site.
    let one = queries_of(server, TYPICAL, json!({"first": 1})).await;
    let three = queries_of(server, TYPICAL, json!({"first": 10})).await;
    assert_eq!(one, three, "1 project: {one} queries, 3 projects: {three}");
    assert!(three <= 6.0, "{three} queries for the typical page");
    // Without the nested fields it is two fewer: the loaders are one query each.
    let flat = queries_of(
        server,
        "query { projects(first: 10) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    eprintln!("typical page: {three} queries; projects alone: {flat}");
    assert_eq!(three - flat, 2.0, "typical {three}, projects alone {flat}");

    // Jobs with their layouts and the way back up, batched the same way.
    let walk = "query($id: ID!) { project(id: $id) { sites { edges { node { jobs(first: 10) { edges { node { id layouts { id job { id } site { id project { id } } } } } } } } } } }";
    let walked = data_of(
        server
            .graphql(walk, json!({"id": projects[0]}))
            .await
            .expect("walk"),
    );
    for site_edge in walked["project"]["sites"]["edges"].as_array().unwrap() {
        let site = &site_edge["node"];
        for edge in site["jobs"]["edges"].as_array().unwrap() {
            for layout in edge["node"]["layouts"].as_array().unwrap() {
                assert_eq!(layout["job"]["id"], edge["node"]["id"]);
                assert_eq!(layout["site"]["project"]["id"], projects[0].as_str());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_jobs_filter_order_and_page_and_layouts_expose_their_parts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &embedded_env(dir.path()))
        .await
        .expect("serve");
    let project = create_project(&server, "Jobs").await;
    let site = create_site(&server, &project, "Site", rural_demo_boundary()).await;
    let first_job = submit_three_buildings(&server, &site).await;
    first_layout_when_succeeded(&server, &first_job).await;
    let second_job = submit_three_buildings(&server, &site).await;
    first_layout_when_succeeded(&server, &second_job).await;
    // Cancelled before it can start? Not reliably; a third job is simply another
    // succeeded one, and the status filter is checked against what the jobs are.
    let jobs = |variables: Value| {
        let server = &server;
        async move {
            data_of(server
                .graphql(
                    "query($site: ID!, $first: Int, $after: String, $status: [JobStatus!], $order: ListOrder) { node(id: $site) { ... on Site { jobs(first: $first, after: $after, status: $status, order: $order) { edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } } } }",
                    variables,
                )
                .await
                .expect("jobs"))["node"]["jobs"]
                .clone()
        }
    };
    let ids = |connection: &Value| -> Vec<String> {
        connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest = jobs(json!({"site": site})).await;
    assert_eq!(ids(&newest), [second_job.clone(), first_job.clone()]);
    let oldest = jobs(json!({"site": site, "order": "OLDEST_FIRST"})).await;
    assert_eq!(ids(&oldest), [first_job.clone(), second_job.clone()]);
    let page_one = jobs(json!({"site": site, "first": 1})).await;
    assert_eq!(ids(&page_one), std::slice::from_ref(&second_job));
    assert_eq!(page_one["pageInfo"]["hasNextPage"], true);
    let page_two =
        jobs(json!({"site": site, "first": 1, "after": page_one["pageInfo"]["endCursor"]})).await;
    assert_eq!(ids(&page_two), std::slice::from_ref(&first_job));
    assert_eq!(page_two["pageInfo"]["hasNextPage"], false);
    let succeeded = jobs(json!({"site": site, "status": ["SUCCEEDED"]})).await;
    assert_eq!(ids(&succeeded).len(), 2);
    let waiting = jobs(json!({"site": site, "status": ["QUEUED", "RUNNING", "FAILED"]})).await;
    assert!(ids(&waiting).is_empty(), "{waiting}");
    let too_many = server
        .graphql(
            "query($site: ID!) { node(id: $site) { ... on Site { jobs(first: 101) { edges { cursor } } } } }",
            json!({"site": site}),
        )
        .await
        .expect("jobs");
    assert_eq!(
        too_many["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{too_many}"
    );

    // A layout's parts: cost breakdown, objective scores, the roads alone, and its
    // job's inputs.
    let detail = data_of(server
        .graphql(
            "query($id: ID!) { job(id: $id) { program objectiveWeights alternatives site { boundary setbackMetres entrances exclusionZones { kind } } layouts { cost objectives roads violations { rule } } } }",
            json!({"id": first_job}),
        )
        .await
        .expect("detail"));
    let job = &detail["job"];
    assert_eq!(job["objectiveWeights"]["cost"], 40.0, "{job}");
    assert_eq!(job["alternatives"], 1);
    assert!(job["program"]["assets"].is_array(), "{job}");
    let boundary_type = job["site"]["boundary"]["type"].as_str().unwrap();
    assert!(matches!(boundary_type, "Polygon" | "MultiPolygon"), "{job}");
    assert_eq!(job["site"]["exclusionZones"], json!([]));
    let layout = &job["layouts"][0];
    assert!(layout["cost"]["total"].as_f64().unwrap() > 0.0, "{layout}");
    let weighted = layout["objectives"]["weighted"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&weighted), "{layout}");
    let roads = layout["roads"]["features"].as_array().unwrap();
    assert!(!roads.is_empty(), "{layout}");
    assert!(
        roads
            .iter()
            .all(|road| road["geometry"]["type"] == "LineString")
    );
    assert_eq!(layout["violations"], json!([]));

    // A site's exclusion zones come back as given.
    let bbox = data_of(
        server
            .graphql(
                "query($id: ID!) { node(id: $id) { ... on Site { bbox } } }",
                json!({"id": site}),
            )
            .await
            .expect("bbox"),
    )["node"]["bbox"]
        .clone();
    let (x, y) = (
        (bbox[0].as_f64().unwrap() + bbox[2].as_f64().unwrap()) / 2.0,
        (bbox[1].as_f64().unwrap() + bbox[3].as_f64().unwrap()) / 2.0,
    );
    let marsh = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.0005, y], [x + 0.0005, y + 0.0005], [x, y + 0.0005], [x, y]]]});
    let created = data_of(server
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { exclusionZones { kind bufferM name geometry } } }",
            json!({"input": {"projectId": project, "name": "With marsh", "boundary": rural_demo_boundary(),
                             "exclusions": [{"kind": "wetland", "bufferM": 5.0, "name": "Marsh", "geometry": marsh}]}}),
        )
        .await
        .expect("createSite"));
    let zones = &created["createSite"]["exclusionZones"];
    assert_eq!(zones.as_array().unwrap().len(), 1, "{created}");
    assert_eq!(zones[0]["kind"], "wetland");
    assert_eq!(zones[0]["bufferM"], 5.0);
    assert_eq!(zones[0]["name"], "Marsh");
    assert_eq!(zones[0]["geometry"]["type"], "Polygon");
}
