//! Placing plan labels so that none overprints another or leaves the drawing: each
//! label as large as fits across its feature (within the style's sizes), moved beside
//! the feature when it does not fit inside, shortened with an ellipsis past the style's
//! length, and left out when no position is free. Larger features are placed first, so
//! the labels a reader looks for first are the ones kept.
//!
//! ```
//! use entmoot_formats::export::labels::{LabelRequest, LabelStyle, place_labels};
//!
//! let requests = [
//!     LabelRequest { text: "Warehouse".into(), centre: (100.0, 100.0), feature_size: (120.0, 60.0) },
//!     // A second feature on top of the first: its label cannot overprint the first one.
//!     LabelRequest { text: "Warehouse annex".into(), centre: (100.0, 100.0), feature_size: (8.0, 8.0) },
//! ];
//! let placed = place_labels(&requests, [0.0, 0.0, 400.0, 300.0], &LabelStyle::PLAN);
//! assert_eq!(placed[0].index, 0);
//! assert_eq!((placed[0].x, placed[0].y), (100.0, 100.0)); // centred in its building
//! assert!(placed.iter().all(|label| label.size >= LabelStyle::PLAN.min_size));
//! assert!(placed.len() == 1 || placed[1].y != 100.0); // the annex's label moved aside
//! ```

/// A label wanted at a feature, in drawing units (y down).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    pub text: String,
    /// Where the label goes when it fits inside the feature.
    pub centre: (f64, f64),
    /// The feature's drawn width and height (its bounding box).
    pub feature_size: (f64, f64),
}

/// A label placed: its text (perhaps shortened), centre and font size.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLabel {
    /// The request it answers.
    pub index: usize,
    pub text: String,
    /// Centre of the text (anchor middle, baseline middle).
    pub x: f64,
    pub y: f64,
    pub size: f64,
    /// The text's width at `size`, as measured when it was placed.
    pub width: f64,
}

impl PlacedLabel {
    /// The box the text covers: `[left, top, right, bottom]`.
    pub fn bounds(&self) -> [f64; 4] {
        label_box((self.x, self.y), self.width, self.size)
    }
}

/// Sizes and length of labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelStyle {
    pub min_size: f64,
    pub max_size: f64,
    /// Longer texts end in "…" at this many characters.
    pub max_chars: usize,
}

impl LabelStyle {
    /// The numbers of a plan key on the SVG plan.
    pub const KEY: LabelStyle = LabelStyle {
        min_size: 6.0,
        max_size: 9.0,
        max_chars: 4,
    };

    /// The SVG plan's labels (pixels).
    pub const PLAN: LabelStyle = LabelStyle {
        min_size: 7.0,
        max_size: 11.0,
        max_chars: 24,
    };
}

/// Space kept between a label and a neighbouring label or its feature.
const GAP: f64 = 2.0;

/// Places the labels it can; see the module documentation for the rules. `area` is
/// `[left, top, right, bottom]`, which every placed label stays inside.
pub fn place_labels(
    requests: &[LabelRequest],
    area: [f64; 4],
    style: &LabelStyle,
) -> Vec<PlacedLabel> {
    place_labels_measured(requests, area, style, &text_width, &[])
}

/// `place_labels` with the widths of the font the labels will be set in (`width` of a
/// text at a size), for a writer that knows it, as the PDF does, around labels already
/// `taken` (which none of the new ones may overprint).
pub fn place_labels_measured(
    requests: &[LabelRequest],
    area: [f64; 4],
    style: &LabelStyle,
    width: &dyn Fn(&str, f64) -> f64,
    taken: &[PlacedLabel],
) -> Vec<PlacedLabel> {
    let mut order: Vec<usize> = (0..requests.len()).collect();
    // Largest feature first; equal ones in request order, so the result is stable.
    order.sort_by(|&a, &b| {
        let size = |index: usize| requests[index].feature_size.0 * requests[index].feature_size.1;
        size(b).total_cmp(&size(a)).then(a.cmp(&b))
    });
    let mut placed: Vec<PlacedLabel> = Vec::new();
    for index in order {
        let request = &requests[index];
        let text = shortened(&request.text, style.max_chars);
        if text.is_empty() {
            continue;
        }
        let (feature_width, feature_height) = request.feature_size;
        let fitting = feature_width * 0.9 / width(&text, 1.0);
        let inside = fitting >= style.min_size && feature_height >= style.min_size;
        let size = if inside {
            fitting.min(style.max_size).min(feature_height * 0.8)
        } else {
            style.min_size
        };
        let (cx, cy) = request.centre;
        let half_width = width(&text, size) / 2.0;
        let beside_x = feature_width / 2.0 + GAP + half_width;
        let beside_y = feature_height / 2.0 + GAP + size / 2.0;
        let mut candidates = Vec::with_capacity(5);
        if inside {
            candidates.push((cx, cy));
        }
        candidates.extend([
            (cx, cy - beside_y),
            (cx, cy + beside_y),
            (cx + beside_x, cy),
            (cx - beside_x, cy),
        ]);
        let free = candidates.into_iter().find(|&centre| {
            let bounds = label_box(centre, width(&text, size), size);
            inside_area(bounds, area)
                && placed
                    .iter()
                    .chain(taken)
                    .all(|other| !overlaps(bounds, other.bounds(), GAP))
        });
        if let Some((x, y)) = free {
            placed.push(PlacedLabel {
                index,
                width: width(&text, size),
                text,
                x,
                y,
                size,
            });
        }
    }
    placed.sort_by_key(|label| label.index);
    placed
}

/// The labels of a plan and its key: names where they fit (`name_style`), else a number
/// (`key_style`) listed in the key with the name it stands for, numbered 1, 2, … in
/// request order; a feature is left unlabelled only where even its number would
/// overprint. Returns every label to draw and the key.
pub fn place_labels_with_key(
    requests: &[LabelRequest],
    area: [f64; 4],
    name_style: &LabelStyle,
    key_style: &LabelStyle,
    width: &dyn Fn(&str, f64) -> f64,
) -> (Vec<PlacedLabel>, Vec<(String, String)>) {
    let named = place_labels_measured(requests, area, name_style, width, &[]);
    let unnamed: Vec<usize> = (0..requests.len())
        .filter(|index| !named.iter().any(|label| label.index == *index))
        .collect();
    let key_requests: Vec<LabelRequest> = unnamed
        .iter()
        .enumerate()
        .map(|(number, &index)| LabelRequest {
            text: (number + 1).to_string(),
            ..requests[index].clone()
        })
        .collect();
    let mut keyed = place_labels_measured(&key_requests, area, key_style, width, &named);
    // Numbered again without the gaps of numbers that found no room: a number only gets
    // shorter, so it still fits where it was placed.
    let mut key = Vec::with_capacity(keyed.len());
    for (number, label) in keyed.iter_mut().enumerate() {
        label.text = (number + 1).to_string();
        label.width = width(&label.text, label.size);
        let index = unnamed[label.index];
        label.index = index;
        key.push((label.text.clone(), requests[index].text.clone()));
    }
    let mut all = named;
    all.extend(keyed);
    (all, key)
}

/// The text, cut to `max_chars` characters with a final "…" when longer; control
/// characters dropped.
pub fn shortened(text: &str, max_chars: usize) -> String {
    let clean: Vec<char> = text.trim().chars().filter(|c| !c.is_control()).collect();
    if clean.len() <= max_chars {
        return clean.into_iter().collect();
    }
    let mut cut: String = clean[..max_chars.saturating_sub(1)].iter().collect();
    cut = cut.trim_end().to_owned();
    cut.push('…');
    cut
}

/// Advance width of `text` at `size` in Helvetica's metrics (per 1000 em; wide
/// scripts count a full em), which the PDF uses and browsers approximate for the SVG's
/// sans-serif. An estimate: a real font may differ by a few per cent.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            '0'..='9' | '$' | '_' => 556.0,
            '.' | ',' | ' ' | ':' | ';' | '!' | 'i' | 'j' | 'l' | '/' | 'f' | 't' | 'I' => 278.0,
            '-' | '(' | ')' | 'r' => 333.0,
            '%' => 889.0,
            'm' | 'M' | 'W' => 833.0,
            'w' => 722.0,
            '…' => 1000.0,
            c if c.is_ascii_uppercase() => 667.0,
            // CJK, Hangul and the like are set a full em wide.
            c if c >= '\u{2E80}' => 1000.0,
            _ => 556.0,
        })
        .sum::<f64>()
        * size
        / 1000.0
}

/// `[left, top, right, bottom]` of a label `width` wide centred at `centre`.
fn label_box(centre: (f64, f64), width: f64, size: f64) -> [f64; 4] {
    let half_width = width / 2.0;
    // Ascenders to descenders: about 1.2 em, centred on the middle baseline.
    let half_height = size * 0.6;
    [
        centre.0 - half_width,
        centre.1 - half_height,
        centre.0 + half_width,
        centre.1 + half_height,
    ]
}

fn inside_area(bounds: [f64; 4], area: [f64; 4]) -> bool {
    bounds[0] >= area[0] && bounds[1] >= area[1] && bounds[2] <= area[2] && bounds[3] <= area[3]
}

/// Whether two boxes come closer than `gap`.
pub fn overlaps(a: [f64; 4], b: [f64; 4], gap: f64) -> bool {
    a[0] < b[2] + gap && b[0] < a[2] + gap && a[1] < b[3] + gap && b[1] < a[3] + gap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str, centre: (f64, f64), size: (f64, f64)) -> LabelRequest {
        LabelRequest {
            text: text.into(),
            centre,
            feature_size: size,
        }
    }

    #[test]
    fn a_crowd_of_labels_never_overprints_nor_leaves_the_area() {
        // 300 features of 6 to 40 units scattered over a small area, long names.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let requests: Vec<LabelRequest> = (0..300)
            .map(|index| {
                let side = 6.0 + 34.0 * next();
                request(
                    &format!("Warehouse number {index} of the east yard"),
                    (400.0 * next(), 300.0 * next()),
                    (side, side * (0.5 + next())),
                )
            })
            .collect();
        let area = [0.0, 0.0, 400.0, 300.0];
        let placed = place_labels(&requests, area, &LabelStyle::PLAN);
        assert!(placed.len() > 20, "only {} placed", placed.len());
        assert!(
            placed.len() < 300,
            "everything fit: the test is not crowded"
        );
        for (position, label) in placed.iter().enumerate() {
            let bounds = label.bounds();
            assert!(inside_area(bounds, area), "{label:?} leaves the area");
            assert!(label.text.chars().count() <= LabelStyle::PLAN.max_chars);
            assert!(
                (LabelStyle::PLAN.min_size..=LabelStyle::PLAN.max_size).contains(&label.size),
                "{label:?}"
            );
            for other in &placed[position + 1..] {
                assert!(
                    !overlaps(bounds, other.bounds(), 0.0),
                    "{label:?} overprints {other:?}"
                );
            }
        }
    }

    #[test]
    fn a_large_feature_keeps_its_label_inside_and_a_small_one_gets_it_beside() {
        let placed = place_labels(
            &[
                request("Main warehouse", (200.0, 150.0), (160.0, 80.0)),
                request("Tank", (40.0, 40.0), (6.0, 6.0)),
            ],
            [0.0, 0.0, 400.0, 300.0],
            &LabelStyle::PLAN,
        );
        assert_eq!(placed.len(), 2);
        assert_eq!((placed[0].x, placed[0].y), (200.0, 150.0));
        assert_eq!(placed[0].size, LabelStyle::PLAN.max_size);
        // The tank's label sits above the tank, not on it.
        assert_eq!(placed[1].x, 40.0);
        assert!(placed[1].bounds()[3] <= 40.0 - 3.0, "{:?}", placed[1]);
        assert_eq!(placed[1].size, LabelStyle::PLAN.min_size);
    }

    #[test]
    fn long_names_end_in_an_ellipsis_and_no_label_leaves_the_drawing() {
        assert_eq!(shortened("Warehouse", 24), "Warehouse");
        assert_eq!(
            shortened("Cold storage warehouse for the eastern yard", 24),
            "Cold storage warehouse…"
        );
        assert_eq!(shortened("倉庫倉庫倉庫", 4), "倉庫倉…");
        assert_eq!(shortened("line\nbreak", 24), "linebreak");
        // A feature at the very edge: its label moves inward or is left out, never cut.
        let placed = place_labels(
            &[request("Edge building", (2.0, 150.0), (4.0, 4.0))],
            [0.0, 0.0, 400.0, 300.0],
            &LabelStyle::PLAN,
        );
        assert_eq!(placed.len(), 1);
        assert!(placed[0].bounds()[0] >= 0.0, "{:?}", placed[0]);
        assert!(placed[0].x > 2.0);
    }

    #[test]
    fn wide_scripts_are_measured_a_full_em() {
        assert_eq!(text_width("倉庫", 10.0), 20.0);
        assert!((text_width("Warehouse", 10.0) - 50.58).abs() < 1e-9);
    }
}
