//! Every ```json example of `docs/program.md` is a program: it parses with the sdk's parser
//! and satisfies the committed JSON Schema. The fixture programs are shown in it verbatim.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use entmoot_plugin_sdk::Program;
use serde_json::Value;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repository_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The contents of the fenced blocks opened with exactly ```json, with their line numbers.
fn json_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```json" => current = Some((index + 1, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(
        current.is_none(),
        "docs/program.md: a ```json block is not closed"
    );
    blocks
}

#[test]
fn every_json_example_of_the_program_doc_is_a_valid_program() {
    let doc = read("docs/program.md");
    let blocks = json_blocks(&doc);
    assert!(
        blocks.len() >= 3,
        "docs/program.md has {} json examples",
        blocks.len()
    );
    let schema: Value = serde_json::from_str(&read("docs/schemas/program.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (line, text) in blocks {
        if let Err(error) = Program::from_json_str(&text) {
            panic!("docs/program.md, the example at line {line}: {error}");
        }
        let value: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "docs/program.md, the example at line {line}: {errors:?}"
        );
    }
}

#[test]
fn the_program_doc_shows_the_fixture_programs() {
    let doc = read("docs/program.md");
    let blocks: Vec<String> = json_blocks(&doc)
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    for fixture in ["three_buildings_ft.json", "mixed_site_m.json"] {
        let text = read(&format!("tests/fixtures/programs/{fixture}"));
        assert!(
            blocks.iter().any(|block| block.trim() == text.trim()),
            "docs/program.md should show tests/fixtures/programs/{fixture} as it is"
        );
    }
}
