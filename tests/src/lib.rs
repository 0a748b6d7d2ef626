//! Harness for black-box tests: runs the real `entmoot` binary as a child process on
//! a free port, against a fresh SQLite data directory or a fresh PostgreSQL database
//! and the local Redis, and talks to it over HTTP like any client.
//!
//! Services come from `tests/run`; a test that needs PostgreSQL or Redis fails (it
//! never skips) when they are unreachable.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// A 32+ character key for servers that are not the embedded default.
pub const TEST_SECRET_KEY: &str = "entmoot-test-secret-key-0123456789abcdef";

/// The repository root (this crate lives in `tests/`).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn fixture(relative: &str) -> PathBuf {
    repository_root().join("tests/fixtures").join(relative)
}

/// The `entmoot` binary of this build: `ENTMOOT_BIN`, or `target/<profile>/entmoot`
/// next to this test executable's `deps/` directory.
pub fn entmoot_binary() -> PathBuf {
    if let Ok(path) = std::env::var("ENTMOOT_BIN") {
        return PathBuf::from(path);
    }
    let test_executable = std::env::current_exe().expect("current exe");
    let profile_dir = test_executable
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let binary = profile_dir.join("entmoot");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --workspace` first (tests/run does)",
        binary.display()
    );
    binary
}

pub fn postgres_admin_url() -> String {
    std::env::var("ENTMOOT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("ENTMOOT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Variables the tests control; anything else from the developer's environment that
/// could change the backend is removed.
const CONTROLLED: &[&str] = &[
    "DATABASE_URL",
    "REDIS_URL",
    "STORAGE_PROVIDER",
    "API_HOST",
    "API_PORT",
    "SECRET_KEY",
    "ENTMOOT_DATA_DIR",
    "ENTMOOT_PLUGIN_DIR",
    "LOG_FORMAT",
    "ENTMOOT_REDIS_PREFIX",
    "RUST_LOG",
];

/// A command for the binary with a clean, explicit configuration.
pub fn entmoot_command(working_dir: &Path, env: &HashMap<String, String>) -> Command {
    let mut command = Command::new(entmoot_binary());
    command.current_dir(working_dir);
    for variable in CONTROLLED {
        command.env_remove(variable);
    }
    command.envs(env);
    command
}

pub fn run_entmoot(working_dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> Output {
    entmoot_command(working_dir, env)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running entmoot")
}

/// A fresh PostgreSQL database, dropped when this value is dropped.
pub struct FreshPostgres {
    pub url: String,
    name: String,
}

impl FreshPostgres {
    pub async fn create() -> anyhow::Result<Self> {
        let admin = postgres_admin_url();
        let url = entmoot_migrations::create_fresh_postgres_database(&admin)
            .await
            .with_context(|| format!("creating a test database through {admin}"))?;
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        Ok(Self { url, name })
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        let admin = postgres_admin_url();
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee; use a small one of our own.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = runtime.block_on(entmoot_migrations::drop_database(&admin, &name));
            }
        })
        .join();
    }
}

/// A running `entmoot serve`, killed when dropped.
pub struct TestServer {
    pub base_url: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    pub client: reqwest::Client,
}

impl TestServer {
    /// Starts `entmoot serve` in `working_dir` with `env` and waits until it listens.
    pub async fn start(working_dir: &Path, env: &HashMap<String, String>) -> anyhow::Result<Self> {
        Self::start_with_args(working_dir, env, &[]).await
    }

    /// Starts `entmoot serve ARGS…`.
    pub async fn start_with_args(
        working_dir: &Path,
        env: &HashMap<String, String>,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let mut env = env.clone();
        env.entry("API_PORT".into()).or_insert_with(|| "0".into());
        let mut child = entmoot_command(working_dir, &env)
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning entmoot serve")?;
        let stderr = child.stderr.take().context("stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let log_writer = log.clone();
        std::thread::spawn(move || {
            let mut sender = Some(address_sender);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(start) = line.find("listening on http://") {
                    let address: String = line[start + "listening on ".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    if let Some(sender) = sender.take() {
                        let _ = sender.send(address);
                    }
                }
                log_writer.lock().expect("log lock").push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let base_url = loop {
            if let Ok(address) = address_receiver.recv_timeout(Duration::from_millis(100)) {
                break address;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "entmoot serve exited with {status} before listening:\n{}",
                    log.lock().expect("log lock").join("\n")
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("entmoot serve did not listen within 60 s");
            }
        };
        Ok(Self {
            base_url,
            child,
            log,
            client: reqwest::Client::new(),
        })
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Sends a GraphQL request and returns the whole response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        let body: Value = response.json().await?;
        Ok(body)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await?)
    }

    /// Stops the server the way an operator would (SIGTERM) and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        terminate(&mut self.child)
    }
}

fn terminate(child: &mut Child) -> anyhow::Result<()> {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill()?;
    child.wait()?;
    bail!("entmoot did not stop within 20 s of SIGTERM")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment for a server on PostgreSQL (`database_url`) and the local Redis.
pub fn production_like_env(database_url: &str, data_dir: &Path) -> HashMap<String, String> {
    HashMap::from([
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("REDIS_URL".to_owned(), redis_url()),
        // A prefix of its own, so parallel tests sharing the local Redis never see
        // each other's jobs and events.
        (
            "ENTMOOT_REDIS_PREFIX".to_owned(),
            format!("entmoot-test-{}", uuid::Uuid::new_v4().simple()),
        ),
        ("SECRET_KEY".to_owned(), TEST_SECRET_KEY.to_owned()),
        (
            "ENTMOOT_DATA_DIR".to_owned(),
            data_dir.display().to_string(),
        ),
    ])
}

pub fn embedded_env(data_dir: &Path) -> HashMap<String, String> {
    HashMap::from([(
        "ENTMOOT_DATA_DIR".to_owned(),
        data_dir.display().to_string(),
    )])
}

/// A running `entmoot worker`, killed when dropped.
pub struct TestWorker {
    child: Child,
}

impl TestWorker {
    pub fn start(working_dir: &Path, env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let child = entmoot_command(working_dir, env)
            .arg("worker")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning entmoot worker")?;
        Ok(Self { child })
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rural demo parcel (tests/fixtures/rural_demo.kml) as a GeoJSON Polygon.
pub fn rural_demo_boundary() -> Value {
    json!({
        "type": "Polygon",
        "coordinates": [[
            [-103.4020, 39.3500], [-103.3970, 39.3500], [-103.3970, 39.3540],
            [-103.4020, 39.3540], [-103.4020, 39.3500]
        ]]
    })
}

/// Reads a JSON fixture.
pub fn json_fixture(relative: &str) -> Value {
    let text = std::fs::read_to_string(fixture(relative)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}
