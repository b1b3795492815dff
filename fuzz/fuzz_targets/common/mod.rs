//! What the fuzz targets share: the example brand (config, templates) built
//! into squall, loaded once per process, and the invariants every
//! diagnostic must keep.

#![allow(dead_code)] // each target uses its own part

use squall::config::Config;
use squall::diagnostics::{self, Diagnostic, RenderOptions};
use squall::templates::TemplateSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The built-in example, unpacked into the temporary directory.
pub struct Example {
    pub root: PathBuf,
    pub config: Config,
    pub templates: TemplateSet,
}

/// Environment lookups answer every credential name, so that configs naming
/// variables exercise the paths after the lookup too; squall's own
/// overrides (`SQUALL_STORE`, ...) stay unset, as on a plain machine.
pub fn env(name: &str) -> Option<String> {
    (!name.starts_with("SQUALL_")).then(|| format!("fuzz-value-of-{name}"))
}

pub fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let scratch = std::env::temp_dir().join(format!("squall-fuzz-{}", std::process::id()));
        let ex = squall::embedded::unpack(&scratch).expect("unpack the built-in example");
        let (config, diags) = squall::config::load(Some(&ex.config()), &env);
        assert!(
            !diagnostics::has_errors(&diags),
            "the example config must validate: {diags:?}"
        );
        let config = config.expect("the example config");
        let (templates, problems) =
            TemplateSet::load_dir(&ex.root.join("templates"), &config.default_language);
        assert!(
            problems.is_empty(),
            "the example templates load: {problems:?}"
        );
        Example {
            root: ex.root,
            config,
            templates,
        }
    })
}

/// `src` with every possibly-secret span blanked out: the text a message
/// may quote without leaking anything.
fn outside_secrets(src: &str, diags: &[Diagnostic]) -> String {
    let mut out = src.to_owned();
    for d in diags.iter().filter(|d| d.code == diagnostics::SECRET_CODE) {
        if let Some(end) = d.offset.checked_add(d.len).filter(|&e| e <= out.len()) {
            if out.is_char_boundary(d.offset) && out.is_char_boundary(end) {
                out.replace_range(d.offset..end, &"\0".repeat(end - d.offset));
            }
        }
    }
    out
}

/// Every diagnostic points somewhere real in `src` and says something, and
/// both renderers (terminal and JSON) take them without panicking.
pub fn check_diagnostics(src: &str, file: &Path, diags: &[Diagnostic]) {
    let lines = src.split('\n').count();
    for d in diags {
        if d.file != file {
            // A template's problem is placed in the template file, saying
            // which step uses it; its position is in that file, not `src`.
            assert_eq!(
                d.code, "playbook::template",
                "diagnostic in another file: {d:?}"
            );
            assert!(
                d.file.is_file(),
                "diagnostic in a file that is not there: {d:?}"
            );
            assert!(d.line >= 1 && d.column >= 1, "positions are 1-based: {d:?}");
            continue;
        }
        assert!(
            !d.message.trim().is_empty(),
            "diagnostic without a message: {d:?}"
        );
        assert!(!d.code.is_empty(), "diagnostic without a code: {d:?}");
        assert!(d.line >= 1 && d.column >= 1, "positions are 1-based: {d:?}");
        assert!(
            d.line <= lines,
            "line {} past the end ({lines} lines): {d:?}",
            d.line
        );
        if d.len > 0 {
            let end = d.offset.checked_add(d.len).expect("span overflows");
            assert!(end <= src.len(), "span past the end of the text: {d:?}");
            assert!(
                src.is_char_boundary(d.offset) && src.is_char_boundary(end),
                "span splits a character: {d:?}"
            );
            let line_of_offset = src[..d.offset].matches('\n').count() + 1;
            assert_eq!(line_of_offset, d.line, "span and line disagree: {d:?}");
        }
        if d.code == diagnostics::SECRET_CODE && d.len >= 6 {
            let secret = &src[d.offset..d.offset + d.len];
            // A message quotes names (an account, a field); it leaks the
            // secret only if the secret's text is nowhere else in the file
            // than in possibly-secret spans (a field named `my_token_x`
            // holding `token` is quoted by name, not leaked).
            let quoted = d.message.contains(secret) || d.hint.as_deref().unwrap_or("").contains(secret);
            assert!(
                !quoted || outside_secrets(src, diags).contains(secret),
                "a possible secret is quoted: {d:?}"
            );
        }
    }
    let source = src.to_owned();
    let human = diagnostics::render_human_with(
        diags,
        &|p: &Path| (p == file).then(|| source.clone()),
        RenderOptions::PLAIN,
    );
    assert!(human.contains(&diagnostics::summary(diags)));
    let json: serde_json::Value =
        serde_json::from_str(&diagnostics::render_json(diags)).expect("render_json is JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(diags.len()));
}
