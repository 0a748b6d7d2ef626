//! Caps on everything a plugin can make the host store, log, return or print: error and
//! progress messages, manifest fields, the size of a result. A plugin is a stranger: its 64 MiB
//! error message must cost the host no more than a few kilobytes wherever it goes.

use std::collections::HashSet;

use entmoot_plugin_sdk::validate::{Rule, Violation};
use entmoot_plugin_sdk::{Layout, Manifest, Problem, Progress, StrategyError};

/// A strategy's error message, bytes.
pub const MAX_ERROR_MESSAGE: usize = 2_000;
/// A progress message, bytes.
pub const MAX_PROGRESS_MESSAGE: usize = 200;
/// The manifest's description, bytes.
pub const MAX_DESCRIPTION: usize = 2_000;
/// Each author and the licence, bytes.
pub const MAX_MANIFEST_FIELD: usize = 200;
/// Number of authors.
pub const MAX_AUTHORS: usize = 20;
/// The parameter schema, bytes of JSON.
pub const MAX_PARAMETER_SCHEMA: usize = 64 * 1024;
/// Any line from the runner but the final result (a manifest, a progress report), bytes.
pub const MAX_EVENT_LINE: usize = 256 * 1024;
/// A refusal or protocol-error reason reported by the runner, bytes.
pub const MAX_REASON: usize = 2_000;

/// Violations collected per layout before the validator stops looking.
pub const MAX_VIOLATIONS: usize = 100;
/// Roads per layout: this many plus `ROADS_PER_ASSET` for each asset of the problem.
pub const BASE_ROADS: usize = 64;
pub const ROADS_PER_ASSET: usize = 8;
/// Road points per layout: this many plus `POINTS_PER_ASSET` for each asset of the problem.
pub const BASE_ROAD_POINTS: usize = 10_000;
pub const POINTS_PER_ASSET: usize = 50;
/// Points of one road: a geometric predicate on one road cannot be interrupted by the time
/// budget, so no single road may be large.
pub const MAX_POINTS_PER_ROAD: usize = 5_000;

/// `text` cut to at most `max` bytes at a character boundary, ending with a note saying how
/// long it was, and control characters (newlines, escapes a terminal would obey) replaced by
/// spaces. Capping a capped text again changes nothing.
pub fn cap_text(text: &str, max: usize) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    if text.len() <= max {
        return clean(text);
    }
    let note = format!("… [cut: {} bytes in all]", text.len());
    let mut cut = max.saturating_sub(note.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{note}", clean(&text[..cut]))
}

/// A strategy error with its message capped.
pub fn cap_strategy_error(error: StrategyError) -> StrategyError {
    let cap = |m: String| cap_text(&m, MAX_ERROR_MESSAGE);
    match error {
        StrategyError::BadRequest(m) => StrategyError::BadRequest(cap(m)),
        StrategyError::InvalidParameters(m) => StrategyError::InvalidParameters(cap(m)),
        StrategyError::InvalidProblem(m) => StrategyError::InvalidProblem(cap(m)),
        StrategyError::Failed(m) => StrategyError::Failed(cap(m)),
        StrategyError::Panicked(m) => StrategyError::Panicked(cap(m)),
        StrategyError::Cancelled => StrategyError::Cancelled,
    }
}

/// A progress report with its message capped.
pub fn cap_progress(mut progress: Progress) -> Progress {
    if progress.message.len() > MAX_PROGRESS_MESSAGE
        || progress.message.chars().any(char::is_control)
    {
        progress.message = cap_text(&progress.message, MAX_PROGRESS_MESSAGE);
    }
    progress
}

/// Refuses a manifest whose fields are larger than anyone needs (before its other checks,
/// which print some of them).
pub fn check_manifest_sizes(manifest: &Manifest) -> Result<(), String> {
    let too_long = |field: &str, value: &str, max: usize| {
        (value.len() > max).then(|| {
            format!(
                "manifest.{field}: {} bytes, more than the {max} allowed",
                value.len()
            )
        })
    };
    let problem = too_long("name", &manifest.name, 64)
        .or_else(|| too_long("version", &manifest.version, 64))
        .or_else(|| too_long("description", &manifest.description, MAX_DESCRIPTION))
        .or_else(|| {
            manifest
                .license
                .as_deref()
                .and_then(|l| too_long("license", l, MAX_MANIFEST_FIELD))
        })
        .or_else(|| {
            (manifest.authors.len() > MAX_AUTHORS).then(|| {
                format!(
                    "manifest.authors: {} entries, more than the {MAX_AUTHORS} allowed",
                    manifest.authors.len()
                )
            })
        })
        .or_else(|| {
            manifest
                .authors
                .iter()
                .find_map(|a| too_long("authors[]", a, MAX_MANIFEST_FIELD))
        })
        .or_else(|| {
            let size = manifest.parameters.to_string().len();
            (size > MAX_PARAMETER_SCHEMA).then(|| {
                format!(
                    "manifest.parameters: {size} bytes of JSON Schema, more than the {MAX_PARAMETER_SCHEMA} allowed"
                )
            })
        });
    match problem {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

/// The largest result a run may send, bytes: room for every asset of the problem in every
/// alternative with generous roads, never more than `ceiling`. The host refuses a longer
/// answer before parsing it.
pub fn max_result_bytes(assets: usize, alternatives: u32, ceiling: u64) -> u64 {
    // A placed asset is about 250 bytes of JSON and a road point about 40: room for the road
    // caps of `precheck_layout` (`BASE_ROAD_POINTS` + `POINTS_PER_ASSET` per asset).
    let per_alternative = 64 * 1024
        + (BASE_ROAD_POINTS as u64) * 48
        + (assets as u64).saturating_mul(512 + POINTS_PER_ASSET as u64 * 48);
    per_alternative
        .saturating_mul(u64::from(alternatives.max(1)))
        .min(ceiling)
}

/// The checks that bound everything after them, in linear time: no more assets than the
/// problem has, each id known and placed once, road and point counts proportional to the
/// problem. The first failure is the only violation reported (with the plugin's id capped).
pub fn precheck_layout(problem: &Problem, layout: &Layout) -> Result<(), Violation> {
    let refuse = |rule: Rule, message: String| Violation {
        rule,
        asset_ids: Vec::new(),
        message,
    };
    if layout.assets.len() > problem.assets.len() {
        return Err(refuse(
            Rule::DuplicateAsset,
            format!(
                "{} assets placed, but the problem has {}: nothing else was checked",
                layout.assets.len(),
                problem.assets.len()
            ),
        ));
    }
    let known: HashSet<&str> = problem.assets.iter().map(|a| a.asset_id.as_str()).collect();
    let mut seen = HashSet::with_capacity(layout.assets.len());
    for (i, asset) in layout.assets.iter().enumerate() {
        let id = || cap_text(&asset.asset_id, 80);
        if !known.contains(asset.asset_id.as_str()) {
            return Err(refuse(
                Rule::UnknownAsset,
                format!(
                    "assets[{i}]: {} is not an asset of the problem: nothing else was checked",
                    id()
                ),
            ));
        }
        if !seen.insert(asset.asset_id.as_str()) {
            return Err(refuse(
                Rule::DuplicateAsset,
                format!(
                    "assets[{i}]: {} is placed more than once: nothing else was checked",
                    id()
                ),
            ));
        }
    }
    let max_roads = BASE_ROADS + ROADS_PER_ASSET * problem.assets.len();
    if layout.roads.len() > max_roads {
        return Err(refuse(
            Rule::InvalidRoad,
            format!(
                "{} roads, more than the {max_roads} allowed for {} assets: nothing else was checked",
                layout.roads.len(),
                problem.assets.len()
            ),
        ));
    }
    if let Some((r, road)) = layout
        .roads
        .iter()
        .enumerate()
        .find(|(_, road)| road.points.len() > MAX_POINTS_PER_ROAD)
    {
        return Err(refuse(
            Rule::InvalidRoad,
            format!(
                "roads[{r}] has {} points, more than the {MAX_POINTS_PER_ROAD} allowed: nothing else was checked",
                road.points.len()
            ),
        ));
    }
    let max_points = BASE_ROAD_POINTS + POINTS_PER_ASSET * problem.assets.len();
    let points: usize = layout.roads.iter().map(|r| r.points.len()).sum();
    if points > max_points {
        return Err(refuse(
            Rule::InvalidRoad,
            format!(
                "{points} road points, more than the {max_points} allowed for {} assets: nothing else was checked",
                problem.assets.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_a_character_boundary_and_says_so() {
        let text = "é".repeat(10_000);
        let capped = cap_text(&text, 101);
        assert!(capped.starts_with(&"é".repeat(30)));
        assert!(capped.ends_with("[cut: 20000 bytes in all]"), "{capped}");
        assert!(capped.len() <= 101);
        assert_eq!(cap_text(&capped, 101), capped);
        assert_eq!(cap_text("a\nb\x1b[2J", 100), "a b [2J");
    }

    #[test]
    fn huge_manifest_fields_are_refused() {
        let mut m = Manifest {
            name: "x".into(),
            version: "1.0.0".into(),
            abi_version: 1,
            description: "d".repeat(MAX_DESCRIPTION + 1),
            authors: vec![],
            license: None,
            capabilities: Default::default(),
            parameters: serde_json::json!({"type": "object"}),
        };
        assert!(
            check_manifest_sizes(&m)
                .unwrap_err()
                .contains("description")
        );
        m.description = "fine".into();
        m.authors = vec!["a".into(); 21];
        assert!(check_manifest_sizes(&m).unwrap_err().contains("authors"));
        m.authors = vec![];
        assert!(check_manifest_sizes(&m).is_ok());
    }
}
