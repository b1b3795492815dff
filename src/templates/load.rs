//! Turning a directory of `*.hbs` files into compiled template variants:
//! file names to template names and languages, files to phrasings, and
//! handlebars' compile errors to problems that point into the file.
//!
//! Positions are always relative to the whole file, even though each
//! phrasing is compiled on its own.

use super::TemplateProblem;
use handlebars::template::Template;
use handlebars::TemplateErrorReason;
use std::path::{Path, PathBuf};

/// The line that separates two phrasings of one template.
pub(super) const PHRASING_SEPARATOR: &str = "{{!-- phrasing --}}";

/// Two-letter ISO 639-1 language codes.
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// A 1-based line and column (in characters) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
}

/// One phrasing of a template variant, compiled.
#[derive(Debug)]
pub(super) struct Phrasing {
    /// Key under which it is registered with handlebars.
    pub key: String,
    /// Line of the file on which this phrasing's text starts.
    pub first_line: usize,
    /// This phrasing's own source text.
    pub source: String,
    pub template: Template,
}

impl Phrasing {
    /// Converts a position inside this phrasing to one inside the file.
    pub fn to_file(&self, position: Position) -> Position {
        Position {
            line: position.line + self.first_line - 1,
            column: position.column,
        }
    }
}

/// A template in one language: at least one phrasing, by construction.
#[derive(Debug)]
pub(super) struct Variant {
    pub file: PathBuf,
    pub first: Phrasing,
    pub rest: Vec<Phrasing>,
}

impl Variant {
    pub fn phrasings(&self) -> impl Iterator<Item = &Phrasing> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    /// Phrasing `seed % n`: the same seed always gets the same sentence.
    pub fn pick(&self, seed: u64) -> &Phrasing {
        let count = self.rest.len() as u64 + 1;
        match usize::try_from(seed % count) {
            Ok(0) | Err(_) => &self.first,
            Ok(index) => self.rest.get(index - 1).unwrap_or(&self.first),
        }
    }
}

/// Where a file's template lives: its name and its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileIdentity {
    pub name: String,
    pub lang: String,
}

/// Every `*.hbs` file under `dir`, recursively, in a stable order.
pub(super) fn discover(dir: &Path) -> (Vec<PathBuf>, Vec<TemplateProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    walk(dir, &mut files, &mut problems);
    files.sort();
    (files, problems)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<TemplateProblem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(problem_at(
                dir,
                Position::START,
                format!("cannot read the template directory: {error}"),
                Some("check `templates_dir` in the configuration".to_owned()),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, files, problems);
        } else if path.extension().is_some_and(|ext| ext == "hbs") {
            files.push(path);
        }
    }
}

/// `status/site-down.pl.hbs` → (`status/site-down`, `pl`); a file without a
/// language suffix is the default language's variant.
pub(super) fn identify(
    dir: &Path,
    file: &Path,
    default_language: &str,
) -> Result<FileIdentity, TemplateProblem> {
    let invalid = |message: String, hint: &str| {
        problem_at(file, Position::START, message, Some(hint.to_owned()))
    };
    let relative = file.strip_prefix(dir).unwrap_or(file);
    let Some(relative) = relative.to_str() else {
        return Err(invalid(
            "the file name is not valid UTF-8".to_owned(),
            "rename the file using UTF-8 characters",
        ));
    };
    let relative = relative.replace('\\', "/");
    let stem = relative.strip_suffix(".hbs").unwrap_or(&relative);
    let (name, lang) = match stem.rsplit_once('.') {
        Some((name, suffix)) if is_language_like(suffix) => {
            let lang = suffix.to_ascii_lowercase();
            if suffix.len() != 2 || !ISO_639_1.contains(&lang.as_str()) {
                return Err(invalid(
                    format!("`{suffix}` is not an ISO 639-1 language code"),
                    "use a two-letter code such as `en`, `pl`, `he`, `ru` or `ja`, e.g. `site-down.pl.hbs`",
                ));
            }
            (name, lang)
        }
        _ => (stem, default_language.to_owned()),
    };
    if name.is_empty() || name.ends_with('/') {
        return Err(invalid(
            "the file name has no template name".to_owned(),
            "name the file like `site-down.en.hbs`",
        ));
    }
    Ok(FileIdentity {
        name: name.to_owned(),
        lang,
    })
}

/// A template name with what belongs to file names taken off:
/// `notify/opened.en.hbs`, `notify/opened.hbs` and `notify/opened.pl` are
/// all `notify/opened`.
pub(super) fn strip_file_suffixes(name: &str) -> &str {
    let name = name.strip_suffix(".hbs").unwrap_or(name);
    match name.rsplit_once('.') {
        Some((bare, suffix))
            if !bare.is_empty()
                && !bare.ends_with('/')
                && ISO_639_1.contains(&suffix.to_ascii_lowercase().as_str()) =>
        {
            bare
        }
        _ => name,
    }
}

/// A suffix that someone meant as a language (letters only), as opposed to a
/// dot that is part of the name (`v1.2`).
fn is_language_like(suffix: &str) -> bool {
    !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_alphabetic())
}

/// A phrasing's text and the file line it starts on, before compiling.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RawPhrasing<'a> {
    pub first_line: usize,
    pub source: &'a str,
}

/// Splits a file at lines that consist of exactly [`PHRASING_SEPARATOR`].
pub(super) fn split_phrasings(source: &str) -> Vec<RawPhrasing<'_>> {
    let mut phrasings = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (index, line) in source.split_inclusive('\n').enumerate() {
        let line_number = index + 1;
        if line.trim_end_matches(['\n', '\r']) == PHRASING_SEPARATOR {
            phrasings.push(RawPhrasing {
                first_line,
                source: &source[start..offset],
            });
            start = offset + line.len();
            first_line = line_number + 1;
        }
        offset += line.len();
    }
    phrasings.push(RawPhrasing {
        first_line,
        source: &source[start..],
    });
    phrasings
}

/// Compiles one phrasing, or says where and why it does not compile.
pub(super) fn compile(
    file: &Path,
    raw: &RawPhrasing<'_>,
    number: usize,
) -> Result<Template, TemplateProblem> {
    let at_file = |position: Position| Position {
        line: position.line + raw.first_line - 1,
        column: position.column,
    };
    if raw.source.trim().is_empty() {
        let message = if number == 1 && raw.first_line == 1 && !raw.source.contains('\n') {
            "the template is empty".to_owned()
        } else {
            format!("phrasing {number} is empty")
        };
        return Err(problem_at(
            file,
            at_file(Position::START),
            message,
            Some(format!(
                "write the text, or remove the extra `{PHRASING_SEPARATOR}` line"
            )),
        ));
    }
    Template::compile(raw.source).map_err(|error| {
        let reported = error
            .pos()
            .map(|(line, column)| Position { line, column })
            .unwrap_or(Position::START);
        let (position, message, hint) = match unclosed_at_end(raw.source, reported, &error) {
            Some((offset, Unclosed::Tag)) => (
                position_of(raw.source, offset),
                "this `{{` is never closed by `}}`".to_owned(),
                "add the missing `}}`, or write a literal `{{` as `\\{{`".to_owned(),
            ),
            Some((offset, Unclosed::Block(name))) => (
                position_of(raw.source, offset),
                format!("`{{{{#{name}}}}}` is opened here but never closed"),
                format!("close it with `{{{{/{name}}}}}`"),
            ),
            None => (
                reported,
                error.reason().to_string(),
                hint_for(error.reason()),
            ),
        };
        problem_at(file, at_file(position), message, Some(hint))
    })
}

fn hint_for(reason: &TemplateErrorReason) -> String {
    match reason {
        TemplateErrorReason::MismatchingClosedHelper(open, close) => {
            format!("close `{{{{#{open}}}}}` with `{{{{/{open}}}}}` before `{{{{/{close}}}}}`")
        }
        TemplateErrorReason::NestedSubexpression => {
            "handlebars cannot nest `( … )` inside `( … )`; split the condition".to_owned()
        }
        _ => "check that every `{{` is closed by `}}` and every `{{#block}}` by `{{/block}}`; \
              write a literal `{{` as `\\{{`"
            .to_owned(),
    }
}

/// What was left open when the source ended.
#[derive(Debug, PartialEq, Eq)]
enum Unclosed {
    /// A `{{` without its `}}`.
    Tag,
    /// A `{{#name …}}` without its `{{/name}}`.
    Block(String),
}

/// Handlebars reports a tag or block that is never closed at the end of the
/// input; the author needs the place where it was opened.
fn unclosed_at_end(
    source: &str,
    reported: Position,
    error: &handlebars::TemplateError,
) -> Option<(usize, Unclosed)> {
    if !matches!(error.reason(), TemplateErrorReason::InvalidSyntax(_)) {
        return None;
    }
    let at_end = reported == position_of(source, source.len())
        || reported == position_of(source, source.trim_end().len());
    if !at_end {
        return None;
    }
    last_unclosed(source)
}

/// The first unterminated `{{`, else the innermost `{{#block}}` without its
/// `{{/block}}`, by a plain scan of the tags (comments and escaped `\{{`
/// skipped).
fn last_unclosed(source: &str) -> Option<(usize, Unclosed)> {
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut cursor = 0;
    while let Some(found) = source.get(cursor..).and_then(|rest| rest.find("{{")) {
        let start = cursor + found;
        let rest = &source[start + 2..];
        if source[..start].ends_with('\\') {
            cursor = start + 2;
            continue;
        }
        let closing = if rest.starts_with("!--") {
            "--}}"
        } else {
            "}}"
        };
        let Some(length) = rest.find(closing) else {
            return Some((start, Unclosed::Tag));
        };
        cursor = start + 2 + length + closing.len();
        let tag = rest[..length].trim_start_matches('~').trim_start();
        if let Some(name) = tag.strip_prefix('#').map(block_name) {
            open.push((start, name));
        } else if let Some(name) = tag.strip_prefix('/').map(block_name) {
            if open.last().is_some_and(|(_, top)| *top == name) {
                open.pop();
            }
        }
    }
    open.pop()
        .map(|(start, name)| (start, Unclosed::Block(name)))
}

fn block_name(tag: &str) -> String {
    tag.trim_start_matches(['>', '*'])
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '~' || c == '}')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Line and column (in characters) of a byte offset.
pub(super) fn position_of(source: &str, offset: usize) -> Position {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Byte offset of a line and column (in characters); `None` past the end.
pub(super) fn offset_of(source: &str, position: Position) -> Option<usize> {
    let line_start = if position.line <= 1 {
        0
    } else {
        source
            .match_indices('\n')
            .nth(position.line - 2)
            .map(|(i, _)| i + 1)?
    };
    let line = &source[line_start..];
    let within = line
        .char_indices()
        .nth(position.column.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    Some(line_start + within)
}

fn floor_char_boundary(source: &str, mut offset: usize) -> usize {
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

pub(super) fn problem_at(
    file: &Path,
    position: Position,
    message: String,
    hint: Option<String>,
) -> TemplateProblem {
    TemplateProblem {
        file: file.to_path_buf(),
        line: position.line,
        column: position.column,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_template_names_and_languages() {
        let dir = Path::new("/t");
        let cases = [
            ("/t/status/site-down.pl.hbs", "status/site-down", "pl"),
            ("/t/status/site-down.hbs", "status/site-down", "en"),
            ("/t/reply.HE.hbs", "reply", "he"),
            ("/t/v1.2.hbs", "v1.2", "en"),
        ];
        for (file, name, lang) in cases {
            let identity = identify(dir, Path::new(file), "en").unwrap();
            assert_eq!(
                identity,
                FileIdentity {
                    name: name.into(),
                    lang: lang.into()
                },
                "{file}"
            );
        }
    }

    #[test]
    fn language_and_extension_are_taken_off_a_name() {
        for (written, bare) in [
            ("notify/opened.en.hbs", "notify/opened"),
            ("notify/opened.hbs", "notify/opened"),
            ("notify/opened.PL", "notify/opened"),
            ("notify/opened", "notify/opened"),
            ("v1.2", "v1.2"),
            ("x/.en", "x/.en"),
        ] {
            assert_eq!(strip_file_suffixes(written), bare, "{written}");
        }
    }

    #[test]
    fn a_suffix_that_is_not_a_language_code_is_a_problem() {
        for file in ["/t/reply.english.hbs", "/t/reply.xx.hbs", "/t/.pl.hbs"] {
            assert!(
                identify(Path::new("/t"), Path::new(file), "en").is_err(),
                "{file}"
            );
        }
    }

    #[test]
    fn phrasings_are_split_at_separator_lines_and_remember_their_first_line() {
        let source = "one\n{{!-- phrasing --}}\ntwo\nlines\n{{!-- phrasing --}}\r\nthree";
        let phrasings = split_phrasings(source);
        assert_eq!(
            phrasings,
            vec![
                RawPhrasing {
                    first_line: 1,
                    source: "one\n"
                },
                RawPhrasing {
                    first_line: 3,
                    source: "two\nlines\n"
                },
                RawPhrasing {
                    first_line: 6,
                    source: "three"
                },
            ]
        );
    }

    #[test]
    fn a_separator_inside_a_line_is_not_a_separator() {
        let phrasings = split_phrasings("a {{!-- phrasing --}} b");
        assert_eq!(phrasings.len(), 1);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let source = "żółw\nשלום {{x}}";
        let offset = source.find("{{").unwrap();
        let position = position_of(source, offset);
        assert_eq!(position, Position { line: 2, column: 6 });
        assert_eq!(offset_of(source, position), Some(offset));
    }

    #[test]
    fn the_innermost_unclosed_block_is_found() {
        let source =
            "{{#if a}}{{/if}}\n{{!-- {{#each}} --}}\\{{#raw}}\n{{#each xs}}{{#if b}}{{/if}}";
        let (offset, unclosed) = last_unclosed(source).unwrap();
        assert_eq!(unclosed, Unclosed::Block("each".to_owned()));
        assert_eq!(position_of(source, offset), Position { line: 3, column: 1 });
    }

    #[test]
    fn an_unterminated_tag_is_found_before_any_block() {
        let source = "{{#if a}}\nb {{oops\n";
        let (offset, unclosed) = last_unclosed(source).unwrap();
        assert_eq!(unclosed, Unclosed::Tag);
        assert_eq!(position_of(source, offset), Position { line: 2, column: 3 });
    }

    #[test]
    fn compile_errors_point_into_the_file_not_the_phrasing() {
        let raw = RawPhrasing {
            first_line: 4,
            source: "ok\n{{#if x}} b {{/each}}",
        };
        let problem = compile(Path::new("f.hbs"), &raw, 2).unwrap_err();
        assert_eq!((problem.line, problem.column), (5, 13));
    }

    #[test]
    fn an_empty_phrasing_is_a_problem() {
        let raw = RawPhrasing {
            first_line: 3,
            source: "\n  \n",
        };
        let problem = compile(Path::new("f.hbs"), &raw, 2).unwrap_err();
        assert_eq!(problem.message, "phrasing 2 is empty");
        assert_eq!(problem.line, 3);
    }
}
