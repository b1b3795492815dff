//! Playbooks: what comms teams write, per incident kind, about what to watch
//! and what to do.
//!
//! Text goes through the raw serde mirror in [`raw`] and the checks in
//! [`validate`] into the validated types of [`model`], the only form the
//! engine sees.

pub mod model;
pub mod raw;
pub mod validate;

pub use model::*;
pub use validate::{load_dir, parse, TemplateCatalog};
