//! Text in the PDF report: fonts embedded in the file, so that every name prints as
//! written. DejaVu Sans (regular and bold) covers Latin, Greek and Cyrillic; Droid Sans
//! Fallback covers Chinese, Japanese and Korean. Each character is set in the first of
//! them that has it; each font is embedded as a CID font subset to the glyphs the
//! report uses, with a ToUnicode map so the text can be searched and copied.
//!
//! ```
//! use entmoot_formats::export::pdf_text::{TextSetter, text_width};
//! let mut setter = TextSetter::default();
//! // Latin in DejaVu Sans, the CJK in Droid Sans Fallback: two runs of one line.
//! let shown = setter.show("Lager 倉庫", 10.0, false);
//! assert!(shown.contains("/E0 10 Tf") && shown.contains("/E2 10 Tf"));
//! assert!(text_width("倉庫", 10.0, false) > 19.0);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;

/// The fonts, in the order a character looks for its glyph (bold text tries the bold
/// face first). Their licences are beside them in `formats/fonts/`.
const FONT_FILES: [(&str, &[u8]); 3] = [
    ("DejaVuSans", include_bytes!("../../fonts/DejaVuSans.ttf")),
    (
        "DejaVuSans-Bold",
        include_bytes!("../../fonts/DejaVuSans-Bold.ttf"),
    ),
    (
        "DroidSansFallback",
        include_bytes!("../../fonts/DroidSansFallback.ttf"),
    ),
];
const REGULAR: usize = 0;
const BOLD: usize = 1;
const FALLBACK: usize = 2;

/// What is read from a font once: its glyph lookup, advances and metrics.
struct FontMetrics {
    face: ttf_parser::Face<'static>,
    units_per_em: f64,
}

static FONTS: LazyLock<Vec<FontMetrics>> = LazyLock::new(|| {
    FONT_FILES
        .iter()
        .map(|(name, data)| {
            // Invariant: the files are compiled in and parse (the unit tests read each).
            #[allow(clippy::expect_used)]
            let face = ttf_parser::Face::parse(data, 0).expect(name);
            let units_per_em = f64::from(face.units_per_em());
            FontMetrics { face, units_per_em }
        })
        .collect()
});

/// The font and glyph a character is set in: the first font of the order that has it,
/// else `?` in the first font.
fn glyph_of(character: char, bold: bool) -> (usize, u16) {
    let order = if bold {
        [BOLD, REGULAR, FALLBACK]
    } else {
        [REGULAR, FALLBACK, BOLD]
    };
    for font in order {
        if let Some(glyph) = FONTS[font].face.glyph_index(character) {
            return (font, glyph.0);
        }
    }
    let first = order[0];
    let question = FONTS[first]
        .face
        .glyph_index('?')
        .map_or(0, |glyph| glyph.0);
    (first, question)
}

fn advance(font: usize, glyph: u16) -> f64 {
    let metrics = &FONTS[font];
    f64::from(
        metrics
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .unwrap_or(0),
    ) / metrics.units_per_em
}

/// The width of `text` set at `size`, in the same units as `size`.
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    text.chars()
        .map(|character| {
            let (font, glyph) = glyph_of(character, bold);
            advance(font, glyph)
        })
        .sum::<f64>()
        * size
}

/// The glyphs one document uses, per font, under the ids of the subset.
#[derive(Default)]
struct FontUse {
    remapper: GlyphRemapper,
    /// Subset glyph id → the character it shows (for ToUnicode).
    characters: BTreeMap<u16, char>,
}

/// Turns text into content-stream operators for one document and remembers which
/// glyphs each font must keep.
#[derive(Default)]
pub struct TextSetter {
    used: BTreeMap<usize, FontUse>,
}

impl TextSetter {
    /// The operators that show `text` at the current text position: a `Tf` and a `Tj`
    /// per run of one font (each `Tj` moves the position on by the run's width).
    pub fn show(&mut self, text: &str, size: f64, bold: bool) -> String {
        let mut out = String::new();
        let mut run: Option<(usize, String)> = None;
        for character in text.chars() {
            let (font, glyph) = glyph_of(character, bold);
            let using = self.used.entry(font).or_default();
            let cid = using.remapper.remap(glyph);
            using.characters.entry(cid).or_insert(character);
            match &mut run {
                Some((current, hex)) if *current == font => {
                    let _ = write!(hex, "{cid:04X}");
                }
                _ => {
                    if let Some((current, hex)) = run.take() {
                        let _ = write!(out, "/E{current} {size} Tf <{hex}> Tj ");
                    }
                    run = Some((font, format!("{cid:04X}")));
                }
            }
        }
        if let Some((current, hex)) = run {
            let _ = write!(out, "/E{current} {size} Tf <{hex}> Tj ");
        }
        out
    }

    /// Writes every font used as a Type 0 font with its subset embedded, allocating
    /// object ids from `next_id`; returns the resource names and their font objects.
    pub fn write_fonts(
        &self,
        pdf: &mut Pdf,
        next_id: &mut i32,
    ) -> Result<Vec<(String, Ref)>, subsetter::Error> {
        let mut allocate = || {
            let id = Ref::new(*next_id);
            *next_id += 1;
            id
        };
        let system_info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        let mut resources = Vec::new();
        for (&font, using) in &self.used {
            let (name, data) = FONT_FILES[font];
            let metrics = &FONTS[font];
            let subset = subsetter::subset(data, 0, &using.remapper)?;
            // A subset is named with a tag of six capitals; any tag unique in the file.
            let base_name = format!("{}+{name}", ["ENTMTA", "ENTMTB", "ENTMTC"][font]);
            let (type0, cid_font, descriptor, cmap, file) =
                (allocate(), allocate(), allocate(), allocate(), allocate());
            pdf.type0_font(type0)
                .base_font(Name(base_name.as_bytes()))
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid_font)
                .to_unicode(cmap);
            let scale = 1000.0 / metrics.units_per_em;
            let mut widths: Vec<(u16, f32)> = using
                .remapper
                .remapped_gids()
                .filter_map(|old| {
                    let cid = using.remapper.get(old)?;
                    Some((cid, (advance(font, old) * 1000.0) as f32))
                })
                .collect();
            widths.sort_by_key(|(cid, _)| *cid);
            let mut cid_dict = pdf.cid_font(cid_font);
            cid_dict
                .subtype(CidFontType::Type2)
                .base_font(Name(base_name.as_bytes()))
                .system_info(system_info)
                .font_descriptor(descriptor)
                .default_width(0.0)
                .cid_to_gid_map_predefined(Name(b"Identity"));
            {
                let mut entries = cid_dict.widths();
                for (cid, width) in &widths {
                    entries.consecutive(*cid, [*width]);
                }
            }
            drop(cid_dict);
            let bbox = metrics.face.global_bounding_box();
            pdf.font_descriptor(descriptor)
                .name(Name(base_name.as_bytes()))
                .flags(FontFlags::SYMBOLIC)
                .bbox(Rect::new(
                    (f64::from(bbox.x_min) * scale) as f32,
                    (f64::from(bbox.y_min) * scale) as f32,
                    (f64::from(bbox.x_max) * scale) as f32,
                    (f64::from(bbox.y_max) * scale) as f32,
                ))
                .italic_angle(0.0)
                .ascent((f64::from(metrics.face.ascender()) * scale) as f32)
                .descent((f64::from(metrics.face.descender()) * scale) as f32)
                .cap_height(
                    (f64::from(
                        metrics
                            .face
                            .capital_height()
                            .unwrap_or(metrics.face.ascender()),
                    ) * scale) as f32,
                )
                .stem_v(if font == BOLD { 120.0 } else { 80.0 })
                .font_file2(file);
            let mut to_unicode = UnicodeCmap::new(Name(b"Entmoot-UTF16"), system_info);
            for (cid, character) in &using.characters {
                to_unicode.pair(*cid, *character);
            }
            let to_unicode = to_unicode.finish();
            pdf.cmap(cmap, &to_unicode);
            pdf.stream(file, &subset)
                .pair(Name(b"Length1"), subset.len() as i32);
            resources.push((format!("E{font}"), type0));
        }
        Ok(resources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_font_reads_and_covers_its_scripts() {
        assert_eq!(FONTS.len(), FONT_FILES.len());
        assert_eq!(glyph_of('A', false).0, REGULAR);
        assert_eq!(glyph_of('A', true).0, BOLD);
        assert_eq!(glyph_of('Ж', false).0, REGULAR);
        assert_eq!(glyph_of('倉', false).0, FALLBACK);
        assert_eq!(glyph_of('한', true).0, FALLBACK);
        assert!(text_width("Warehouse", 10.0, false) > 50.0);
        assert!(text_width("Warehouse", 10.0, true) > text_width("Warehouse", 10.0, false));
    }

    #[test]
    fn a_run_per_font_and_one_subset_id_per_glyph() {
        let mut setter = TextSetter::default();
        let shown = setter.show("aa倉a", 9.0, false);
        let runs: Vec<&str> = shown.split(" Tj ").filter(|run| !run.is_empty()).collect();
        assert_eq!(runs.len(), 3, "{shown}");
        // `.notdef` is 0 in every subset, so the first glyph used is 1.
        assert!(runs[0].ends_with("<00010001>"), "{shown}");
        assert!(runs[1].starts_with("/E2 9 Tf <0001>"), "{shown}");
        let mut pdf = Pdf::new();
        let mut next = 10;
        let fonts = setter.write_fonts(&mut pdf, &mut next).unwrap();
        assert_eq!(
            fonts
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>(),
            ["E0", "E2"]
        );
        assert_eq!(next, 20);
    }
}
