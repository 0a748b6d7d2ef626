//! Embeds the web console's committed production bundle (`web/dist`) in the binary:
//! generates `$OUT_DIR/console_assets.rs`, a table of `(path, bytes)` with one
//! `include_bytes!` per file, so `cargo build` needs no Node.js and the binary serves
//! the console with no files beside it. Cargo reruns this when anything under
//! `web/dist` changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest_dir.join("../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    // Sorted, so the generated table (and the binary) does not depend on directory order.
    files.sort();
    let mut table = String::from("/// The web console's files: (path under web/dist, content).\n");
    table.push_str("pub static CONSOLE_FILES: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in &files {
        let _ = writeln!(table, "    ({relative:?}, include_bytes!({absolute:?})),");
    }
    table.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(error) = std::fs::write(out_dir.join("console_assets.rs"), table) {
        panic!("writing console_assets.rs in OUT_DIR: {error}");
    }
}

fn collect(root: &Path, directory: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, path.display().to_string()));
        }
    }
}
