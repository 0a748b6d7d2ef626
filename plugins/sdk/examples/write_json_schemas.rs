//! Regenerates `docs/schemas/*.schema.json` from the sdk's types:
//! `cargo run -p entmoot-plugin-sdk --example write_json_schemas`. The test
//! `plugins/sdk/tests/json_schemas.rs` fails while the committed files differ.

use std::path::Path;

use entmoot_plugin_sdk::json_schema::{SCHEMA_FILES, to_file_text};

fn main() -> std::io::Result<()> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
    std::fs::create_dir_all(&directory)?;
    for (file_name, make) in SCHEMA_FILES {
        let path = directory.join(file_name);
        std::fs::write(&path, to_file_text(&make()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
