//! Hostile GraphQL documents sent without a token: fragment fan-out (25 levels of
//! three spreads each), a long chain of fragments, deep nesting, wide and aliased
//! selections, repeats hidden in inline fragments, and tokens hidden behind a comment
//! ended by a lone `\r`. They are sent `API_WORKERS + 2` at once, each kind three
//! times over; every one is refused with LIMIT_EXCEEDED (or a parse error) within
//! seconds, and `/health/live` keeps answering (p99 under 100 ms) meanwhile.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use entmoot_tests::{TestServer, embedded_env};
use serde_json::{Value, json};

const API_WORKERS: usize = 2;
/// Each kind of document is sent this many times over, `API_WORKERS + 2` at once.
const ROUNDS: usize = 3;

/// `(name, document, whether it must be LIMIT_EXCEEDED rather than any request error)`.
fn nasty_documents() -> Vec<(&'static str, String, bool)> {
    let mut fan_out = String::from("query { ...F0 }\n");
    for level in 0..25 {
        let next = level + 1;
        fan_out.push_str(&format!(
            "fragment F{level} on Query {{ ...F{next} ...F{next} ...F{next} }}\n"
        ));
    }
    fan_out.push_str("fragment F25 on Query { __typename }\n");

    let mut fan_out_inline = String::from("query { ...G0 }\n");
    for level in 0..25 {
        let next = level + 1;
        fan_out_inline.push_str(&format!(
            "fragment G{level} on Query {{ ... on Query {{ ...G{next} }} ... {{ ...G{next} }} ...G{next} }}\n"
        ));
    }
    fan_out_inline.push_str("fragment G25 on Query { a: __typename }\n");

    let mut chain = String::from("query { ...C0 }\n");
    for level in 0..150 {
        chain.push_str(&format!(
            "fragment C{level} on Query {{ ...C{} }}\n",
            level + 1
        ));
    }
    chain.push_str("fragment C150 on Query { __typename }\n");

    let deep = format!("query {}{}", "{ viewer ".repeat(300), "}".repeat(301));
    let wide = format!("query {{ {} }}", "__typename ".repeat(900));
    let aliases: String = (0..400).map(|i| format!("a{i}: __typename ")).collect();
    let inline_repeats = format!("query {{ {} }}", "... on Query { __typename } ".repeat(150));
    let comment_trick = format!(
        "query {{ __typename #\r{}\n }}",
        "__typename ".repeat(2_400)
    );
    vec![
        ("fan-out", fan_out, true),
        ("fan-out through inline fragments", fan_out_inline, true),
        ("chain of fragments", chain, false),
        ("deep", deep, false),
        ("wide", wide, true),
        ("aliases", format!("query {{ {aliases} }}"), true),
        ("repeats in inline fragments", inline_repeats, true),
        ("comment ended by \\r", comment_trick, true),
    ]
}

fn percentile(latencies: &mut [Duration], fraction: f64) -> Duration {
    latencies.sort();
    let index = ((latencies.len() as f64 * fraction).ceil() as usize).saturating_sub(1);
    latencies[index.min(latencies.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nasty_documents_are_refused_at_once_and_liveness_keeps_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = embedded_env(dir.path());
    env.insert("API_WORKERS".into(), API_WORKERS.to_string());
    // Many requests from one address: the address limit is not what is tested here.
    env.insert("ENTMOOT_RATE_LIMIT_PER_ADDRESS".into(), "0".into());
    let server = TestServer::start(dir.path(), &env).await.expect("serve");
    let anonymous = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let probing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let prober = {
        let probing = probing.clone();
        let url = format!("{}/health/live", server.base_url);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while probing.load(std::sync::atomic::Ordering::SeqCst) || latencies.len() < 200 {
                let started = Instant::now();
                let answered = client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|response| response.status().is_success());
                // No answer within the client's 2 s counts as 2 s.
                latencies.push(if answered {
                    started.elapsed()
                } else {
                    Duration::from_secs(2)
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            latencies
        })
    };

    let documents = nasty_documents();
    let sequence: Vec<_> = (0..ROUNDS).flat_map(|_| documents.iter()).collect();
    for (wave, batch) in sequence.chunks(API_WORKERS + 2).enumerate() {
        let mut requests = Vec::new();
        for (name, document, limit_code) in batch {
            {
                let client = anonymous.clone();
                let url = format!("{}/graphql", server.base_url);
                let document = document.clone();
                let name = *name;
                let limit_code = *limit_code;
                requests.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let body: Value = client
                        .post(url)
                        .json(&json!({"query": document}))
                        .send()
                        .await
                        .unwrap_or_else(|error| panic!("{name}: no answer: {error}"))
                        .json()
                        .await
                        .expect("JSON body");
                    (name, limit_code, started.elapsed(), body)
                }));
            }
        }
        for request in requests {
            let (name, limit_code, elapsed, body) = request.await.expect("request task");
            assert!(
                body.get("data").is_none_or(Value::is_null),
                "wave {wave}, {name}: the document ran: {body}"
            );
            let error = &body["errors"][0];
            assert!(error.is_object(), "wave {wave}, {name}: no error: {body}");
            if limit_code {
                assert_eq!(
                    error["extensions"]["code"], "LIMIT_EXCEEDED",
                    "wave {wave}, {name}: {body}"
                );
            }
            assert!(
                elapsed < Duration::from_secs(3),
                "wave {wave}, {name}: refused only after {elapsed:?}"
            );
        }
    }
    probing.store(false, std::sync::atomic::Ordering::SeqCst);
    let mut latencies = prober.await.expect("prober");
    let p99 = percentile(&mut latencies, 0.99);
    assert!(
        p99 < Duration::from_millis(100),
        "/health/live p99 was {p99:?} over {} probes while hostile documents ran",
        latencies.len()
    );

    // The server still does real work afterwards.
    let body = server
        .graphql("{ apiVersion }", json!({}))
        .await
        .expect("apiVersion");
    assert!(body["data"]["apiVersion"].is_string(), "{body}");
}
