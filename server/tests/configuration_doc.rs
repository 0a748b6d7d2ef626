//! `docs/configuration.md` lists every environment variable the server reads, and only
//! those: the variable names written in `config.rs` and `cli.rs` (or a `config/` module),
//! every `std::env::var("…")` under `server/src`, and the plugin host's `…_ENV` constants.
//! It reads source text only, so it keeps working however the configuration code is
//! organised.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every `.rs` file under `directory`, recursively.
fn rust_files(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(directory) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `SOME_NAME`: capitals, digits and underscores, starting with a capital.
fn is_upper_snake_case(text: &str) -> bool {
    !text.ends_with('_')
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A string literal that names a variable: upper snake case with an inner underscore (so
/// that `"TRACE"`, a log level, is not taken for one).
fn looks_like_a_variable(text: &str) -> bool {
    text.contains('_') && is_upper_snake_case(text)
}

/// `source` without its `#[cfg(test)]` modules, whose literals are test data (the typos
/// that `unrecognised_variables` must report, for instance).
fn without_test_modules(source: &str) -> String {
    let mut kept = String::new();
    let mut rest = source;
    while let Some(start) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(open) = after.find('{') else {
            return kept;
        };
        let mut depth = 0usize;
        let mut end = after.len();
        for (index, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    kept.push_str(rest);
    kept
}

/// Every string literal of `source` that is exactly a variable-shaped name: a piece between
/// two quotes with nothing else in it (so quotes in comments cannot produce a false name
/// that has spaces or punctuation).
fn variable_literals(source: &str) -> Vec<String> {
    let pieces: Vec<&str> = source.split('"').collect();
    pieces
        .iter()
        .skip(1)
        .take(pieces.len().saturating_sub(2))
        .filter(|piece| looks_like_a_variable(piece))
        .map(|piece| (*piece).to_owned())
        .collect()
}

/// The names in `std::env::var("X")` and `std::env::var_os("X")` calls of `source`.
fn environment_reads(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for call in ["env::var(\"", "env::var_os(\""] {
        for (start, _) in source.match_indices(call) {
            let rest = &source[start + call.len()..];
            if let Some(end) = rest.find('"') {
                names.push(rest[..end].to_owned());
            }
        }
    }
    names
}

/// The names of `const …_ENV: &str = "X";` declarations of `source`.
fn environment_constants(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|line| line.contains("_ENV: &str = \""))
        .filter_map(|line| line.split('"').nth(1))
        .map(str::to_owned)
        .collect()
}

/// Variable name → the files it was found in.
fn variables_read_by_the_server() -> BTreeMap<String, Vec<String>> {
    let root = repository_root();
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |names: Vec<String>, file: &Path| {
        let file = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        for name in names {
            let files = found.entry(name).or_default();
            if !files.contains(&file) {
                files.push(file.clone());
            }
        }
    };
    let mut configuration_files = vec![
        root.join("server/src/config.rs"),
        root.join("server/src/cli.rs"),
    ];
    configuration_files.extend(rust_files(&root.join("server/src/config")));
    let mut configuration_names = 0;
    for file in configuration_files.iter().filter(|file| file.exists()) {
        let names = variable_literals(&without_test_modules(&read(file)));
        configuration_names += names.len();
        add(names, file);
    }
    assert!(
        configuration_names > 40,
        "found only {configuration_names} variable names in the configuration code: has it moved?"
    );
    for file in rust_files(&root.join("server/src")) {
        add(environment_reads(&read(&file)), &file);
    }
    for file in rust_files(&root.join("plugins/host/src")) {
        let source = read(&file);
        add(environment_reads(&source), &file);
        add(environment_constants(&source), &file);
    }
    found
}

/// The variables the tests read (`tests/src`, `migrations/tests`).
fn variables_read_by_tests() -> Vec<String> {
    let root = repository_root();
    ["tests/src", "tests/tests", "migrations/tests"]
        .iter()
        .flat_map(|directory| rust_files(&root.join(directory)))
        .flat_map(|file| environment_reads(&read(&file)))
        .collect()
}

/// The names in the first column of the tables of `docs/configuration.md`.
fn documented_variables() -> Vec<String> {
    read(&repository_root().join("docs/configuration.md"))
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| is_upper_snake_case(name))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_variable_the_server_reads_is_documented() {
    let documented = documented_variables();
    let missing: Vec<String> = variables_read_by_the_server()
        .into_iter()
        .filter(|(name, _)| !documented.contains(name))
        .map(|(name, files)| format!("{name} (in {})", files.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not list: {}",
        missing.join("; ")
    );
}

#[test]
fn every_documented_variable_is_read() {
    let read_by_server = variables_read_by_the_server();
    let read_by_tests = variables_read_by_tests();
    let documented = documented_variables();
    assert!(documented.len() > 40, "{documented:?}");
    let stale: Vec<&String> = documented
        .iter()
        .filter(|name| !read_by_server.contains_key(*name) && !read_by_tests.contains(name))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/configuration.md lists variables nothing reads: {stale:?}"
    );
}

#[test]
fn the_scanner_finds_what_it_should() {
    assert_eq!(
        variable_literals(r#"parse(sources, "API_PORT", 8000) + text("x") + "LOG_LEVEL""#),
        ["API_PORT", "LOG_LEVEL"]
    );
    assert!(variable_literals(r#"["DATABASE_", "TRACE", "a_b"]"#).is_empty());
    assert_eq!(
        environment_reads(r#"std::env::var("HOSTNAME").ok(); env::var_os(NAME)"#),
        ["HOSTNAME"]
    );
    assert_eq!(
        environment_constants("pub const RUNNER_ENV: &str = \"ENTMOOT_PLUGIN_RUNNER\";"),
        ["ENTMOOT_PLUGIN_RUNNER"]
    );
    let source = "const A: &str = \"API_PORT\";\n#[cfg(test)]\nmod tests {\n    fn f() { g(\"DATABSE_URL\", format!(\"{x}\")); }\n}\nconst B: &str = \"LOG_LEVEL\";";
    assert_eq!(
        variable_literals(&without_test_modules(source)),
        ["API_PORT", "LOG_LEVEL"]
    );
}
