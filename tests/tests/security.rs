//! Authorization on every field: the schema is introspected, and every query, mutation
//! and subscription field is called with no token, a malformed one, an expired key, a
//! revoked key and another organization's admin key. Each is refused with the right
//! code, no response carries the organization's data, and its rows do not change.
//! Also: viewers cannot mutate, mutations land in the audit log, and the embedded
//! default prints an admin key on its first start only.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, MULTIPART_CONTENT_TYPE, TestServer, create_project, create_site, create_user,
    embedded_env, entmoot_command, first_layout_when_succeeded, graphql_multipart_body,
    json_fixture, production_like_env, run_entmoot, rural_demo_boundary, submit_three_buildings,
    subscribe_with_token,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Map, Value, json};

const INTROSPECTION: &str = r#"
{ __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { name kind enumValues { name }
      inputFields { name defaultValue type { ...T } }
      fields { name args { name type { ...T } } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }
"#;

/// The fields meant for callers without a token.
const PUBLIC_FIELDS: [&str; 4] = [
    "signIn",
    "acceptInvitation",
    "requestPasswordReset",
    "resetPassword",
];

/// Org A's objects, by the global ids the API gave them.
struct Objects {
    project: String,
    site: String,
    job: String,
    layout: String,
    file: String,
    api_key: String,
    /// A member (`changeMemberRole`, `removeMember`).
    user: String,
}

fn issue_key(dir: &std::path::Path, env: &HashMap<String, String>, args: &[&str]) -> String {
    let mut full = vec!["admin", "keys", "create", "--json"];
    full.extend_from_slice(args);
    let output = run_entmoot(dir, env, &full);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let issued: Value = serde_json::from_slice(&output.stdout).expect("json");
    issued["token"].as_str().expect("token").to_owned()
}

fn type_string(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_string(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_string(&ty["ofType"])),
        _ => ty["name"].as_str().expect("named type").to_owned(),
    }
}

fn named_type(ty: &Value) -> &Value {
    if ty["ofType"].is_object() {
        named_type(&ty["ofType"])
    } else {
        ty
    }
}

/// A value of `ty` good enough to reach the authorization check: ids name org A's
/// objects (chosen by the argument's and the field's names), geometry is a real parcel.
fn value_for(
    ty: &Value,
    name: &str,
    field: &str,
    types: &HashMap<String, Value>,
    objects: &Objects,
) -> Value {
    match ty["kind"].as_str() {
        Some("NON_NULL") => value_for(&ty["ofType"], name, field, types, objects),
        Some("LIST") => json!([value_for(&ty["ofType"], name, field, types, objects)]),
        Some("ENUM") => {
            let definition = &types[ty["name"].as_str().expect("enum name")];
            definition["enumValues"][0]["name"].clone()
        }
        Some("INPUT_OBJECT") => {
            let definition = &types[ty["name"].as_str().expect("input name")];
            let mut object = Map::new();
            for input in definition["inputFields"].as_array().expect("input fields") {
                if input["type"]["kind"] == "NON_NULL" && input["defaultValue"].is_null() {
                    let input_name = input["name"].as_str().expect("name");
                    object.insert(
                        input_name.to_owned(),
                        value_for(&input["type"], input_name, field, types, objects),
                    );
                }
            }
            Value::Object(object)
        }
        _ => match ty["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{field}.{name}: unnamed type {ty}"))
        {
            "ID" => {
                let hint = if name == "id" { field } else { name }.to_ascii_lowercase();
                let id = if hint.contains("job") {
                    &objects.job
                } else if hint.contains("site") {
                    &objects.site
                } else if hint.contains("layout") {
                    &objects.layout
                } else if hint.contains("file") {
                    &objects.file
                } else if hint.contains("apikey") {
                    &objects.api_key
                } else if hint.contains("user") {
                    &objects.user
                } else {
                    &objects.project
                };
                json!(id)
            }
            "String" => json!("Probe"),
            "Int" => json!(1),
            "Float" => json!(1.0),
            "Boolean" => json!(false),
            "GeoJSON" => rural_demo_boundary(),
            "JSON" if name == "program" => json_fixture("programs/three_buildings_ft.json"),
            "JSON" => json!({}),
            // Sent as a multipart file part; the variable itself is null.
            "Upload" => Value::Null,
            other => panic!("no probe value for scalar {other}"),
        },
    }
}

/// One operation calling `field` with every required argument.
fn probe(
    operation: &str,
    field: &Value,
    types: &HashMap<String, Value>,
    objects: &Objects,
) -> (String, Value) {
    let field_name = field["name"].as_str().expect("field name");
    let mut declarations = Vec::new();
    let mut arguments = Vec::new();
    let mut variables = Map::new();
    for argument in field["args"].as_array().expect("args") {
        if argument["type"]["kind"] != "NON_NULL" {
            continue;
        }
        let name = argument["name"].as_str().expect("arg name");
        declarations.push(format!("${name}: {}", type_string(&argument["type"])));
        arguments.push(format!("{name}: ${name}"));
        variables.insert(
            name.to_owned(),
            value_for(&argument["type"], name, field_name, types, objects),
        );
    }
    let selection = match named_type(&field["type"])["kind"].as_str() {
        Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
        _ => "",
    };
    let declarations = if declarations.is_empty() {
        String::new()
    } else {
        format!("({})", declarations.join(", "))
    };
    let arguments = if arguments.is_empty() {
        String::new()
    } else {
        format!("({})", arguments.join(", "))
    };
    (
        format!("{operation} Probe{declarations} {{ {field_name}{arguments}{selection} }}"),
        Value::Object(variables),
    )
}

fn error_codes(errors: &Value) -> Vec<String> {
    errors
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    error["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Org A's rows, as one fingerprint per table: any insert, update or delete changes it.
async fn fingerprint(connection: &DatabaseConnection, organization: &str) -> Vec<String> {
    let mut prints = Vec::new();
    for table in [
        "projects",
        "sites",
        "exclusion_zones",
        "jobs",
        "layouts",
        "buildings",
        "files",
        "users",
        "memberships",
        "account_tokens",
    ] {
        let sql = format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t.id)), '') \
             FROM {table} t WHERE organization_id = '{organization}'"
        );
        let row = connection
            .query_one_raw(Statement::from_string(
                connection.get_database_backend(),
                sql,
            ))
            .await
            .expect("fingerprint")
            .expect("row");
        prints.push(format!(
            "{table}={}",
            row.try_get_by_index::<String>(0).expect("text")
        ));
    }
    prints
}

async fn post(server: &TestServer, token: Option<&str>, query: &str, variables: &Value) -> Value {
    // A client of its own: the server's client sends the local admin key.
    let url = format!("{}/graphql", server.base_url);
    let mut request = if query.contains("Upload!") {
        let kml = std::fs::read(entmoot_tests::fixture("rural_demo.kml")).expect("fixture");
        reqwest::Client::new()
            .post(url)
            .header("Content-Type", MULTIPART_CONTENT_TYPE)
            .header("Apollo-Require-Preflight", "true")
            .body(graphql_multipart_body(
                query,
                variables.clone(),
                "file",
                "parcel.kml",
                &kml,
            ))
    } else {
        reqwest::Client::new()
            .post(url)
            .json(&json!({"query": query, "variables": variables}))
    };
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_refuses_callers_that_are_not_of_the_organization() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = production_like_env(&database.url, dir.path());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(migrated.status.success());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");

    // Org A (local) with a project, a site and a finished job.
    let project = create_project(&server, "Secret Ridge").await;
    let site = create_site(&server, &project, "North parcel", rural_demo_boundary()).await;
    let job = submit_three_buildings(&server, &site).await;
    let layout = first_layout_when_succeeded(&server, &job).await["id"]
        .as_str()
        .expect("layout")
        .to_owned();
    let exported = server
        .graphql(
            "mutation($id: ID!) { exportLayout(layoutId: $id, format: GEOJSON) { file { id } } }",
            json!({"id": layout}),
        )
        .await
        .expect("export");
    let file = exported["data"]["exportLayout"]["file"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{exported}"))
        .to_owned();
    // A key of org A that the probes aim at (`revokeApiKey`).
    issue_key(
        dir.path(),
        &env,
        &["--name", "probe target", "--role", "viewer"],
    );
    let keys = server
        .graphql("{ apiKeys { id name } }", json!({}))
        .await
        .expect("apiKeys");
    let api_key = keys["data"]["apiKeys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|key| key["name"] == "probe target"))
        .and_then(|key| key["id"].as_str())
        .unwrap_or_else(|| panic!("{keys}"))
        .to_owned();
    // A member of org A that the probes aim at (`changeMemberRole`, `removeMember`).
    let made = create_user(
        dir.path(),
        &env,
        "probe-target@example.com",
        "Probe target",
        "viewer",
    );
    assert!(made.status.success(), "{made:?}");
    let members = server
        .graphql("{ members { user { id email } } }", json!({}))
        .await
        .expect("members");
    let user = members["data"]["members"]
        .as_array()
        .and_then(|members| {
            members
                .iter()
                .find(|member| member["user"]["email"] == "probe-target@example.com")
        })
        .and_then(|member| member["user"]["id"].as_str())
        .unwrap_or_else(|| panic!("{members}"))
        .to_owned();
    let objects = Objects {
        user: user.clone(),
        project: project.clone(),
        site: site.clone(),
        job: job.clone(),
        layout: layout.clone(),
        file: file.clone(),
        api_key: api_key.clone(),
    };

    // The callers that must be refused.
    let other_org = run_entmoot(
        dir.path(),
        &env,
        &[
            "admin",
            "organizations",
            "create",
            "--name",
            "Other",
            "--slug",
            "other",
        ],
    );
    assert!(other_org.status.success());
    let other_admin = issue_key(
        dir.path(),
        &env,
        &[
            "--organization",
            "other",
            "--name",
            "other admin",
            "--role",
            "admin",
        ],
    );
    let revoked = issue_key(
        dir.path(),
        &env,
        &["--name", "to revoke", "--role", "admin"],
    );
    let revoke = run_entmoot(
        dir.path(),
        &env,
        &["admin", "keys", "revoke", &revoked[..16]],
    );
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    let expired = issue_key(
        dir.path(),
        &env,
        &["--name", "to expire", "--role", "admin"],
    );
    let connection = Database::connect(database.url.as_str())
        .await
        .expect("connect");
    connection
        .execute_unprepared(&format!(
            "UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE prefix = '{}'",
            &expired[4..16]
        ))
        .await
        .expect("expire the key");
    let viewer = issue_key(dir.path(), &env, &["--name", "viewer", "--role", "viewer"]);

    let organization: String = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT id::text FROM organizations WHERE slug = 'local'",
        ))
        .await
        .expect("org")
        .expect("row")
        .try_get_by_index(0)
        .expect("id");
    let before = fingerprint(&connection, &organization).await;

    // The schema, as its admin sees it.
    let schema = server
        .graphql(INTROSPECTION, json!({}))
        .await
        .expect("introspection");
    let schema = &schema["data"]["__schema"];
    let types: HashMap<String, Value> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|ty| (ty["name"].as_str().expect("name").to_owned(), ty.clone()))
        .collect();
    let roots = [
        (
            "query",
            schema["queryType"]["name"].as_str().expect("query"),
        ),
        (
            "mutation",
            schema["mutationType"]["name"].as_str().expect("mutation"),
        ),
        (
            "subscription",
            schema["subscriptionType"]["name"]
                .as_str()
                .expect("subscription"),
        ),
    ];
    let unauthenticated: [(&str, Option<&str>); 4] = [
        ("no token", None),
        ("a malformed token", Some("not-an-entmoot-key")),
        ("an expired key", Some(&expired)),
        ("a revoked key", Some(&revoked)),
    ];
    let secrets = [
        "Secret Ridge",
        "North parcel",
        &project,
        &site,
        &job,
        &layout,
        &file,
        &api_key,
        &user,
    ];
    let mut probed = 0;
    for (operation, root) in roots {
        for field in types[root]["fields"].as_array().expect("fields") {
            let field_name = field["name"].as_str().expect("name");
            let (document, variables) = probe(operation, field, &types, &objects);
            let targets_an_object = field["args"]
                .as_array()
                .expect("args")
                .iter()
                .any(|argument| named_type(&argument["type"])["name"] == "ID")
                || document.contains("projectId")
                || document.contains("siteId");
            // Signing in, accepting an invitation and resetting a password are what a
            // caller without a token does; they are checked for leaks and writes only.
            let public = PUBLIC_FIELDS.contains(&field_name);
            let mut callers: Vec<(&str, Option<&str>)> = unauthenticated.to_vec();
            callers.push(("another organization's admin key", Some(&other_admin)));
            if operation == "mutation" {
                callers.push(("a viewer key", Some(&viewer)));
            }
            for (who, token) in callers {
                let body = if operation == "subscription" {
                    let mut events =
                        subscribe_with_token(&server.base_url, token, &document, variables.clone())
                            .await
                            .expect("subscribe");
                    let message = tokio::time::timeout(Duration::from_secs(10), events.recv())
                        .await
                        .unwrap_or_else(|_| panic!("{field_name} with {who}: no answer"))
                        .expect("an answer");
                    if message["type"] == "error" {
                        json!({"errors": message["payload"]})
                    } else {
                        message
                    }
                } else {
                    post(&server, token, &document, &variables).await
                };
                let codes = error_codes(&body["errors"]);
                let text = body.to_string();
                for secret in secrets {
                    assert!(
                        !text.contains(secret),
                        "{field_name} with {who} leaked `{secret}`: {text}"
                    );
                }
                let expected: &[&str] = match who {
                    _ if public => &[],
                    "another organization's admin key" if targets_an_object => {
                        &["NOT_FOUND", "FORBIDDEN"]
                    }
                    // Its own (empty) organization: allowed, and checked for leaks above.
                    "another organization's admin key" => &[],
                    "a viewer key" => &["FORBIDDEN"],
                    _ => &["UNAUTHENTICATED"],
                };
                // Relay's `node` answers null for an id it does not know, as it must
                // for another organization's object: not even existence is revealed.
                let nullable = field["type"]["kind"] != "NON_NULL";
                let quietly_null = nullable
                    && codes.is_empty()
                    && body["data"][field_name].is_null()
                    && who == "another organization's admin key";
                if !expected.is_empty() && !quietly_null {
                    assert!(
                        !codes.is_empty()
                            && codes.iter().all(|code| expected.contains(&code.as_str())),
                        "{operation} {field_name} with {who}: expected {expected:?}, got {text}"
                    );
                    assert!(
                        body["data"].is_null() || body["data"][field_name].is_null(),
                        "{field_name} with {who} returned data: {text}"
                    );
                }
                probed += 1;
            }
        }
    }
    assert!(probed >= 40, "only {probed} calls were made");
    assert_eq!(
        fingerprint(&connection, &organization).await,
        before,
        "the organization's rows changed"
    );
}

#[tokio::test]
async fn mutations_are_audited_and_the_first_start_prints_an_admin_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());

    // First start: the key is printed on stdout, once.
    let first_start_key = |expect_key: bool| {
        let mut child = entmoot_command(dir.path(), &env)
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve");
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        let key_sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.trim().starts_with("emk_") {
                    let _ = key_sender.send(Some(line.trim().to_owned()));
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on http://") {
                    let _ = sender.send(None);
                }
            }
        });
        let mut key = None;
        let mut deadline = Instant::now() + Duration::from_secs(30);
        let mut listening = false;
        // The key is printed before the server listens, but stdout and stderr are read
        // by two threads, so the "listening" line may arrive first: keep reading for a
        // second after it.
        while Instant::now() < deadline {
            match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(token)) => key = Some(token),
                Ok(None) if !listening => {
                    listening = true;
                    deadline = Instant::now() + Duration::from_secs(1);
                }
                _ => {}
            }
        }
        assert!(listening, "the server did not start");
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            key.is_some(),
            expect_key,
            "first start prints a key: {key:?}"
        );
        key
    };
    let key = first_start_key(true).expect("key");
    first_start_key(false);

    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let answer = post(
        &server,
        Some(&key),
        "{ projects { edges { cursor } } }",
        &json!({}),
    )
    .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let created = post(
        &server,
        Some(&key),
        "mutation { createProject(input: {name: \"Audited\"}) { id } }",
        &json!({}),
    )
    .await;
    assert!(created.get("errors").is_none(), "{created}");
    let refused = post(
        &server,
        Some(&key),
        "mutation { createProject(input: {name: \"\"}) { id } }",
        &json!({}),
    )
    .await;
    assert_eq!(error_codes(&refused["errors"]), ["BAD_USER_INPUT"]);

    let audit = run_entmoot(dir.path(), &env, &["admin", "audit"]);
    assert!(audit.status.success());
    let entries: Vec<Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    // Newest first.
    assert_eq!(entries[0]["action"], "createProject");
    assert_eq!(entries[0]["succeeded"], false);
    assert_eq!(entries[1]["succeeded"], true);
    assert!(entries[1]["apiKeyId"].is_string());
    assert!(entries[1]["requestId"].is_string());
    // The token itself is nowhere in the server's log.
    assert!(
        server
            .log_lines()
            .iter()
            .all(|line| !line.contains(&key[16..])),
        "the key's secret reached the log"
    );
}

#[tokio::test]
async fn browsers_get_cors_for_allowed_origins_only_and_security_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert(
        "ALLOWED_ORIGINS".into(),
        "https://app.example.com, https://www.example.com".into(),
    );
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/graphql", server.base_url),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com")
        .await
        .expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "bearer tokens need no credentials"
    );
    let refused = preflight("https://evil.example.net")
        .await
        .expect("preflight");
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "an origin not in ALLOWED_ORIGINS must not be allowed"
    );

    let answer = server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("Origin", "https://www.example.com")
        .json(&json!({"query": "{ apiVersion }"}))
        .send()
        .await
        .expect("POST");
    let headers = answer.headers().clone();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://www.example.com"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );
    let graphiql = reqwest::Client::new()
        .get(format!("{}/graphql", server.base_url))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GraphiQL");
    let policy = graphiql.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    // GraphiQL's scripts come from the binary (server/src/http/console.rs), no CDN.
    assert!(!policy.contains("unpkg"), "{policy}");
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
}

/// Seconds left in the current minute: the rate limit windows are calendar minutes.
fn seconds_left_in_minute() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    60 - now % 60
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rate_limit_per_key_holds_across_two_api_instances() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, dir.path());
    env.insert("ENTMOOT_RATE_LIMIT_PER_KEY".into(), "20".into());
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "0".into());
    assert!(
        run_entmoot(dir.path(), &env, &["migrate", "up"])
            .status
            .success()
    );
    let first = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("api 1");
    let second = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("api 2");
    let key = issue_key(dir.path(), &env, &["--name", "load", "--role", "viewer"]);
    // All 40 requests must fall in one window.
    if seconds_left_in_minute() < 15 {
        tokio::time::sleep(Duration::from_secs(seconds_left_in_minute() + 1)).await;
    }
    let mut requests = Vec::new();
    for index in 0..40 {
        let server = if index % 2 == 0 { &first } else { &second };
        let url = format!("{}/graphql", server.base_url);
        let key = key.clone();
        requests.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("Authorization", format!("Bearer {key}"))
                .json(&json!({"query": "{ apiVersion }"}))
                .send()
                .await
                .expect("POST")
        }));
    }
    let mut allowed = 0;
    let mut limited = 0;
    for request in requests {
        let response = request.await.expect("task");
        match response.status().as_u16() {
            200 => allowed += 1,
            429 => {
                limited += 1;
                let retry_after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .expect("retry-after")
                    .parse()
                    .expect("seconds");
                assert!((1..=60).contains(&retry_after));
                let body: Value = response.json().await.expect("json");
                assert_eq!(error_codes(&body["errors"]), ["LIMIT_EXCEEDED"]);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        (allowed, limited),
        (20, 20),
        "the two instances share one budget of 20"
    );
    // Another key has a budget of its own.
    let other = issue_key(dir.path(), &env, &["--name", "other", "--role", "viewer"]);
    let answer = post(&first, Some(&other), "{ apiVersion }", &json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

#[tokio::test]
async fn one_address_is_limited_even_without_a_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "5".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    if seconds_left_in_minute() < 10 {
        tokio::time::sleep(Duration::from_secs(seconds_left_in_minute() + 1)).await;
    }
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = reqwest::Client::new()
            .post(format!("{}/graphql", server.base_url))
            .json(&json!({"query": "{ apiVersion }"}))
            .send()
            .await
            .expect("POST");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
}
