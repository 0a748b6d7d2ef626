//! Bounded fuzzing of the GraphQL inputs, black-box: a seeded mutation loop sends
//! mangled documents, variables and bodies (byte flips, truncation, hostile values in
//! every variable, deep nesting, huge numbers, odd Unicode) to a running server. No
//! answer may be a 5xx (a panic answers 500), and the server must stay alive and
//! correct afterwards. A failure prints the seed and iteration that reproduce it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{TestServer, embedded_env, json_fixture, rural_demo_boundary};
use serde_json::{Value, json};

const ITERATIONS: usize = 1_500;
const BUDGET: Duration = Duration::from_secs(25);
const SEED: u64 = 0x6a57_f022_0009;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn hostile_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 9 } else { 12 }) {
        0 => json!(null),
        1 => json!(""),
        2 => json!("x".repeat(rng.below(70_000))),
        3 => json!(1e308),
        4 => json!(-9_223_372_036_854_775_808i64),
        5 => json!("\u{0}\u{202e}\u{feff}💥\u{10ffff}"),
        6 => json!(true),
        7 => json!("VGhpcyBpcyBub3QgYW4gaWQ"),
        8 => json!({"type": "Polygon", "coordinates": [[[f64::MAX, 0], [0, 0]]]}),
        9 => json!([hostile_value(rng, depth + 1), hostile_value(rng, depth + 1)]),
        10 => {
            let mut nested = json!(1);
            for _ in 0..rng.below(200) {
                nested = json!({"a": nested});
            }
            nested
        }
        _ => json!({"k": hostile_value(rng, depth + 1), "type": "FeatureCollection"}),
    }
}

fn mutate_variables(rng: &mut Rng, variables: &Value) -> Value {
    let mut variables = variables.clone();
    if let Some(object) = variables.as_object_mut() {
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            if rng.below(2) == 0 {
                object.insert(key, hostile_value(rng, 0));
            } else if let Some(inner) = object.get_mut(&key).and_then(Value::as_object_mut) {
                let inner_keys: Vec<String> = inner.keys().cloned().collect();
                if !inner_keys.is_empty() {
                    let pick = inner_keys[rng.below(inner_keys.len())].clone();
                    inner.insert(pick, hostile_value(rng, 1));
                }
            }
        }
    }
    variables
}

fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) {
    match rng.below(4) {
        0 if !bytes.is_empty() => {
            let cut = rng.below(bytes.len());
            bytes.truncate(cut);
        }
        1 => {
            for _ in 0..=rng.below(8) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next() as u8;
                }
            }
        }
        2 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            bytes.splice(at..at, junk);
        }
        _ => bytes.extend_from_slice(b"{{{{[[[[\"\\u0000"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_graphql_requests_never_crash_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    // The loop is one client hammering the API; rate limits are not what is tested.
    env.insert("ENTMOOT_RATE_LIMIT_PER_KEY".into(), "0".into());
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "0".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = server
        .graphql(
            "mutation { createProject(input: {name: \"Fuzz\"}) { id } }",
            json!({}),
        )
        .await
        .expect("project")["data"]["createProject"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let corpus: Vec<(&str, Value)> = vec![
        (
            "mutation($input: CreateProjectInput!) { createProject(input: $input) { id name } }",
            json!({"input": {"name": "P", "description": "d"}}),
        ),
        (
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
            json!({"input": {"projectId": project, "name": "S", "boundary": rural_demo_boundary()}}),
        ),
        (
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": project, "program": json_fixture("programs/three_buildings_ft.json")}}),
        ),
        (
            "query($id: ID!) { node(id: $id) { id ... on Project { name } } }",
            json!({"id": project}),
        ),
        (
            "query($first: Int, $after: String) { projects(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }",
            json!({"first": 5, "after": null}),
        ),
        (
            "mutation($id: ID!) { cancelJob(id: $id) { id } }",
            json!({"id": project}),
        ),
        (
            "mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }",
            json!({"email": "a@example.com", "password": "x"}),
        ),
        (
            "query($id: ID!) { fileDownload(id: $id) { url } }",
            json!({"id": project}),
        ),
    ];

    let mut rng = Rng(SEED);
    let started = Instant::now();
    let mut sent = 0;
    for iteration in 0..ITERATIONS {
        if started.elapsed() > BUDGET {
            break;
        }
        let (query, variables) = &corpus[rng.below(corpus.len())];
        let mut body = serde_json::to_vec(
            &json!({"query": query, "variables": mutate_variables(&mut rng, variables)}),
        )
        .expect("json");
        let mut query_text = query.to_string();
        match rng.below(3) {
            0 => mutate_bytes(&mut rng, &mut body),
            1 => {
                let mut bytes = query_text.into_bytes();
                mutate_bytes(&mut rng, &mut bytes);
                query_text = String::from_utf8_lossy(&bytes).into_owned();
                body = serde_json::to_vec(&json!({"query": query_text, "variables": variables}))
                    .expect("json");
            }
            _ => {}
        }
        let response = server
            .client
            .post(format!("{}/graphql", server.base_url))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "seed {SEED:#x} iteration {iteration}: the server stopped answering: {error}"
                )
            });
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "seed {SEED:#x} iteration {iteration}: {status} for {}",
            String::from_utf8_lossy(&body[..body.len().min(2_000)])
        );
        sent += 1;
    }
    assert!(sent >= 200, "only {sent} requests fit in the budget");

    // Still alive and still right.
    let live = reqwest::get(format!("{}/health/live", server.base_url))
        .await
        .expect("live");
    assert_eq!(live.status(), 200);
    let answer = server
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": project}),
        )
        .await
        .expect("query");
    assert_eq!(answer["data"]["node"]["id"], project.as_str());
}
