//! `entmoot graphql-schema`: prints the SDL, or checks a committed copy.

use std::path::PathBuf;

use anyhow::{Context, bail};

pub fn run(check: Option<PathBuf>) -> anyhow::Result<()> {
    let sdl = entmoot_schema::schema_sdl();
    match check {
        None => {
            print!("{sdl}");
            Ok(())
        }
        Some(path) => {
            let committed = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            if committed != sdl {
                bail!(
                    "{} is stale; regenerate it with `entmoot graphql-schema > {}`",
                    path.display(),
                    path.display()
                );
            }
            Ok(())
        }
    }
}
