//! Prometheus: promtool accepts deploy/prometheus (configuration and rules), and every
//! metric that alerts.yml and the Grafana dashboards use from Entmoot appears on a
//! running server's /metrics after a short workload (a project, a site, a job run to
//! completion by the in-process worker, a few requests).
//!
//! promtool comes from Debian's `prometheus` package, which tests/run installs; the
//! test fails when it is missing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use entmoot_tests::{
    TestServer, embedded_env, graphql_ok, json_fixture, repository_root, rural_demo_boundary,
};
use serde_json::{Value, json};

/// Names Prometheus makes up itself, never exported by a target.
const SYNTHETIC: &[&str] = &["up"];
/// Prefixes of exporter metrics (postgres_exporter, redis_exporter, node_exporter):
/// the dashboards show them, Entmoot does not export them.
const EXPORTER_PREFIXES: &[&str] = &["pg_", "redis_", "node_"];

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(repository_root())
        .output()
        .unwrap_or_else(|error| {
            panic!("promtool is not runnable ({error}); install Debian's prometheus package (tests/run does)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_prometheus_configuration_and_rules() {
    let text = promtool(&["check", "config", "deploy/prometheus/prometheus.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
    let text = promtool(&[
        "check",
        "rules",
        "deploy/prometheus/alerts.yml",
        "deploy/prometheus/alerts-exporters.yml",
    ]);
    assert!(text.contains("SUCCESS"), "{text}");
}

/// PromQL words that are not metric names: keywords, and the aggregation operators
/// (which may be followed by `by (…)` rather than directly by their parenthesis).
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    "e",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// The metric names an expression reads: identifiers that are not functions,
/// aggregation clauses, keywords, label names or label values.
fn metric_names(expression: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expression.chars().collect();
    let mut index = 0;
    // Depth of `{…}` (label matchers) and `[…]` (ranges): nothing in them is a metric.
    let mut braces = 0;
    let mut brackets = 0;
    // After by/without/on/ignoring/group_*: the next (…) lists label names.
    let mut label_list_next = false;
    let mut in_label_list = false;
    while index < chars.len() {
        let c = chars[index];
        match c {
            '"' | '\'' | '`' => {
                index += 1;
                while index < chars.len() && chars[index] != c {
                    if chars[index] == '\\' {
                        index += 1;
                    }
                    index += 1;
                }
                index += 1;
                continue;
            }
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            '(' if label_list_next => {
                in_label_list = true;
                label_list_next = false;
            }
            ')' if in_label_list => in_label_list = false,
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = index;
            while index < chars.len()
                && (chars[index].is_ascii_alphanumeric()
                    || chars[index] == '_'
                    || chars[index] == ':')
            {
                index += 1;
            }
            let word: String = chars[start..index].iter().collect();
            let next = chars[index..].iter().find(|c| !c.is_whitespace());
            let preceded_by_digit = start > 0 && chars[start - 1].is_ascii_digit();
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word.as_str())
            {
                label_list_next = true;
            } else if braces == 0
                && brackets == 0
                && !in_label_list
                && !preceded_by_digit
                && next != Some(&'(')
                && !KEYWORDS.contains(&word.as_str())
            {
                names.insert(word);
            }
            continue;
        }
        index += 1;
    }
    names
}

#[test]
fn metric_names_are_read_from_expressions() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (le, job) (rate(http_request_duration_seconds_bucket{route!="x"}[5m]))) > 0.5 and on(instance) up{job=~"a.*"} == 0 or foo_total offset 5m"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["foo_total", "http_request_duration_seconds_bucket", "up"]
    );
}

fn read_yaml(relative: &str) -> serde_yaml_ng::Value {
    let path = repository_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `expr` of every rule in an alert file.
fn alert_expressions(relative: &str) -> Vec<(String, String)> {
    let rules = read_yaml(relative);
    let mut expressions = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"]
                .as_str()
                .or_else(|| rule["record"].as_str())
                .expect("alert or record name")
                .to_owned();
            let expr = rule["expr"].as_str().expect("expr").to_owned();
            expressions.push((name, expr));
        }
    }
    expressions
}

/// Every Prometheus expression of every panel of the Grafana dashboards.
fn dashboard_expressions() -> Vec<(String, String)> {
    let directory = repository_root().join("deploy/grafana/dashboards");
    let mut expressions = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&directory)
        .expect("dashboards directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    assert_eq!(
        entries.len(),
        4,
        "API, database, infrastructure, business: {entries:?}"
    );
    for path in entries {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let title = format!(
                    "{} / {}",
                    path.file_name().unwrap().to_string_lossy(),
                    panel["title"].as_str().unwrap_or("?")
                );
                expressions.push((title, target["expr"].as_str().expect("expr").to_owned()));
            }
        }
    }
    expressions
}

/// The metric families on a /metrics page (with `_bucket`, `_sum`, `_count` series).
fn exported_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            line.split(|c: char| c == '{' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("{series} is not on /metrics"))
        .trim()
        .parse()
        .expect("a number")
}

/// A project, a site and a job run to completion by the in-process worker.
async fn workload(server: &TestServer) {
    let project = graphql_ok(
        server,
        "mutation { createProject(input: {name: \"Metrics\"}) { id } }",
        json!({}),
    )
    .await;
    let site = graphql_ok(
        server,
        "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }",
        json!({"input": {"projectId": project["createProject"]["id"], "name": "Rural demo", "boundary": rural_demo_boundary()}}),
    )
    .await;
    let job = graphql_ok(
        server,
        "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
        json!({"input": {"siteId": site["createSite"]["id"], "program": json_fixture("programs/three_buildings_ft.json")}}),
    )
    .await;
    let job_id = job["createJob"]["id"].as_str().expect("job id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let data = graphql_ok(
            server,
            "query($id: ID!) { job(id: $id) { status } }",
            json!({"id": job_id}),
        )
        .await;
        if data["job"]["status"] == "SUCCEEDED" {
            break;
        }
        assert_ne!(data["job"]["status"], "FAILED", "{data}");
        assert!(Instant::now() < deadline, "the job did not finish: {data}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Unknown paths are the console's routes; a missing file is a 404.
    let missing = server.get("/no-such-file.txt").await.expect("GET");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        server.get("/health").await.expect("GET /health").status(),
        200
    );
}

#[tokio::test]
async fn every_metric_the_alerts_and_dashboards_use_is_exported_after_a_workload() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(data_dir.path(), &embedded_env(data_dir.path()))
        .await
        .expect("server");
    workload(&server).await;
    let response = server.get("/metrics").await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let exposition = response.text().await.expect("text");
    let exported = exported_names(&exposition);

    let mut missing = Vec::new();
    let alerts = alert_expressions("deploy/prometheus/alerts.yml");
    assert!(alerts.len() >= 4, "{alerts:?}");
    for (alert, expression) in &alerts {
        let names = metric_names(expression);
        assert!(!names.is_empty(), "{alert}: no metric in {expression}");
        for name in names {
            if !SYNTHETIC.contains(&name.as_str()) && !exported.contains(&name) {
                missing.push(format!("alerts.yml {alert}: {name}"));
            }
        }
    }
    for (panel, expression) in dashboard_expressions() {
        for name in metric_names(&expression) {
            let from_exporter = EXPORTER_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix));
            if !from_exporter && !SYNTHETIC.contains(&name.as_str()) && !exported.contains(&name) {
                missing.push(format!("dashboard {panel}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "used but not exported:\n{}\n\n/metrics:\n{exposition}",
        missing.join("\n")
    );

    // The workload moved what it should have.
    assert!(sample(&exposition, "entmoot_jobs{state=\"succeeded\"}") >= 1.0);
    assert_eq!(sample(&exposition, "entmoot_projects"), 1.0);
    assert!(sample(&exposition, "entmoot_db_queries_total{outcome=\"ok\"}") > 0.0);
    assert!(sample(&exposition, "entmoot_db_pool_max_connections") >= 1.0);
    assert!(sample(&exposition, "entmoot_data_dir_size_bytes") > 0.0);
    assert!(
        exposition
            .contains("http_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"}"),
        "GraphQL requests are counted by route pattern"
    );
    assert!(
        exposition
            .contains("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"),
        "unknown paths share one label value"
    );
}

#[test]
fn the_scrape_configuration_targets_the_ports_entmoot_serves() {
    let config = read_yaml("deploy/prometheus/prometheus.yml");
    let jobs: Vec<&str> = config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .map(|job| job["job_name"].as_str().expect("job_name"))
        .collect();
    for job in ["entmoot-api", "entmoot-worker"] {
        assert!(jobs.contains(&job), "{jobs:?}");
    }
    let rule_files: Vec<&str> = config["rule_files"]
        .as_sequence()
        .expect("rule_files")
        .iter()
        .map(|file| file.as_str().expect("path"))
        .collect();
    for file in &rule_files {
        assert!(
            Path::new(&repository_root().join("deploy/prometheus").join(file)).exists(),
            "{file}"
        );
    }
    for alert in [
        "HighAPIErrorRate",
        "HighDatabaseConnections",
        "LowCacheHitRate",
        "DiskSpaceLow",
    ] {
        assert!(
            alert_expressions("deploy/prometheus/alerts.yml")
                .iter()
                .any(|(name, _)| name == alert),
            "the original alert {alert} is kept"
        );
    }
}
