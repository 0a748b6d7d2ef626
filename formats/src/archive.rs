//! Reading zip archives (KMZ, zipped Shapefiles) without trusting them: at most
//! `MAX_ENTRIES` entries, every name checked for path traversal (absolute paths, `..`,
//! drive letters, NUL), encrypted entries refused, and the bytes actually decompressed
//! capped per entry and in total — a zip bomb's declared sizes are never believed.

use std::io::Read;

use super::ImportError;

/// Most entries an uploaded archive may hold.
pub const MAX_ENTRIES: usize = 1_000;
/// Most bytes all wanted entries may decompress to, together.
pub const MAX_TOTAL_UNCOMPRESSED: u64 = 256 * 1024 * 1024;

/// One file taken from an archive.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

fn refuse(archive: &str, reason: String) -> ImportError {
    ImportError::Archive {
        archive: archive.to_owned(),
        reason,
    }
}

/// Whether an entry name stays inside the archive when extracted.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.starts_with('\\')
        && !name.contains('\0')
        && !name.contains(':')
        && name.split(['/', '\\']).all(|component| component != "..")
}

/// Reads the entries `wanted` selects (by name), within the limits above. Every
/// entry's name is checked, wanted or not.
pub fn read_entries(
    bytes: &[u8],
    archive_kind: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<Entry>, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|error| refuse(archive_kind, format!("not a readable zip archive: {error}")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(refuse(
            archive_kind,
            format!(
                "it holds {} entries; at most {MAX_ENTRIES} are accepted",
                archive.len()
            ),
        ));
    }
    let mut entries = Vec::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|error| {
            refuse(
                archive_kind,
                format!("entry #{index} is unreadable: {error}"),
            )
        })?;
        let name = file
            .name()
            .map_err(|error| refuse(archive_kind, format!("entry #{index}: {error}")))?
            .into_owned();
        if !is_safe_name(&name) {
            return Err(refuse(
                archive_kind,
                format!("entry `{name}` points outside the archive (path traversal)"),
            ));
        }
        if file.is_dir() || !wanted(&name) {
            continue;
        }
        if file.encrypted() {
            return Err(refuse(archive_kind, format!("entry `{name}` is encrypted")));
        }
        let remaining = MAX_TOTAL_UNCOMPRESSED - total;
        let mut content = Vec::new();
        (&mut file)
            .take(remaining + 1)
            .read_to_end(&mut content)
            .map_err(|error| {
                refuse(
                    archive_kind,
                    format!("entry `{name}` cannot be decompressed: {error}"),
                )
            })?;
        total += content.len() as u64;
        if total > MAX_TOTAL_UNCOMPRESSED {
            return Err(refuse(
                archive_kind,
                format!(
                    "its entries decompress to more than {} MiB (a zip bomb?); stopped at `{name}`",
                    MAX_TOTAL_UNCOMPRESSED / (1024 * 1024)
                ),
            ));
        }
        entries.push(Entry {
            name,
            bytes: content,
        });
    }
    Ok(entries)
}

/// The entry names of an archive (for sniffing), or `None` when it is not a zip.
pub fn entry_names(bytes: &[u8]) -> Option<Vec<String>> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    Some(
        archive
            .file_names()
            .take(MAX_ENTRIES + 1)
            .filter_map(Result::ok)
            .map(|name| name.into_owned())
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn refuses_traversal_bombs_and_garbage() {
        for name in ["../evil.kml", "/etc/doc.kml", "a/../../b.kml", "C:\\x.kml"] {
            let bytes = zip_of(&[(name, b"<kml/>")]);
            let error = read_entries(&bytes, "KMZ", |_| true).unwrap_err();
            assert!(
                error.to_string().contains("path traversal"),
                "{name}: {error}"
            );
        }
        assert!(is_safe_name("files/doc.kml"));
        // 300 MiB of zeros compress to well under 1 MiB.
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer
            .start_file(
                "doc.kml",
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true),
            )
            .unwrap();
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..300 {
            writer.write_all(&chunk).unwrap();
        }
        let bomb = writer.finish().unwrap().into_inner();
        assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
        let error = read_entries(&bomb, "KMZ", |_| true).unwrap_err();
        assert!(error.to_string().contains("zip bomb"), "{error}");
        let many: Vec<(String, Vec<u8>)> =
            (0..1001).map(|i| (format!("{i}.txt"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let error = read_entries(&zip_of(&refs), "KMZ", |_| true).unwrap_err();
        assert!(error.to_string().contains("1001 entries"), "{error}");
        assert!(read_entries(b"PK\x03\x04garbage", "KMZ", |_| true).is_err());
    }
}
