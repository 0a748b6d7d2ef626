//! The web console (`web/`): the committed bundle is built from the current sources,
//! the binary serves it (SPA fallback, assets, config.json) and GraphiQL with no CDN,
//! CORS lets a console on another origin (a CDN) upload, and the whole planner flow
//! passes in Debian's chromium (`web/e2e/console_flow.mjs`, playwright-core) against
//! a fresh embedded server and against PostgreSQL + Redis with a separate worker.
//! `tests/run` installs chromium and the console's packages (`npm ci` in web/).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, TestWorker, embedded_env, graphql_with_token, production_like_env,
    repository_root, run_entmoot,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn web_dir() -> PathBuf {
    repository_root().join("web")
}

/// Every input of the bundle, as `web/scripts/source_hash.mjs` lists them (it says why
/// unit tests and src/gql are left out).
fn bundle_sources() -> Vec<String> {
    let web = web_dir();
    let mut files: Vec<String> = [
        "index.html",
        "graphiql.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
        "codegen.ts",
    ]
    .iter()
    .map(|name| (*name).to_owned())
    .collect();
    for tree in ["public", "src"] {
        collect(&web, &web.join(tree), &mut files);
    }
    // Generated from schema.graphql and src/operations.ts (hashed); see source_hash.mjs.
    files.retain(|path| !path.starts_with("src/gql/"));
    files.sort();
    files
}

fn collect(root: &Path, directory: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
    {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if !path.to_string_lossy().ends_with(".test.ts") {
            let relative = path.strip_prefix(root).expect("under web/");
            let parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push(parts.join("/"));
        }
    }
}

/// The same hash as `web/scripts/source_hash.mjs`.
fn source_hash() -> String {
    let mut hash = Sha256::new();
    for path in bundle_sources() {
        let bytes = std::fs::read(web_dir().join(&path)).expect("source file");
        hash.update(format!("{path}\n{}\n", bytes.len()).as_bytes());
        hash.update(&bytes);
        hash.update(b"\n");
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn the_committed_bundle_is_built_from_the_current_sources() {
    let recorded = std::fs::read_to_string(web_dir().join("dist.source-sha256"))
        .expect("web/dist.source-sha256 is missing: run `npm ci && npm run build` in web/");
    assert_eq!(
        recorded.trim(),
        source_hash(),
        "web/dist is stale: web/ changed since the bundle was built. Run `npm ci && npm run build` in web/ and commit web/dist and web/dist.source-sha256."
    );
    // Every file the pages name is in the bundle (the binary embeds web/dist).
    for page in ["index.html", "graphiql.html"] {
        let html = std::fs::read_to_string(web_dir().join("dist").join(page)).expect("page");
        for reference in html.split('"').filter(|part| part.starts_with("/assets/")) {
            assert!(
                web_dir().join("dist").join(&reference[1..]).is_file(),
                "web/dist/{page} names {reference}, which is not in web/dist"
            );
        }
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_console_and_graphiql_without_a_cdn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert(
        "ALLOWED_ORIGINS".into(),
        "https://console.example.com".into(),
    );
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let client = reqwest::Client::new();

    let index = client
        .get(format!("{}/", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let policy = header(&index, "content-security-policy");
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("worker-src 'self' blob:"), "{policy}");
    let page = index.text().await.unwrap();
    let script = page
        .split('"')
        .find(|part| part.starts_with("/assets/console-") && part.ends_with(".js"))
        .unwrap_or_else(|| panic!("no console script in {page}"))
        .to_owned();

    // The SPA's routes fall back to the same page; missing files do not.
    let route = client
        .get(format!("{}/jobs/SomeJobId", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(route.status(), 200);
    assert_eq!(route.text().await.unwrap(), page);
    let missing = client
        .get(format!("{}/assets/missing.js", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let asset = client
        .get(format!("{}{script}", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert!(header(&asset, "content-type").starts_with("text/javascript"));
    assert!(header(&asset, "cache-control").contains("immutable"));

    let config: Value = client
        .get(format!("{}/config.json", server.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["graphqlUrl"], "/graphql");

    // GraphiQL: its page and scripts from the binary, no CDN in its policy.
    let graphiql = client
        .get(format!("{}/graphql", server.base_url))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(graphiql.status(), 200);
    let graphiql_policy = header(&graphiql, "content-security-policy");
    assert!(!graphiql_policy.contains("unpkg"), "{graphiql_policy}");
    let graphiql_page = graphiql.text().await.unwrap();
    assert!(!graphiql_page.contains("unpkg.com"), "{graphiql_page}");
    let graphiql_script = graphiql_page
        .split('"')
        .find(|part| part.starts_with("/assets/graphiql-") && part.ends_with(".js"))
        .unwrap_or_else(|| panic!("no GraphiQL script in {graphiql_page}"))
        .to_owned();
    let graphiql_asset = client
        .get(format!("{}{graphiql_script}", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(graphiql_asset.status(), 200);

    // A console on a CDN origin may send the upload's preflight header.
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/graphql", server.base_url),
        )
        .header("Origin", "https://console.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,apollo-require-preflight",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        "https://console.example.com"
    );
    assert!(
        header(&preflight, "access-control-allow-headers")
            .to_ascii_lowercase()
            .contains("apollo-require-preflight")
    );
}

const EMAIL: &str = "planner@example.com";
const PASSWORD: &str = "correct horse battery staple";
const REVIEWER: &str = "reviewer@example.com";

/// A person with a password in the local organization (invited by the admin key), also
/// a viewer of a second organization (so the flow can switch), and a viewer beside
/// them whom the flow promotes and removes.
async fn create_planner(server: &TestServer, dir: &Path, env: &HashMap<String, String>) {
    for (email, role, name) in [
        (EMAIL, "ADMIN", "E2E Planner"),
        (REVIEWER, "VIEWER", "E2E Reviewer"),
    ] {
        let invited = server
            .graphql(
                "mutation($email: String!, $role: MemberRole!) { inviteMember(email: $email, role: $role) { token } }",
                json!({"email": email, "role": role}),
            )
            .await
            .expect("invite");
        let token = invited["data"]["inviteMember"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no invitation token: {invited}"))
            .to_owned();
        let accepted = server
            .graphql(
                "mutation($token: String!, $name: String!, $password: String!) { acceptInvitation(token: $token, displayName: $name, password: $password) { role token } }",
                json!({"token": token, "name": name, "password": PASSWORD}),
            )
            .await
            .expect("accept");
        assert_eq!(
            accepted["data"]["acceptInvitation"]["role"], role,
            "{accepted}"
        );
        if email == EMAIL {
            let session = accepted["data"]["acceptInvitation"]["token"]
                .as_str()
                .expect("a session")
                .to_owned();
            join_partner_organization(server, dir, env, &session).await;
        }
    }
}

/// Makes the planner (signed in with `session`) a viewer of "Partner Co" too.
async fn join_partner_organization(
    server: &TestServer,
    dir: &Path,
    env: &HashMap<String, String>,
    session: &str,
) {
    let created = run_entmoot(
        dir,
        env,
        &[
            "admin",
            "organizations",
            "create",
            "--name",
            "Partner Co",
            "--slug",
            "partner",
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
            "partner",
            "--name",
            "partner admin",
            "--role",
            "admin",
            "--json",
        ],
    );
    assert!(issued.status.success(), "{issued:?}");
    let issued: Value = serde_json::from_slice(&issued.stdout).expect("key json");
    let partner_key = issued["token"].as_str().expect("token");
    let invited = graphql_with_token(
        server,
        Some(partner_key),
        "mutation($email: String!) { inviteMember(email: $email, role: VIEWER) { token } }",
        json!({"email": EMAIL}),
    )
    .await;
    let token = invited["data"]["inviteMember"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no invitation token: {invited}"));
    let joined = graphql_with_token(
        server,
        Some(session),
        "mutation($token: String!) { acceptInvitation(token: $token) { role } }",
        json!({"token": token}),
    )
    .await;
    assert_eq!(
        joined["data"]["acceptInvitation"]["role"], "VIEWER",
        "{joined}"
    );
}

/// Longer than the script's own deadline (400 s), so its message is what is reported.
const FLOW_DEADLINE: Duration = Duration::from_secs(480);

fn run_flow(base_url: &str, api_key: &str, screenshots: &Path) -> (bool, String) {
    let web = web_dir();
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules is missing: tests/run installs it (npm ci in web/)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: tests/run installs Debian's chromium"
    );
    // The terrain the flow uploads: flat in the west, an 8 % climb in the east (two
    // slope classes, nothing too steep to build on).
    let (dem, _) = entmoot_plugin_sdk::fixtures::rural_demo_dem(|x, _| {
        if x < 215.0 { 0.0 } else { 0.08 * (x - 215.0) }
    });
    let dem_path = screenshots.join("rural_demo_dem.tif");
    std::fs::write(&dem_path, dem).expect("write the DEM");
    let mut child = Command::new("node")
        .arg("e2e/console_flow.mjs")
        .current_dir(&web)
        .env("ENTMOOT_URL", base_url)
        .env("ENTMOOT_API_KEY", api_key)
        .env("ENTMOOT_EMAIL", EMAIL)
        .env("ENTMOOT_REVIEWER_EMAIL", REVIEWER)
        .env("ENTMOOT_PASSWORD", PASSWORD)
        .env("ENTMOOT_SCREENSHOTS", screenshots)
        .env("ENTMOOT_DEM", &dem_path)
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("running node failed ({error}): tests/run installs Node.js")
        });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break status;
        }
        if started.elapsed() > FLOW_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break child.wait().expect("killed node");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (status.success(), output)
}

async fn flow_against(server: &TestServer, dir: &Path, env: &HashMap<String, String>, label: &str) {
    create_planner(server, dir, env).await;
    let screenshots = std::env::temp_dir().join(format!(
        "entmoot-console-{label}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");
    // Printed so a person can look at every screen (cargo test shows it with --nocapture).
    println!("console screenshots: {}", screenshots.display());
    let (base_url, api_key, folder) = (
        server.base_url.clone(),
        server.api_key.clone(),
        screenshots.clone(),
    );
    let (passed, output) =
        tokio::task::spawn_blocking(move || run_flow(&base_url, &api_key, &folder))
            .await
            .expect("flow runner");
    let log = server.log_lines();
    assert!(
        passed,
        "the console flow failed (screenshots in {}):\n{output}\n--- server log (last 40 lines) ---\n{}",
        screenshots.display(),
        log[log.len().saturating_sub(40)..].join("\n")
    );
    println!("{output}");
    for screen in [
        "01-sign-in",
        "03-upload",
        "05-results",
        "06-editor-violation",
        "08-reoptimized",
        "10-graphiql",
    ] {
        assert!(
            screenshots.join(format!("{screen}.png")).is_file(),
            "no screenshot {screen}.png in {}",
            screenshots.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planner_goes_from_parcel_to_downloads_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = embedded_env(dir.path());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    flow_against(&server, dir.path(), &env, "embedded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_runs_on_postgres_and_redis_with_a_separate_worker() {
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let env: HashMap<String, String> = production_like_env(&database.url, dir.path());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let server = TestServer::start_with_args(dir.path(), &env, &["--no-worker"])
        .await
        .expect("serve");
    let _worker = TestWorker::start(dir.path(), &env).expect("worker");
    flow_against(&server, dir.path(), &env, "postgres").await;
}
