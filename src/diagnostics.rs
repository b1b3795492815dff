//! Problems found in what people wrote (playbooks, config, templates), each
//! pointing at file, line and column, with a hint on how to fix it.
//!
//! Validation never stops at the first problem: every validator returns the
//! value it could build *and* the list of diagnostics, errors kept apart from
//! warnings.

use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `playbook::unknown-key`.
    pub code: &'static str,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Byte offset into the file and length of the offending text, for snippets.
    #[serde(skip)]
    pub offset: usize,
    #[serde(skip)]
    pub len: usize,
    pub message: String,
    pub hint: Option<String>,
}
pub fn render_human(_d: &[Diagnostic], _s: &dyn Fn(&std::path::Path) -> Option<String>) -> String { todo!() }
pub fn render_json(_d: &[Diagnostic]) -> String { todo!() }
pub fn has_errors(d: &[Diagnostic]) -> bool { d.iter().any(|d| d.severity == Severity::Error) }
