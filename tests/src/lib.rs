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

pub mod gis;
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
    configure(&mut command, working_dir, env);
    command
}

/// `entmoot_command` as a user who is not root: as `nobody` (uid and gid 65534, through
/// util-linux's `setpriv`) when the tests run as root, as the tests' own user otherwise.
/// `working_dir` must be writable by that user.
pub fn entmoot_command_not_root(working_dir: &Path, env: &HashMap<String, String>) -> Command {
    let mut command = if running_as_root() {
        let mut setpriv = Command::new("setpriv");
        setpriv
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(entmoot_binary());
        setpriv
    } else {
        Command::new(entmoot_binary())
    };
    configure(&mut command, working_dir, env);
    command
}

/// Whether the tests run as root (the owner of `/proc/self` is the effective user).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

fn configure(command: &mut Command, working_dir: &Path, env: &HashMap<String, String>) {
    command.current_dir(working_dir);
    for variable in CONTROLLED {
        command.env_remove(variable);
    }
    command.envs(env);
}

pub fn run_entmoot(working_dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> Output {
    entmoot_command(working_dir, env)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running entmoot")
}

/// `entmoot admin users create`: a person of the local organization with `role`
/// (viewer, editor or admin) and no password. The caller checks the outcome.
pub fn create_user(
    working_dir: &Path,
    env: &HashMap<String, String>,
    email: &str,
    name: &str,
    role: &str,
) -> Output {
    run_entmoot(
        working_dir,
        env,
        &[
            "admin", "users", "create", "--email", email, "--name", name, "--role", role,
        ],
    )
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
    /// Sends the admin key of the local organization with every request.
    pub client: reqwest::Client,
    /// The admin key of the local organization issued for this server.
    pub api_key: String,
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
        // Every GraphQL request needs a key: issue an admin key of the local
        // organization the way an operator would, and send it with every request.
        let issued = run_entmoot(
            working_dir,
            &env,
            &[
                "admin", "keys", "create", "--name", "tests", "--role", "admin", "--json",
            ],
        );
        if !issued.status.success() {
            let _ = child.kill();
            bail!(
                "entmoot admin keys create failed:\n{}",
                String::from_utf8_lossy(&issued.stderr)
            );
        }
        let issued: Value = serde_json::from_slice(&issued.stdout)
            .context("entmoot admin keys create --json printed no JSON")?;
        let api_key = issued["token"]
            .as_str()
            .context("no token in the issued key")?
            .to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {api_key}").parse()?,
        );
        Ok(Self {
            base_url,
            child,
            log,
            // Idle connections are dropped before actix's 5 s keep-alive closes them, so a
            // request after a pause never races the server's close of the connection.
            client: reqwest::Client::builder()
                .default_headers(headers)
                .pool_idle_timeout(Duration::from_secs(3))
                .build()?,
            api_key,
        })
    }

    /// The process id of the server, e.g. to read its memory from /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
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
    log_path: PathBuf,
}

impl TestWorker {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the worker gets no chance to hand anything back.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Sends SIGTERM (the worker stops taking work, waits its grace period, hands back
    /// what still runs) without waiting for it to exit.
    pub fn signal_terminate(&self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {} failed", self.child.id());
        Ok(())
    }

    /// Whether the process has exited (reaping it if so).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// What the worker logged so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn start(working_dir: &Path, env: &HashMap<String, String>) -> anyhow::Result<Self> {
        // Each worker logs to its own file in the working directory, for diagnosis.
        let log_path = working_dir.join(format!(
            "worker-{}.log",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let child = entmoot_command(working_dir, env)
            .arg("worker")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning entmoot worker")?;
        Ok(Self { child, log_path })
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

const MULTIPART_BOUNDARY: &str = "entmoot-test-boundary-7d2f";
/// The Content-Type of `graphql_multipart_body`.
pub const MULTIPART_CONTENT_TYPE: &str = "multipart/form-data; boundary=entmoot-test-boundary-7d2f";

/// A GraphQL multipart request body (graphql-multipart-request-spec) carrying one file
/// as the variable `file_variable` (which `variables` holds as null).
pub fn graphql_multipart_body(
    query: &str,
    variables: Value,
    file_variable: &str,
    file_name: &str,
    file: &[u8],
) -> Vec<u8> {
    let operations = json!({"query": query, "variables": variables});
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        (
            "map",
            json!({"0": [format!("variables.{file_variable}")]}).to_string(),
        ),
    ] {
        body.extend_from_slice(
            format!(
                "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
    body
}

/// Reads a JSON fixture.
pub fn json_fixture(relative: &str) -> Value {
    let text = std::fs::read_to_string(fixture(relative)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A GraphQL subscription over websocket (`graphql-transport-ws`): every `next`
/// payload arrives on the returned channel; the connection closes when it is dropped.
pub async fn subscribe(
    server: &TestServer,
    query: &str,
    variables: Value,
) -> anyhow::Result<tokio::sync::mpsc::UnboundedReceiver<Value>> {
    subscribe_with_token(&server.base_url, Some(&server.api_key), query, variables).await
}

/// A websocket client connected to the server's /graphql.
pub type GraphqlSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a `graphql-transport-ws` socket on `base_url`'s /graphql (nothing sent yet).
pub async fn connect_graphql_socket(base_url: &str) -> anyhow::Result<GraphqlSocket> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let url = format!("{}/graphql", base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// `subscribe`, sending `token` (if any) in the `connection_init` payload.
pub async fn subscribe_with_token(
    base_url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<tokio::sync::mpsc::UnboundedReceiver<Value>> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let mut socket = connect_graphql_socket(base_url).await?;
    socket
        .send(Message::text(
            json!({
                "type": "connection_init",
                "payload": token.map_or(json!({}), |token| json!({"Authorization": format!("Bearer {token}")})),
            })
            .to_string(),
        ))
        .await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text)?;
                if message["type"] == "connection_ack" {
                    break;
                }
                bail!("expected connection_ack, got {message}");
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => bail!("the server closed the websocket before connection_ack"),
        }
    }
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}).to_string(),
        ))
        .await?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            match message["type"].as_str() {
                Some("next") if sender.send(message["payload"].clone()).is_err() => break,
                Some("next") => {}
                Some("ping") => {
                    let _ = socket
                        .send(Message::text(json!({"type": "pong"}).to_string()))
                        .await;
                }
                Some("complete") | Some("error") => {
                    let _ = sender.send(message);
                    break;
                }
                _ => {}
            }
        }
    });
    Ok(receiver)
}

/// A private `redis-server` on a free port, for tests that restart Redis.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut redis = Self { port, child: None };
        redis.spawn()?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server (tests/run installs it)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                bail!("redis-server did not listen on {} within 10 s", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Kills Redis (SIGKILL, nothing persisted) and starts it again on the same port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        self.spawn()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `redis-cli -u URL ARGS…` and returns its output (the redis-server package that
/// tests/run installs brings redis-cli).
pub fn redis_cli(url: &str, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .arg("-u")
        .arg(url)
        .args(args)
        .output()
        .expect("redis-cli is runnable (tests/run installs redis-server, which brings it)");
    assert!(
        output.status.success(),
        "redis-cli {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The process ids whose parent is `parent` (from /proc), e.g. a worker's plugin runners.
pub fn child_pids(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                // `pid (comm) state ppid …`; comm may hold spaces, so read after ')'.
                .and_then(|stat| {
                    stat.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                })
                == Some(parent)
        })
        .collect()
}

/// The Relay global id the API gives an object (`base64url("Type:uuid")`).
pub fn global_id(type_name: &str, uuid: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{uuid}"))
}

/// A minimal SMTP server on a free port that keeps every message it is given (what
/// lettre needs: EHLO, MAIL, RCPT, DATA, QUIT; no TLS on loopback).
pub async fn smtp_listener() -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                write.write_all(b"220 localhost ESMTP test\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    let command = line.to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO")
                    {
                        b"250 localhost\r\n"
                    } else if command.starts_with("DATA") {
                        write.write_all(b"354 end with .\r\n").await.ok();
                        let mut message = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            message.push_str(&line);
                            message.push('\n');
                        }
                        kept.lock().expect("messages lock").push(message);
                        b"250 queued\r\n"
                    } else if command.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, messages)
}

/// The `index`th message the listener received, waiting up to 10 s for it.
pub async fn next_message(messages: &Arc<Mutex<Vec<String>>>, index: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(message) = messages.lock().expect("messages lock").get(index) {
            return message.clone();
        }
        assert!(Instant::now() < deadline, "no e-mail arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a GraphQL request that must succeed and returns its `data`. A transport failure
/// or any entry in `errors` fails the test with the whole response and the server's last
/// log lines.
pub async fn graphql_ok(server: &TestServer, query: &str, variables: Value) -> Value {
    let body = server
        .graphql(query, variables)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "GraphQL request failed: {error:?}\nserver log (last 40 lines):\n{}",
                server_log_tail(server, 40)
            )
        });
    assert!(
        body.get("errors").is_none(),
        "{body}\nserver log (last 40 lines):\n{}",
        server_log_tail(server, 40)
    );
    body["data"].clone()
}

/// A GraphQL POST sent with `token` as its bearer (or none), whatever the answer's status;
/// returns its body.
pub async fn graphql_with_token(
    server: &TestServer,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("POST /graphql");
    response.json().await.expect("a JSON body")
}

/// A GraphQL multipart request (one file, in the variable `file`) with the preflight
/// header the API asks of uploads; returns the response's body, whatever its status.
pub async fn graphql_upload(
    server: &TestServer,
    query: &str,
    variables: Value,
    filename: &str,
    bytes: &[u8],
) -> Value {
    server
        .client
        .post(format!("{}/graphql", server.base_url))
        .header("Content-Type", MULTIPART_CONTENT_TYPE)
        .header("Apollo-Require-Preflight", "true")
        .body(graphql_multipart_body(
            query, variables, "file", filename, bytes,
        ))
        .send()
        .await
        .expect("the upload request")
        .json()
        .await
        .expect("a JSON body")
}

/// The `data` of a response that must have no `errors`.
pub fn data_of(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// The `extensions.code` of a response's first error, or `<none>`.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

/// A variable that `tests/run` sets (the services and emulators it started); a test that
/// needs one fails, never skips, when it is missing.
pub fn required_env(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run the tests through tests/run, which starts the services and emulators")
    })
}

fn server_log_tail(server: &TestServer, lines: usize) -> String {
    let log = server.log_lines();
    log[log.len().saturating_sub(lines)..].join("\n")
}

/// Creates a project through GraphQL as the server's admin key; returns its id.
pub async fn create_project(server: &TestServer, name: &str) -> String {
    let body = server
        .graphql(
            "mutation($name: String!) { createProject(input: {name: $name}) { id } }",
            json!({"name": name}),
        )
        .await
        .expect("createProject");
    body["data"]["createProject"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createProject: {body}"))
        .to_owned()
}

/// Creates a site of `project` with `boundary` (GeoJSON); returns its id.
pub async fn create_site(
    server: &TestServer,
    project: &str,
    name: &str,
    boundary: Value,
) -> String {
    let body = server
        .graphql(
            "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
            json!({"input": {"projectId": project, "name": name, "boundary": boundary}}),
        )
        .await
        .expect("createSite");
    body["data"]["createSite"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createSite: {body}"))
        .to_owned()
}

/// Submits the three-building program (tests/fixtures/programs/three_buildings_ft.json)
/// for `site`; returns the job id.
pub async fn submit_three_buildings(server: &TestServer, site: &str) -> String {
    let body = server
        .graphql(
            "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            json!({"input": {"siteId": site, "program": json_fixture("programs/three_buildings_ft.json")}}),
        )
        .await
        .expect("createJob");
    body["data"]["createJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createJob: {body}"))
        .to_owned()
}

/// Waits up to 60 s for `job` to succeed; returns its first layout (`id`, `geojson`).
pub async fn first_layout_when_succeeded(server: &TestServer, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = server
            .graphql(
                "query($id: ID!) { job(id: $id) { status layouts { id geojson } } }",
                json!({"id": job}),
            )
            .await
            .expect("job");
        if answer["data"]["job"]["status"] == "SUCCEEDED" {
            return answer["data"]["job"]["layouts"][0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the job did not succeed within 60 s: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each asset's centre `[lon, lat]`, from the layout's GeoJSON.
pub fn asset_centres(geojson: &Value) -> HashMap<String, [f64; 2]> {
    geojson["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|feature| feature["properties"]["kind"] == "asset")
        .map(|feature| {
            let ring = feature["geometry"]["coordinates"][0]
                .as_array()
                .expect("ring");
            // The closing point repeats the first; the other four are the corners.
            let corners = &ring[..ring.len() - 1];
            let sum = corners.iter().fold([0.0, 0.0], |sum, point| {
                [
                    sum[0] + point[0].as_f64().expect("lon"),
                    sum[1] + point[1].as_f64().expect("lat"),
                ]
            });
            let count = corners.len() as f64;
            (
                feature["properties"]["asset_id"]
                    .as_str()
                    .expect("asset_id")
                    .to_owned(),
                [sum[0] / count, sum[1] / count],
            )
        })
        .collect()
}
