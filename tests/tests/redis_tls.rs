//! Encryption in transit to Redis: a `rediss://` REDIS_URL verified against the CA in
//! REDIS_SSL_CERTFILE. A local `redis-server` listens only on TLS, with a certificate signed
//! by a CA made here with `openssl`; a job runs through it end to end. Without the CA file
//! the same server is refused (its certificate is not from a system root), and the CA file
//! with a clear-text `redis://` URL is a configuration error.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entmoot_tests::{
    FreshPostgres, TestServer, create_project, create_site, first_layout_when_succeeded,
    production_like_env, run_entmoot, rural_demo_boundary, submit_three_buildings,
};

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (tests/run needs it too)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA (`ca.pem`) and a certificate for localhost and 127.0.0.1 signed by it
/// (`server.pem`, `server.key`).
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Entmoot test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ],
    );
}

/// `redis-server` listening only on TLS (no clear-text port), killed on drop.
struct TlsRedis {
    port: u16,
    child: Child,
}

impl TlsRedis {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = |name: &str| dir.join(name).display().to_string();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--tls-cert-file", &file("server.pem")])
            .args(["--tls-key-file", &file("server.key")])
            .args(["--tls-ca-cert-file", &file("ca.pem")])
            .args(["--tls-auth-clients", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (tests/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on TLS port {port}: is it built with TLS?"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child }
    }

    /// `redis-cli` over TLS, trusting the test CA.
    fn cli(&self, dir: &Path, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["--tls", "--cacert"])
            .arg(dir.join("ca.pem"))
            .args(["-h", "localhost", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_through_a_redis_that_speaks_only_tls_verified_by_a_private_ca() {
    let certificates = tempfile::tempdir().expect("tempdir");
    make_certificates(certificates.path());
    let redis = TlsRedis::start(certificates.path());
    let database = FreshPostgres::create()
        .await
        .expect("PostgreSQL must be reachable");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = production_like_env(&database.url, dir.path());
    let url = format!("rediss://localhost:{}", redis.port);
    env.insert("REDIS_URL".into(), url.clone());
    let migrated = run_entmoot(dir.path(), &env, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    // The system's roots do not know the test CA: the connection is refused, not trusted.
    let refused = run_entmoot(dir.path(), &env, &["serve"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("REDIS_URL rediss://localhost") && stderr.contains("cannot connect"),
        "{stderr}"
    );

    // REDIS_SSL_CERTFILE with a clear-text URL is a mistake the operator hears about.
    let mut clear_text = env.clone();
    clear_text.insert(
        "REDIS_URL".into(),
        format!("redis://localhost:{}", redis.port),
    );
    clear_text.insert(
        "REDIS_SSL_CERTFILE".into(),
        certificates.path().join("ca.pem").display().to_string(),
    );
    let misconfigured = run_entmoot(dir.path(), &clear_text, &["serve"]);
    assert!(!misconfigured.status.success());
    let stderr = String::from_utf8_lossy(&misconfigured.stderr);
    assert!(
        stderr.contains("REDIS_SSL_CERTFILE") && stderr.contains("rediss://"),
        "{stderr}"
    );

    // With the CA, everything that goes through Redis works: dispatch, events, sessions.
    env.insert(
        "REDIS_SSL_CERTFILE".into(),
        certificates.path().join("ca.pem").display().to_string(),
    );
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let project = create_project(&server, "Encrypted").await;
    let site = create_site(&server, &project, "Site", rural_demo_boundary()).await;
    let job = submit_three_buildings(&server, &site).await;
    let layout = first_layout_when_succeeded(&server, &job).await;
    assert!(layout["id"].is_string(), "{layout}");
    // The job went through this Redis: its stream (entries are deleted once acknowledged)
    // and consumer group are there.
    let prefix = &env["ENTMOOT_REDIS_PREFIX"];
    let keys = redis.cli(certificates.path(), &["KEYS", &format!("{prefix}:*")]);
    assert!(
        keys.lines()
            .any(|key| key.trim() == format!("{prefix}:jobs")),
        "keys on the TLS Redis: {keys}"
    );
}
