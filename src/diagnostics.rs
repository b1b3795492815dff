//! Problems found in what people wrote (playbooks, config, templates), each
//! pointing at file, line and column, with a hint on how to fix it.
//!
//! Validation never stops at the first problem: every validator returns the
//! value it could build *and* the list of diagnostics, errors kept apart from
//! warnings.
//!
//! Two renderings: [`render_human`] draws rustc-style snippets through miette
//! for people at a terminal; [`render_json`] is one JSON array for editors and
//! CI.

use crate::yaml_pos::Pos;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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

/// Diagnostics with this code mark text that may be a secret: renderers mask
/// it in every snippet, and its message never quotes it.
pub const SECRET_CODE: &str = "config::inline-credential";

impl Diagnostic {
    /// A diagnostic at `pos` in `file`, without a hint.
    pub fn at(
        severity: Severity,
        code: &'static str,
        file: &Path,
        pos: Pos,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            file: file.to_path_buf(),
            line: pos.line,
            column: pos.column,
            offset: pos.offset,
            len: pos.len,
            message: message.into(),
            hint: None,
        }
    }

    /// The same diagnostic, with a hint on how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Whether any diagnostic is an error (warnings alone do not fail validation).
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// How [`render_human_with`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours.
    pub colour: bool,
    /// Unicode box drawing rather than ASCII.
    pub unicode: bool,
}

impl RenderOptions {
    /// Monochrome ASCII: stable text for files, pipes and tests.
    pub const PLAIN: RenderOptions = RenderOptions {
        colour: false,
        unicode: false,
    };

    /// Colour and unicode only when stderr is a terminal and `NO_COLOR` is unset.
    pub fn detect() -> Self {
        let terminal = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        RenderOptions {
            colour: terminal,
            unicode: terminal,
        }
    }
}

/// Reads a file for snippets; the usual `sources` for [`render_human`].
pub fn source_from_disk(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Renders every diagnostic rustc-style: per file, errors first then
/// warnings, each with `file:line:col`, a snippet with the span marked, and
/// its hint as help; then a summary line ("2 errors, 1 warning"). Colour as
/// [`RenderOptions::detect`] says.
pub fn render_human(diags: &[Diagnostic], sources: &dyn Fn(&Path) -> Option<String>) -> String {
    render_human_with(diags, sources, RenderOptions::detect())
}

/// [`render_human`] with explicit options.
pub fn render_human_with(
    diags: &[Diagnostic],
    sources: &dyn Fn(&Path) -> Option<String>,
    options: RenderOptions,
) -> String {
    let handler = handler(options);
    let mut out = String::new();
    for (file, in_file) in by_file(diags) {
        let source = sources(file).map(|src| mask_secrets(src, &in_file));
        for diag in in_file {
            out.push_str(&render_one(&handler, diag, source.as_deref()));
            out.push('\n');
        }
    }
    out.push_str(&summary(diags));
    out.push('\n');
    out
}

/// "2 errors, 1 warning".
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One JSON array of `{severity, code, file, line, column, message, hint}`.
pub fn render_json(diags: &[Diagnostic]) -> String {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "file": d.file.to_string_lossy(),
                "line": d.line,
                "column": d.column,
                "message": d.message,
                "hint": d.hint,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned())
}

fn handler(options: RenderOptions) -> GraphicalReportHandler {
    let theme = match (options.unicode, options.colour) {
        (true, true) => GraphicalTheme::unicode(),
        (true, false) => GraphicalTheme::unicode_nocolor(),
        (false, true) => GraphicalTheme::ascii(),
        (false, false) => GraphicalTheme::none(),
    };
    // No wrapping: hints often quote code (`0 0 2 * * Sun`) that must not break.
    GraphicalReportHandler::new_themed(theme)
        .with_wrap_lines(false)
        .with_links(false)
}

/// Files in order of first appearance, each with its errors (by position)
/// and then its warnings.
fn by_file(diags: &[Diagnostic]) -> Vec<(&Path, Vec<&Diagnostic>)> {
    let mut files: Vec<(&Path, Vec<&Diagnostic>)> = Vec::new();
    for diag in diags {
        match files
            .iter_mut()
            .find(|(file, _)| *file == diag.file.as_path())
        {
            Some((_, list)) => list.push(diag),
            None => files.push((diag.file.as_path(), vec![diag])),
        }
    }
    for (_, list) in &mut files {
        list.sort_by_key(|d| (d.severity, d.line, d.column));
    }
    files
}

/// Replaces the text of every possibly-secret span with `*`, byte for byte,
/// so that no snippet (not even a neighbouring one) can show it.
fn mask_secrets(mut src: String, diags: &[&Diagnostic]) -> String {
    for diag in diags.iter().filter(|d| d.code == SECRET_CODE) {
        let Some(range) = valid_range(&src, diag.offset, diag.len) else {
            continue;
        };
        let masked = "*".repeat(range.len());
        src.replace_range(range, &masked);
    }
    src
}

/// `offset..offset+len` if it lies inside `src` on character boundaries.
fn valid_range(src: &str, offset: usize, len: usize) -> Option<std::ops::Range<usize>> {
    let end = offset.checked_add(len)?;
    (end <= src.len() && src.is_char_boundary(offset) && src.is_char_boundary(end))
        .then_some(offset..end)
}

/// Byte span of a diagnostic in `src`: its own when it has one, else the
/// word at its line and column (template problems come with those only).
fn span_in(src: &str, diag: &Diagnostic) -> Option<std::ops::Range<usize>> {
    if diag.len > 0 {
        return valid_range(src, diag.offset, diag.len);
    }
    let line_start = src
        .split_inclusive('\n')
        .take(diag.line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let line = src.get(line_start..)?.lines().next().unwrap_or("");
    let column_byte = line
        .char_indices()
        .nth(diag.column.saturating_sub(1))
        .map_or(line.len(), |(b, _)| b);
    let word = line[column_byte..]
        .split_whitespace()
        .next()
        .map_or(0, str::len);
    valid_range(
        src,
        line_start + column_byte,
        word.max(usize::from(column_byte < line.len())),
    )
}

fn render_one(handler: &GraphicalReportHandler, diag: &Diagnostic, source: Option<&str>) -> String {
    let location = format!("{}:{}:{}", diag.file.display(), diag.line, diag.column);
    let severity = match diag.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut report = MietteDiagnostic::new(diag.message.clone())
        .with_code(diag.code)
        .with_severity(severity);
    if let Some(hint) = &diag.hint {
        report = report.with_help(hint.clone());
    }
    let span = source.and_then(|src| span_in(src, diag).map(|range| (src, range)));
    let report = match span {
        Some((src, range)) => {
            Report::new(report.with_label(LabeledSpan::underline(range))).with_source_code(
                NamedSource::new(diag.file.display().to_string(), src.to_owned()),
            )
        }
        // No snippet to show: say where in words, in the message itself.
        None => Report::new(MietteDiagnostic {
            message: format!("{}\n  --> {location}", diag.message),
            ..report
        }),
    };
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!(
            "{}[{}]: {} at {location}\n",
            severity_word(diag.severity),
            diag.code,
            diag.message
        );
    }
    out
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(
        severity: Severity,
        line: usize,
        column: usize,
        offset: usize,
        len: usize,
    ) -> Diagnostic {
        let pos = Pos {
            line,
            column,
            offset,
            len,
        };
        Diagnostic::at(
            severity,
            "playbook::unknown-key",
            Path::new("pb.yaml"),
            pos,
            "unknown key `windw`",
        )
        .with_hint("did you mean `window`?")
    }

    const SRC: &str = "name: x\nwindw: 5m\n";

    #[test]
    fn the_summary_counts_errors_and_warnings_with_plurals() {
        let diags = [
            diag(Severity::Error, 2, 1, 8, 5),
            diag(Severity::Error, 2, 1, 8, 5),
            diag(Severity::Warning, 1, 1, 0, 4),
        ];
        assert_eq!(summary(&diags), "2 errors, 1 warning");
        assert_eq!(summary(&[]), "0 errors, 0 warnings");
    }

    #[test]
    fn human_output_names_the_place_shows_the_line_and_the_hint() {
        let out = render_human_with(
            &[diag(Severity::Error, 2, 1, 8, 5)],
            &|_| Some(SRC.to_owned()),
            RenderOptions::PLAIN,
        );
        assert!(out.contains("pb.yaml:2:1"), "{out}");
        assert!(out.contains("windw: 5m"), "{out}");
        assert!(out.contains("did you mean `window`?"), "{out}");
        assert!(out.ends_with("1 error, 0 warnings\n"), "{out}");
    }

    #[test]
    fn errors_come_before_warnings_within_a_file() {
        let diags = [
            diag(Severity::Warning, 1, 1, 0, 4),
            diag(Severity::Error, 2, 1, 8, 5),
        ];
        let out = render_human_with(&diags, &|_| Some(SRC.to_owned()), RenderOptions::PLAIN);
        let error_at = out.find("pb.yaml:2:1").unwrap_or(usize::MAX);
        let warning_at = out.find("pb.yaml:1:1").unwrap_or(0);
        assert!(error_at < warning_at, "{out}");
    }

    #[test]
    fn without_the_source_the_place_is_still_given() {
        let out = render_human_with(
            &[diag(Severity::Error, 2, 1, 8, 5)],
            &|_| None,
            RenderOptions::PLAIN,
        );
        assert!(out.contains("pb.yaml:2:1"), "{out}");
    }

    #[test]
    fn a_span_without_length_is_taken_from_line_and_column() {
        let mut d = diag(Severity::Error, 2, 8, 0, 0);
        d.column = 8;
        assert_eq!(span_in(SRC, &d), Some(15..17));
    }

    #[test]
    fn json_output_has_every_field_and_no_offsets() {
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&[diag(Severity::Warning, 2, 1, 8, 5)]))
                .unwrap_or_default();
        let first = &json[0];
        assert_eq!(first["severity"], "warning");
        assert_eq!(first["line"], 2);
        assert_eq!(first["hint"], "did you mean `window`?");
        assert!(first.get("offset").is_none());
    }

    #[test]
    fn secret_spans_are_masked_in_every_snippet() {
        let src = "token: hunter2\nother: x\n";
        let secret = Diagnostic::at(
            Severity::Error,
            SECRET_CODE,
            Path::new("c.yaml"),
            Pos {
                line: 1,
                column: 8,
                offset: 7,
                len: 7,
            },
            "not a variable name",
        );
        let neighbour = Diagnostic::at(
            Severity::Error,
            "config::unknown-key",
            Path::new("c.yaml"),
            Pos {
                line: 2,
                column: 1,
                offset: 15,
                len: 5,
            },
            "unknown key",
        );
        let out = render_human_with(
            &[secret, neighbour],
            &|_| Some(src.to_owned()),
            RenderOptions::PLAIN,
        );
        assert!(!out.contains("hunter2"), "{out}");
    }
}

/// An error and its causes on one line (`a: b: c`), for logs: `%e` shows
/// only the outermost message ("store query failed: complete outbox row"),
/// where the operator needs the database's reason too. A cause whose text
/// the previous message already ends with is not repeated.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod chain_tests {
    #[derive(Debug, thiserror::Error)]
    #[error("store query failed: complete outbox row")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("error returned from database: violates check constraint")]
    struct Middle(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("violates check constraint")]
    struct Inner;

    #[test]
    fn a_log_line_names_every_cause_once() {
        assert_eq!(
            super::chain(&Outer(Middle(Inner))),
            "store query failed: complete outbox row: \
             error returned from database: violates check constraint"
        );
    }
}
