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

/// What one layout of a result holds, counted: assets, roads, road points in all and in
/// the longest road. The host counts them from the result's bytes before parsing it
/// (`count_result_layouts`), and from a parsed layout (`LayoutCounts::of`); the caps are
/// checked on the counts alone (`check_layout_counts`), the same way in both cases.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LayoutCounts {
    pub assets: usize,
    pub roads: usize,
    pub road_points: usize,
    pub longest_road: usize,
}

impl LayoutCounts {
    pub fn of(layout: &Layout) -> LayoutCounts {
        LayoutCounts {
            assets: layout.assets.len(),
            roads: layout.roads.len(),
            road_points: layout.roads.iter().map(|road| road.points.len()).sum(),
            longest_road: layout
                .roads
                .iter()
                .map(|road| road.points.len())
                .max()
                .unwrap_or(0),
        }
    }
}

/// A refusal of the whole layout (no asset named): the first cap or id check it broke.
fn refuse(rule: Rule, message: String) -> Violation {
    Violation {
        rule,
        asset_ids: Vec::new(),
        message,
    }
}

/// The count caps for a problem of `problem_assets` assets: no more assets than the problem
/// has, road and point counts proportional to it. The first cap broken is the violation.
pub fn check_layout_counts(problem_assets: usize, counts: &LayoutCounts) -> Result<(), Violation> {
    if counts.assets > problem_assets {
        return Err(refuse(
            Rule::DuplicateAsset,
            format!(
                "{} assets placed, but the problem has {problem_assets}: nothing else was checked",
                counts.assets
            ),
        ));
    }
    let max_roads = BASE_ROADS + ROADS_PER_ASSET * problem_assets;
    if counts.roads > max_roads {
        return Err(refuse(
            Rule::InvalidRoad,
            format!(
                "{} roads, more than the {max_roads} allowed for {problem_assets} assets: nothing else was checked",
                counts.roads
            ),
        ));
    }
    if counts.longest_road > MAX_POINTS_PER_ROAD {
        return Err(refuse(
            Rule::InvalidRoad,
            format!(
                "a road has {} points, more than the {MAX_POINTS_PER_ROAD} allowed: nothing else was checked",
                counts.longest_road
            ),
        ));
    }
    let max_points = BASE_ROAD_POINTS + POINTS_PER_ASSET * problem_assets;
    if counts.road_points > max_points {
        return Err(refuse(
            Rule::InvalidRoad,
            format!(
                "{} road points, more than the {max_points} allowed for {problem_assets} assets: nothing else was checked",
                counts.road_points
            ),
        ));
    }
    Ok(())
}

/// The checks that bound everything after them, in linear time: the count caps
/// (`check_layout_counts`), then each id known and placed once. The first failure is the
/// only violation reported (with the plugin's id capped).
pub fn precheck_layout(problem: &Problem, layout: &Layout) -> Result<(), Violation> {
    check_layout_counts(problem.assets.len(), &LayoutCounts::of(layout))?;
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
    Ok(())
}

/// Where the scanner is: which object or array of a result line it is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// The line's object (`{"event":"result","layouts":[…]}`).
    Top,
    Layouts,
    Layout(usize),
    Assets(usize),
    Roads(usize),
    Road(usize),
    Points(usize),
    OtherObject,
    OtherArray,
}

impl Frame {
    fn is_object(self) -> bool {
        matches!(
            self,
            Frame::Top | Frame::Layout(_) | Frame::Road(_) | Frame::OtherObject
        )
    }
}

/// Counts the assets, roads and road points of each layout of a runner's `result` line
/// without building anything: one pass over the bytes, memory for the nesting only. Keys
/// are compared as serde would read them (escaped ones decoded), so a plugin cannot hide
/// an array from the count and still have it parsed. Malformed JSON yields whatever was
/// counted before it; the parser refuses the line afterwards.
pub fn count_result_layouts(line: &[u8]) -> Vec<LayoutCounts> {
    let mut layouts: Vec<LayoutCounts> = Vec::new();
    let mut current_road_points = 0usize;
    let mut stack: Vec<Frame> = Vec::new();
    // In an object: the last key read, and whether the next string is a key.
    let mut key: Vec<u8> = Vec::new();
    let mut expecting_key = false;
    let mut index = 0;
    while index < line.len() {
        let byte = line[index];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {
                index += 1;
                continue;
            }
            b',' => {
                expecting_key = stack.last().is_some_and(|frame| frame.is_object());
                index += 1;
                continue;
            }
            b':' => {
                expecting_key = false;
                index += 1;
                continue;
            }
            b'}' | b']' => {
                if let Some(Frame::Road(layout)) = stack.pop()
                    && let Some(counts) = layouts.get_mut(layout)
                {
                    counts.longest_road = counts.longest_road.max(current_road_points);
                }
                expecting_key = false;
                index += 1;
                continue;
            }
            _ => {}
        }
        // A string, a number, a literal, an object or an array starts here.
        let start = index;
        if byte == b'"' {
            index += 1;
            let mut escaped = false;
            while index < line.len() && line[index] != b'"' {
                if line[index] == b'\\' {
                    escaped = true;
                    index += 1;
                }
                index += 1;
            }
            index += 1;
            if expecting_key {
                let raw = &line[start..index.min(line.len())];
                key = if escaped {
                    serde_json::from_slice::<String>(raw)
                        .map(String::into_bytes)
                        .unwrap_or_default()
                } else {
                    raw.get(1..raw.len().saturating_sub(1))
                        .unwrap_or_default()
                        .to_vec()
                };
                expecting_key = false;
                continue;
            }
        } else if byte != b'{' && byte != b'[' {
            while index < line.len() && !b",:]} \t\n\r".contains(&line[index]) {
                index += 1;
            }
        } else {
            index += 1;
        }
        // A value: count it where it sits, and enter it if it opens something.
        let parent = stack.last().copied();
        match parent {
            Some(Frame::Assets(layout)) => {
                if let Some(counts) = layouts.get_mut(layout) {
                    counts.assets += 1;
                }
            }
            Some(Frame::Roads(layout)) => {
                if let Some(counts) = layouts.get_mut(layout) {
                    counts.roads += 1;
                }
            }
            Some(Frame::Points(layout)) => {
                if let Some(counts) = layouts.get_mut(layout) {
                    counts.road_points += 1;
                }
                current_road_points += 1;
            }
            _ => {}
        }
        let entered = match (byte, parent) {
            (b'{', None) => Some(Frame::Top),
            (b'[', Some(Frame::Top)) if key == b"layouts" => Some(Frame::Layouts),
            (b'{', Some(Frame::Layouts)) => {
                layouts.push(LayoutCounts::default());
                Some(Frame::Layout(layouts.len() - 1))
            }
            (b'[', Some(Frame::Layout(layout))) if key == b"assets" => Some(Frame::Assets(layout)),
            (b'[', Some(Frame::Layout(layout))) if key == b"roads" => Some(Frame::Roads(layout)),
            (b'{', Some(Frame::Roads(layout))) => {
                current_road_points = 0;
                Some(Frame::Road(layout))
            }
            (b'[', Some(Frame::Road(layout))) if key == b"points" => Some(Frame::Points(layout)),
            (b'{', _) => Some(Frame::OtherObject),
            (b'[', _) => Some(Frame::OtherArray),
            _ => None,
        };
        if let Some(frame) = entered {
            stack.push(frame);
            expecting_key = frame.is_object();
        }
    }
    layouts
}

/// The first of the first `wanted` layouts of a result line whose counts break the caps
/// for a problem of `problem_assets` assets, with its index (the layouts after `wanted`
/// are dropped unread by the host anyway).
pub fn check_result_counts(
    line: &[u8],
    problem_assets: usize,
    wanted: usize,
) -> Result<(), (usize, Violation)> {
    count_result_layouts(line)
        .iter()
        .take(wanted)
        .enumerate()
        .try_for_each(|(alternative, counts)| {
            check_layout_counts(problem_assets, counts)
                .map_err(|violation| (alternative, violation))
        })
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

    #[test]
    fn result_lines_are_counted_like_the_parsed_layouts() {
        use entmoot_plugin_sdk::{PlacedAsset, Road};
        let asset = |id: &str| PlacedAsset {
            asset_id: id.to_owned(),
            name: "a \"quoted\" name, with [brackets] and {braces}".to_owned(),
            asset_type: entmoot_plugin_sdk::program::AssetType::Building,
            center: [1.0, 2.0],
            width_m: 3.0,
            length_m: 4.0,
            rotation_deg: 0.0,
            shape: Default::default(),
        };
        let layouts = vec![
            Layout {
                assets: vec![asset("a"), asset("b"), asset("c")],
                roads: vec![
                    Road::new(vec![[0.0, 0.0], [1.0, 1.0]], 6.0),
                    Road::new(vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], 6.0),
                ],
            },
            Layout::default(),
        ];
        let line = serde_json::to_vec(&crate::protocol::RunnerEvent::Result {
            layouts: layouts.clone(),
        })
        .unwrap();
        let counted = count_result_layouts(&line);
        let parsed: Vec<LayoutCounts> = layouts.iter().map(LayoutCounts::of).collect();
        assert_eq!(counted, parsed);
        assert_eq!(counted[0].longest_road, 4);
        assert_eq!(counted[0].road_points, 6);

        // An escaped key is read as serde reads it: the assets are still counted.
        let hidden =
            br#"{"event":"result","layouts":[{"\u0061ssets":[{"x":1},{"x":2}],"roads":[]}]}"#;
        assert_eq!(count_result_layouts(hidden)[0].assets, 2);
        // Arrays elsewhere (a name that looks like a key, nested objects) do not count.
        let decoy = br#"{"event":"result","layouts":[{"assets":[{"assets":[1,2,3],"name":"roads"}],"roads":[{"points":[[0,0],[1,1]],"meta":{"points":[1,2,3]}}]}]}"#;
        assert_eq!(
            count_result_layouts(decoy),
            vec![LayoutCounts {
                assets: 1,
                roads: 1,
                road_points: 2,
                longest_road: 2
            }]
        );
    }

    #[test]
    fn a_result_over_the_caps_is_refused_from_its_counts() {
        let many = format!(
            r#"{{"event":"result","layouts":[{{"assets":[{}],"roads":[]}}]}}"#,
            vec!["{}"; 4_000].join(",")
        );
        let (alternative, violation) = check_result_counts(many.as_bytes(), 3, 1).unwrap_err();
        assert_eq!(alternative, 0);
        assert_eq!(violation.rule, Rule::DuplicateAsset);
        assert_eq!(
            violation.message,
            "4000 assets placed, but the problem has 3: nothing else was checked"
        );
        // Layouts beyond the alternatives asked for are not judged: the host drops them.
        let second_bad = format!(
            r#"{{"event":"result","layouts":[{{"assets":[]}},{{"assets":[{}]}}]}}"#,
            ["{}"; 10].join(",")
        );
        assert!(check_result_counts(second_bad.as_bytes(), 3, 1).is_ok());
        assert_eq!(
            check_result_counts(second_bad.as_bytes(), 3, 2)
                .unwrap_err()
                .0,
            1
        );
    }
}
