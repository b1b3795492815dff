//! The example brand, compiled into the binary.
//!
//! `squall simulate` with no `squall.yaml` nearby (an installed binary run
//! from any directory) unpacks these into a scratch directory and replays
//! them, so the tour needs no checkout, no files and no credentials.

use include_dir::{include_dir, Dir};
use std::path::{Path, PathBuf};

static EXAMPLES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/examples");
static PLAYBOOKS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/playbooks");
static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Where the unpacked example lives.
pub struct Example {
    pub root: PathBuf,
}

impl Example {
    pub fn config(&self) -> PathBuf {
        self.root.join("examples/squall.yaml")
    }
    pub fn mentions(&self) -> PathBuf {
        self.root.join("examples/mentions.ndjson")
    }
    pub fn alerts(&self) -> PathBuf {
        self.root.join("examples/alerts.ndjson")
    }
}

/// Unpacks the example under `scratch` (idempotent: same version, same files).
///
/// # Errors
/// When the scratch directory cannot be written.
pub fn unpack(scratch: &Path) -> std::io::Result<Example> {
    let root = scratch.join(format!("squall-example-{}", env!("CARGO_PKG_VERSION")));
    for (dir, name) in [
        (&EXAMPLES, "examples"),
        (&PLAYBOOKS, "playbooks"),
        (&TEMPLATES, "templates"),
    ] {
        let target = root.join(name);
        std::fs::create_dir_all(&target)?;
        dir.extract(&target)?;
    }
    Ok(Example { root })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_unpacked_example_has_its_config_stream_playbooks_and_templates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ex = super::unpack(dir.path()).expect("unpack");
        assert!(ex.config().is_file() && ex.mentions().is_file() && ex.alerts().is_file());
        assert!(ex.root.join("playbooks/site-down.yaml").is_file());
        assert!(ex.root.join("templates/status/site-down.ja.hbs").is_file());
    }
}
