//! The mention: one post, reply or direct message that names the brand.
//!
//! Mentions arrive as NDJSON (one JSON object a line) in the format documented
//! in `docs/mentions.md`. Customer text is data: nothing in this module, or
//! anywhere downstream, evaluates it as a template.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};

/// Who wrote a mention.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Author {
    /// Platform-specific stable id; conversations are keyed on it.
    pub id: String,
    /// `@handle` as shown on the platform.
    pub handle: String,
    /// Display name, used to address the person in a draft.
    #[serde(default)]
    pub name: Option<String>,
    /// Follower count. Used only to *flag* influential authors, never to
    /// reorder the reply queue (BRIEF lesson 9).
    #[serde(default)]
    pub followers: Option<u64>,
    /// Set by platforms that mark automated accounts; such authors get no
    /// drafts and no auto-replies.
    #[serde(default)]
    pub bot: bool,
}

/// One mention as squall stores and processes it.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Mention {
    /// Id on the platform; `(platform, id)` is unique, and ingest is idempotent on it.
    pub id: String,
    /// Platform name (`mastodon`, `bluesky`, `x`, ...).
    pub platform: String,
    /// The configured account (by squall name) the mention was addressed to.
    pub account: String,
    pub author: Author,
    pub text: String,
    /// ISO 639-1 code. When absent, squall detects it from the text.
    #[serde(default)]
    pub lang: Option<String>,
    /// When the author wrote it: event time, which drives detection.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Id of the post this one answers, if any.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// `true` for a direct (private) message rather than a public post.
    #[serde(default)]
    pub direct: bool,
}

/// Longest mention text squall accepts, in characters. Platforms cap posts
/// far below this; anything longer is a feed bug, not a customer.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Why a line of NDJSON is not a mention, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum MentionError {
    /// The line is not JSON at all (or is cut short).
    #[error("not valid JSON at column {column}: {source}")]
    Syntax {
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A required field is absent.
    #[error("missing field `{field}`, which {expected}")]
    MissingField {
        field: String,
        expected: &'static str,
    },
    /// A field squall does not know: usually a typo, so it is not ignored.
    #[error("unknown field `{field}`: {detail}")]
    UnknownField { field: String, detail: String },
    /// A field is present but its value is wrong.
    #[error("`{field}` {expected} ({detail})")]
    WrongType {
        field: String,
        expected: &'static str,
        detail: String,
    },
    /// The mention parsed but breaks a rule of [`Mention::check`].
    #[error("`{field}` {reason}")]
    Invalid { field: &'static str, reason: String },
    /// The line could not be read.
    #[error("could not read the line: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether a mention may be addressed to `account`, `known` being the
/// configured accounts by squall name (none configured: any is taken).
/// Every way in shares the rule and its words: `POST /v1/mentions`, the
/// NATS subject and `squall simulate`.
///
/// # Errors
/// What is wrong, naming the accounts there are.
pub fn check_account(
    account: &str,
    known: &std::collections::BTreeSet<String>,
) -> Result<(), String> {
    if known.is_empty() || known.contains(account) {
        return Ok(());
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    Err(format!(
        "`account` {account:?} is not a configured account (the config has: {})",
        names.join(", ")
    ))
}

/// Parses one NDJSON line into a mention and [checks](Mention::check) it.
pub fn parse_ndjson_line(line: &str) -> Result<Mention, MentionError> {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if !line.trim_start().starts_with('{') {
        return Err(not_an_object(line));
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let mention: Mention = serde_path_to_error::deserialize(&mut de).map_err(from_serde)?;
    de.end().map_err(|source| MentionError::Syntax {
        column: source.column(),
        source,
    })?;
    mention.check()?;
    Ok(mention)
}

/// Parses an NDJSON stream lazily, one mention a line, skipping blank lines.
///
/// Each item carries its 1-based line number so that a caller can report
/// `mentions.ndjson:17: ...` and carry on with the next line.
pub fn parse_ndjson<R: std::io::BufRead>(
    reader: R,
) -> impl Iterator<Item = (usize, Result<Mention, MentionError>)> {
    NdjsonLines {
        lines: reader.lines(),
        number: 0,
        failed: false,
    }
}

/// The iterator behind [`parse_ndjson`].
struct NdjsonLines<R> {
    lines: std::io::Lines<R>,
    number: usize,
    /// Set after a read error other than bad UTF-8: the reader may keep
    /// failing forever, so the stream ends there.
    failed: bool,
}

impl<R: std::io::BufRead> Iterator for NdjsonLines<R> {
    type Item = (usize, Result<Mention, MentionError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.number += 1;
            match self.lines.next()? {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => return Some((self.number, parse_ndjson_line(&line))),
                Err(err) => {
                    // Invalid UTF-8 consumes its line; anything else may repeat.
                    self.failed = err.kind() != std::io::ErrorKind::InvalidData;
                    return Some((self.number, Err(MentionError::Io(err))));
                }
            }
        }
    }
}

/// Turns a serde error into one that names the field and what it should be.
fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> MentionError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if matches!(
        inner.classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
    ) {
        return MentionError::Syntax {
            column: inner.column(),
            source: inner,
        };
    }
    // serde reports these two as plain messages; the field name is the
    // first back-quoted word in both ("missing field `text`").
    let message = inner.to_string();
    let parent = if path == "." {
        String::new()
    } else {
        format!("{path}.")
    };
    if let Some(name) = message
        .strip_prefix("missing field ")
        .and_then(first_quoted)
    {
        let field = format!("{parent}{name}");
        let expected = expectation(&field);
        return MentionError::MissingField { field, expected };
    }
    if let Some(name) = message
        .strip_prefix("unknown field ")
        .and_then(first_quoted)
    {
        let field = if path.ends_with(name) {
            path.clone()
        } else {
            format!("{parent}{name}")
        };
        return MentionError::UnknownField {
            field,
            detail: strip_position(&message),
        };
    }
    let expected = expectation(&path);
    MentionError::WrongType {
        field: path,
        expected,
        detail: strip_position(&message),
    }
}

/// The error for a line that holds JSON other than an object. serde would
/// read a struct from an array too, so such lines are stopped before it.
fn not_an_object(line: &str) -> MentionError {
    let found = match serde_json::from_str::<serde_json::Value>(line) {
        Err(source) => {
            return MentionError::Syntax {
                column: source.column(),
                source,
            }
        }
        Ok(serde_json::Value::Array(_)) => "an array",
        Ok(serde_json::Value::String(_)) => "a string",
        Ok(serde_json::Value::Number(_)) => "a number",
        Ok(serde_json::Value::Bool(_)) => "a boolean",
        Ok(serde_json::Value::Null) => "null",
        Ok(serde_json::Value::Object(_)) => "an object",
    };
    MentionError::WrongType {
        field: "mention".to_owned(),
        expected: "must be a JSON object with `id`, `platform`, `account`, `author`, `text` and `created_at`",
        detail: format!("found {found}"),
    }
}

/// The text between the first pair of back quotes.
fn first_quoted(message: &str) -> Option<&str> {
    let rest = message.strip_prefix('`')?;
    rest.split('`').next()
}

/// serde_json appends " at line 1 column 57" to data errors; for a
/// single-line record the column means little next to the field path.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// What a field must hold, in words.
fn expectation(field: &str) -> &'static str {
    match field {
        "created_at" => "must be an RFC 3339 time such as 2026-11-23T09:00:00Z",
        "id" | "platform" | "account" | "text" | "author.id" | "author.handle" => {
            "must be a string"
        }
        "lang" => "must be a two-letter ISO 639-1 language code such as \"en\", or null",
        "author" => "must be an object with at least `id` and `handle`",
        "author.name" | "in_reply_to" | "url" => "must be a string or null",
        "author.followers" => "must be a whole number of at least 0",
        "author.bot" | "direct" => "must be true or false",
        _ => "has the wrong type",
    }
}

impl Mention {
    /// Checks the rules serde cannot express. The first broken rule is reported.
    pub fn check(&self) -> Result<(), MentionError> {
        let required = [
            ("id", &self.id),
            ("platform", &self.platform),
            ("account", &self.account),
            ("author.id", &self.author.id),
            ("author.handle", &self.author.handle),
        ];
        for (field, value) in required {
            if value.trim().is_empty() {
                return Err(invalid(field, "must not be empty"));
            }
        }
        check_text(&self.text)?;
        if let Some(lang) = &self.lang {
            check_lang(lang)?;
        }
        check_created_at(self.created_at)
    }

    /// The mention's language: the one the platform gave, or else the one
    /// detected from the text (`None` when the text does not say).
    pub fn language(&self) -> Option<String> {
        match &self.lang {
            Some(lang) => Some(lang.clone()),
            None => detect_language(&self.text).map(str::to_owned),
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MentionError {
    MentionError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_text(text: &str) -> Result<(), MentionError> {
    if text.trim().is_empty() {
        return Err(invalid("text", "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(invalid(
            "text",
            format!("must be at most {MAX_TEXT_CHARS} characters, not {chars}"),
        ));
    }
    Ok(())
}

fn check_lang(lang: &str) -> Result<(), MentionError> {
    let well_formed = lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_lowercase());
    if well_formed {
        Ok(())
    } else {
        Err(invalid(
            "lang",
            format!("must be a two-letter lowercase ISO 639-1 code such as \"en\", not {lang:?}"),
        ))
    }
}

fn check_created_at(at: Timestamp) -> Result<(), MentionError> {
    use chrono::Datelike;
    if (2000..=2100).contains(&at.year()) {
        Ok(())
    } else {
        Err(invalid(
            "created_at",
            format!(
                "must be between the years 2000 and 2100, not {}",
                at.to_rfc3339()
            ),
        ))
    }
}

/// From this many letters on, whatlang's best guess is taken even when it is
/// unsure: on a sentence or more it is right far more often than not.
const LONG_TEXT_LETTERS: usize = 40;

/// Below [`LONG_TEXT_LETTERS`], the confidence whatlang must reach. Chosen on
/// short real complaints: at 0.25 and above its guesses were right, below it
/// they were noise ("le site ne marche pas" came out as Italian at 0.12).
const MIN_SHORT_CONFIDENCE: f64 = 0.25;

/// Latin-script languages considered. whatlang knows 37 of them, and on a
/// three-word complaint the rare ones win by accident ("site is down again"
/// comes out as Afrikaans); restricting the field to the languages brands
/// actually hear from makes short texts come out right.
static LATIN: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
    use whatlang::Lang::*;
    whatlang::Detector::with_allowlist(vec![Eng, Pol, Deu, Fra, Spa, Ita, Por, Nld, Tur, Swe, Ces])
});

/// Cyrillic languages considered: Russian is the default, Ukrainian and
/// Bulgarian must win confidently.
static CYRILLIC: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
    use whatlang::Lang::*;
    whatlang::Detector::with_allowlist(vec![Rus, Ukr, Bul])
});

/// Detects the language of a mention's text as an ISO 639-1 code.
///
/// Scripts that belong to one language decide on their own, however short
/// the text: Hebrew, Japanese kana, Hangul, Arabic, and Han without kana
/// (Chinese). Cyrillic is Russian unless it has Ukrainian letters or
/// whatlang is sure it is Ukrainian or Bulgarian. Latin text with Polish
/// letters (ą ę ł ń ś ź ż) is Polish. Anything else goes to whatlang, and a
/// short text it is unsure about gives `None`: no language is better than a
/// wrong one when a reply draft is written in it.
pub fn detect_language(text: &str) -> Option<&'static str> {
    let text = without_handles_and_links(text);
    let letters = LetterCounts::of(&text);
    match letters.dominant()? {
        Family::Hebrew => Some("he"),
        Family::Hangul => Some("ko"),
        Family::Arabic => Some("ar"),
        Family::Cjk if letters.kana_share_is_japanese() => Some("ja"),
        Family::Cjk => Some("zh"),
        Family::Cyrillic => Some(cyrillic_language(&text, &letters)),
        Family::Latin if letters.polish > 0 => Some("pl"),
        Family::Latin => LATIN
            .detect(&text)
            .and_then(|info| accept(&info, letters.total)),
        Family::Other => whatlang::detect(&text).and_then(|info| accept(&info, letters.total)),
    }
}

/// Russian unless the text says otherwise (see [`detect_language`]).
fn cyrillic_language(text: &str, letters: &LetterCounts) -> &'static str {
    if letters.ukrainian > 0 {
        return "uk";
    }
    match CYRILLIC.detect(text) {
        Some(info) if info.is_reliable() && info.lang() == whatlang::Lang::Ukr => "uk",
        Some(info) if info.is_reliable() && info.lang() == whatlang::Lang::Bul => "bg",
        _ => "ru",
    }
}

/// whatlang's guess, if it is sure enough for a text of this length.
fn accept(info: &whatlang::Info, letters: usize) -> Option<&'static str> {
    let sure = info.is_reliable()
        || info.confidence() >= MIN_SHORT_CONFIDENCE
        || letters >= LONG_TEXT_LETTERS;
    sure.then(|| iso_639_1(info.lang()))
}

/// `@handles` and links are not in any language, and they would outweigh a
/// three-word complaint.
fn without_handles_and_links(text: &str) -> String {
    let words = text.split_whitespace().filter(|word| {
        !(word.starts_with('@') || word.contains("://") || word.starts_with("www."))
    });
    let mut kept = String::with_capacity(text.len());
    for word in words {
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(word);
    }
    kept
}

/// Groups of scripts that matter for telling languages apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Latin,
    Cyrillic,
    Hebrew,
    Arabic,
    Hangul,
    /// Han ideographs and Japanese kana together.
    Cjk,
    Other,
}

/// Letters of a text counted by family, with the few letters that single out
/// one language.
#[derive(Debug, Default)]
struct LetterCounts {
    latin: usize,
    cyrillic: usize,
    hebrew: usize,
    arabic: usize,
    hangul: usize,
    han: usize,
    kana: usize,
    other: usize,
    total: usize,
    /// Letters only Polish uses among the languages considered.
    polish: usize,
    /// Letters Ukrainian has and Russian lacks.
    ukrainian: usize,
}

impl LetterCounts {
    fn of(text: &str) -> Self {
        let mut counts = Self::default();
        for ch in text.chars().filter(|c| c.is_alphabetic()) {
            counts.total += 1;
            match family_of(ch) {
                (Family::Latin, _) => counts.latin += 1,
                (Family::Cyrillic, _) => counts.cyrillic += 1,
                (Family::Hebrew, _) => counts.hebrew += 1,
                (Family::Arabic, _) => counts.arabic += 1,
                (Family::Hangul, _) => counts.hangul += 1,
                (Family::Cjk, true) => counts.kana += 1,
                (Family::Cjk, false) => counts.han += 1,
                (Family::Other, _) => counts.other += 1,
            }
            if matches!(
                ch,
                'ą' | 'ę'
                    | 'ł'
                    | 'ń'
                    | 'ś'
                    | 'ź'
                    | 'ż'
                    | 'Ą'
                    | 'Ę'
                    | 'Ł'
                    | 'Ń'
                    | 'Ś'
                    | 'Ź'
                    | 'Ż'
            ) {
                counts.polish += 1;
            }
            if matches!(ch, 'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ') {
                counts.ukrainian += 1;
            }
        }
        counts
    }

    /// The family with the most letters; ties go to the first listed.
    fn dominant(&self) -> Option<Family> {
        let families = [
            (Family::Cjk, self.han + self.kana),
            (Family::Hebrew, self.hebrew),
            (Family::Arabic, self.arabic),
            (Family::Hangul, self.hangul),
            (Family::Cyrillic, self.cyrillic),
            (Family::Latin, self.latin),
            (Family::Other, self.other),
        ];
        let (family, count) = families.into_iter().fold((Family::Other, 0), |best, next| {
            if next.1 > best.1 {
                next
            } else {
                best
            }
        });
        (count > 0).then_some(family)
    }

    /// Japanese mixes kana into Han text; Chinese has none. The 5 % share is
    /// whatlang's own rule for the same question.
    fn kana_share_is_japanese(&self) -> bool {
        self.kana > 0 && self.kana * 20 >= self.kana + self.han
    }
}

/// The family of a letter and, for CJK, whether it is kana.
fn family_of(ch: char) -> (Family, bool) {
    match ch {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
            (Family::Latin, false)
        }
        '\u{0400}'..='\u{052F}' => (Family::Cyrillic, false),
        '\u{0590}'..='\u{05FF}' | '\u{FB1D}'..='\u{FB4F}' => (Family::Hebrew, false),
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}' => (Family::Arabic, false),
        '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{AC00}'..='\u{D7AF}' => {
            (Family::Hangul, false)
        }
        '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF66}'..='\u{FF9F}' => {
            (Family::Cjk, true)
        }
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}' => (Family::Cjk, false),
        _ => (Family::Other, false),
    }
}

/// whatlang's ISO 639-3 languages as the ISO 639-1 codes squall uses.
fn iso_639_1(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang::*;
    match lang {
        Epo => "eo",
        Eng => "en",
        Rus => "ru",
        Cmn => "zh",
        Spa => "es",
        Por => "pt",
        Ita => "it",
        Ben => "bn",
        Fra => "fr",
        Deu => "de",
        Ukr => "uk",
        Kat => "ka",
        Ara => "ar",
        Hin => "hi",
        Jpn => "ja",
        Heb => "he",
        Yid => "yi",
        Pol => "pl",
        Amh => "am",
        Jav => "jv",
        Kor => "ko",
        Nob => "nb",
        Dan => "da",
        Swe => "sv",
        Fin => "fi",
        Tur => "tr",
        Nld => "nl",
        Hun => "hu",
        Ces => "cs",
        Ell => "el",
        Bul => "bg",
        Bel => "be",
        Mar => "mr",
        Kan => "kn",
        Ron => "ro",
        Slv => "sl",
        Hrv => "hr",
        Srp => "sr",
        Mkd => "mk",
        Lit => "lt",
        Lav => "lv",
        Est => "et",
        Tam => "ta",
        Vie => "vi",
        Urd => "ur",
        Tha => "th",
        Guj => "gu",
        Uzb => "uz",
        Pan => "pa",
        Aze => "az",
        Ind => "id",
        Tel => "te",
        Pes => "fa",
        Mal => "ml",
        Ori => "or",
        Mya => "my",
        Nep => "ne",
        Sin => "si",
        Khm => "km",
        Tuk => "tk",
        Aka => "ak",
        Zul => "zu",
        Sna => "sn",
        Afr => "af",
        Lat => "la",
        Slk => "sk",
        Cat => "ca",
        Tgl => "tl",
        Hye => "hy",
        Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"id":"m1","platform":"mastodon","account":"acme","author":{"id":"u1","handle":"@ann"},"text":"site is down again","created_at":"2026-11-23T09:00:00Z"}"#;

    /// `VALID` with one top-level field replaced by raw JSON.
    fn with(field: &str, raw: &str) -> String {
        let mut value: serde_json::Value = serde_json::from_str(VALID).expect("VALID is JSON");
        let replacement: serde_json::Value = serde_json::from_str(raw).expect("test JSON");
        value[field] = replacement;
        value.to_string()
    }

    fn error_of(line: &str) -> String {
        match parse_ndjson_line(line) {
            Ok(mention) => panic!("expected an error, parsed {mention:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn a_complete_line_parses_into_a_mention() {
        let mention = parse_ndjson_line(VALID).expect("valid line");
        assert_eq!(mention.id, "m1");
        assert_eq!(mention.author.handle, "@ann");
        assert_eq!(mention.lang, None);
        assert!(!mention.direct);
    }

    #[test]
    fn a_bad_time_says_what_a_good_one_looks_like() {
        let message = error_of(&with("created_at", r#""yesterday""#));
        assert!(
            message
                .starts_with("`created_at` must be an RFC 3339 time such as 2026-11-23T09:00:00Z"),
            "{message}"
        );
    }

    #[test]
    fn wrong_values_name_their_field_and_its_type() {
        let cases = [
            ("text", "42", "`text` must be a string"),
            ("direct", r#""yes""#, "`direct` must be true or false"),
            (
                "author",
                r#"{"id":"u1","handle":"@ann","followers":-3}"#,
                "`author.followers` must be a whole number",
            ),
            (
                "lang",
                "7",
                "`lang` must be a two-letter ISO 639-1 language code",
            ),
        ];
        for (field, raw, expected) in cases {
            let message = error_of(&with(field, raw));
            assert!(message.starts_with(expected), "{field}: {message}");
        }
    }

    #[test]
    fn a_missing_field_is_named_with_its_path() {
        let mut value: serde_json::Value = serde_json::from_str(VALID).expect("VALID is JSON");
        value["author"] = serde_json::json!({"id": "u1"});
        let message = error_of(&value.to_string());
        assert!(
            message.starts_with("missing field `author.handle`"),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_field_is_reported_rather_than_ignored() {
        let message = error_of(&with("txet", r#""typo""#));
        assert!(message.starts_with("unknown field `txet`"), "{message}");
    }

    #[test]
    fn broken_json_is_a_syntax_error_with_its_column() {
        let err = parse_ndjson_line(r#"{"id": "m1", "#).expect_err("truncated");
        assert!(matches!(err, MentionError::Syntax { .. }), "{err}");
        let err = parse_ndjson_line(&format!("{VALID} trailing")).expect_err("trailing text");
        assert!(matches!(err, MentionError::Syntax { .. }), "{err}");
    }

    #[test]
    fn a_line_that_is_not_an_object_says_what_a_mention_is() {
        let message = error_of("[1, 2]");
        assert!(
            message.starts_with("`mention` must be a JSON object"),
            "{message}"
        );
    }

    #[test]
    fn rules_beyond_types_are_checked() {
        let long = serde_json::Value::String("x".repeat(MAX_TEXT_CHARS + 1)).to_string();
        let cases = [
            ("id", r#""""#, "`id` must not be empty"),
            ("account", r#""  ""#, "`account` must not be empty"),
            ("text", r#"" \n ""#, "`text` must not be empty"),
            (
                "text",
                long.as_str(),
                "`text` must be at most 10000 characters",
            ),
            (
                "lang",
                r#""EN""#,
                "`lang` must be a two-letter lowercase ISO 639-1 code",
            ),
            (
                "lang",
                r#""eng""#,
                "`lang` must be a two-letter lowercase ISO 639-1 code",
            ),
            (
                "created_at",
                r#""1970-01-01T00:00:00Z""#,
                "`created_at` must be between the years 2000 and 2100",
            ),
            (
                "created_at",
                r#""2200-01-01T00:00:00Z""#,
                "`created_at` must be between the years 2000 and 2100",
            ),
        ];
        for (field, raw, expected) in cases {
            let message = error_of(&with(field, raw));
            assert!(
                message.starts_with(expected),
                "{field}={raw:.20}: {message}"
            );
        }
    }

    #[test]
    fn a_stream_reports_line_numbers_and_skips_blank_lines() {
        let input = format!("{VALID}\n\n   \n{{not json}}\n{}\n", with("id", r#""m2""#));
        let parsed: Vec<(usize, bool)> = parse_ndjson(input.as_bytes())
            .map(|(line, result)| (line, result.is_ok()))
            .collect();
        assert_eq!(parsed, vec![(1, true), (4, false), (5, true)]);
    }

    #[test]
    fn short_complaints_come_out_in_their_language() {
        let cases = [
            ("en", "is the app down for anyone?"),
            ("en", "why is nothing loading"),
            ("en", "the app keeps crashing"),
            ("en", "@acme_bank the app won't open https://t.co/x1"),
            ("pl", "nie działa"),
            ("pl", "strona nie działa"),
            ("pl", "przelew nie przeszedł"),
            ("pl", "nie mogę się zalogować"),
            ("he", "לא עובד"),
            ("he", "האתר נפל"),
            ("he", "אין קליטה"),
            ("ru", "не работает"),
            ("ru", "сайт опять лежит"),
            ("ru", "почему не работает"),
            ("ru", "не могу войти"),
            ("ja", "落ちてる?"),
            ("ja", "サイト落ちてる"),
            ("ja", "ログインできない"),
            ("ja", "またエラー"),
            ("uk", "сайт знову не працює"),
            ("ko", "사이트가 안 돼요"),
            ("ar", "الموقع لا يعمل"),
            ("zh", "网站打不开"),
            ("de", "Die Seite geht nicht"),
            ("fr", "le site ne marche pas du tout depuis ce matin"),
            ("tr", "sitesi çalışmıyor"),
        ];
        for (expected, text) in cases {
            assert_eq!(detect_language(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn a_short_text_in_no_clear_language_has_none() {
        for text in [
            "ok",
            "site is down again",
            "your website is not working",
            "???",
            "@acme https://acme.example",
        ] {
            assert_eq!(detect_language(text), None, "{text}");
        }
    }

    #[test]
    fn the_given_language_wins_over_detection() {
        let mut mention = parse_ndjson_line(VALID).expect("valid line");
        mention.text = "nie działa".to_owned();
        assert_eq!(mention.language().as_deref(), Some("pl"));
        mention.lang = Some("en".to_owned());
        assert_eq!(mention.language().as_deref(), Some("en"));
    }
}
