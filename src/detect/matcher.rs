//! Keyword and phrase matching in any language.
//!
//! Playbooks name the words customers use when something breaks ("down",
//! "nie działa*", "לא עובד", "落ちて"), and this module decides whether a
//! mention's text contains them. It runs once per mention per trigger (and
//! again per open incident the mention may belong to), so phrases are
//! normalised once, up front, and a mention's text is normalised once, into
//! a [`Text`] that every matcher and every phrase searches.
//!
//! # Normalisation
//!
//! Text and phrases alike go through NFKC (which also folds full-width
//! `ＤＯＷＮ` and half-width `ｵﾁﾃﾙ` into their ordinary forms), then Unicode
//! lowercase, then lose their *optional* vowel marks: Hebrew niqqud and
//! cantillation, and Arabic harakat. Those are written by some people and not
//! by others, and must not decide a match. Other diacritics are letters in
//! their own right (Polish `ł`, German `ü`) and are kept.
//!
//! # Word boundaries
//!
//! In scripts that put spaces between words (Latin, Cyrillic, Greek,
//! Hebrew, Arabic...) a phrase matches whole words only: `down` matches
//! `Down!` and `#down` but not `download` or `breakdown`. A trailing `*`
//! makes the last letters open, for inflected languages: `działa*` matches
//! `działa`, `działają` and `działać`. Words of a phrase may be separated by
//! any run of whitespace in the text.
//!
//! Japanese, Chinese, Thai, Lao, Khmer and Myanmar do not separate words,
//! and Korean glues particles onto words (`서버가`), so a phrase in those
//! scripts matches as a substring: `落ちて` inside `サイト落ちてる`.
//!
//! A phrase that normalises to nothing (`""`, `"*"`) can never match; it is
//! kept rather than dropped so that `any: [""]` does not silently become
//! "match everything".

use unicode_normalization::UnicodeNormalization;

/// Decides whether a text is one a trigger cares about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matcher {
    any: Vec<Phrase>,
    all: Vec<Phrase>,
    none: Vec<Phrase>,
}

impl Matcher {
    /// `any`: at least one must occur (empty = no constraint); `all`: every one must occur;
    /// `none`: none may occur. Phrases, case-insensitive, Unicode-normalised.
    pub fn new(any: Vec<String>, all: Vec<String>, none: Vec<String>) -> Self {
        let compile = |phrases: Vec<String>| phrases.iter().map(|p| Phrase::new(p)).collect();
        Self {
            any: compile(any),
            all: compile(all),
            none: compile(none),
        }
    }

    /// Matches every text.
    pub fn everything() -> Self {
        Self::default()
    }

    pub fn is_everything(&self) -> bool {
        self.any.is_empty() && self.all.is_empty() && self.none.is_empty()
    }

    /// Whether `text` satisfies the `any`, `all` and `none` lists.
    pub fn matches(&self, text: &str) -> bool {
        self.matches_text(&Text::new(text))
    }

    /// [`matches`](Self::matches) for a text that several matchers look at:
    /// it is normalised at most once, by the first matcher that needs it.
    pub fn matches_text(&self, text: &Text<'_>) -> bool {
        if self.is_everything() {
            return true;
        }
        let text = text.normalized();
        let found = |phrase: &Phrase| phrase.occurs_in(text);
        (self.any.is_empty() || self.any.iter().any(found))
            && self.all.iter().all(found)
            && !self.none.iter().any(found)
    }
}

/// A text to match, normalised on first use and kept. A mention is matched
/// against every trigger that counts mentions and again against the
/// playbook of every open incident it may belong to; normalising it once
/// instead of at each of those cut the engine's own time per group of
/// mentions (the `decide` step of `benches/ingest_http.rs`) by a third or
/// more.
#[derive(Debug)]
pub struct Text<'a> {
    raw: &'a str,
    normalized: std::cell::OnceCell<String>,
}

impl<'a> Text<'a> {
    pub fn new(raw: &'a str) -> Self {
        Self {
            raw,
            normalized: std::cell::OnceCell::new(),
        }
    }

    fn normalized(&self) -> &str {
        self.normalized.get_or_init(|| normalize(self.raw))
    }
}

/// A phrase, normalised and split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Phrase {
    /// Never empty for a phrase that can match; see the module header.
    words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    /// Normalised, without the wildcard, never empty.
    text: String,
    /// Written with a trailing `*`: more letters may follow.
    open_end: bool,
}

impl Phrase {
    fn new(source: &str) -> Self {
        let normalized = normalize(source);
        let words = normalized
            .split_whitespace()
            .filter_map(Word::new)
            .collect();
        Self { words }
    }

    /// Whether the phrase occurs in an already normalised text.
    fn occurs_in(&self, text: &str) -> bool {
        let Some((first, rest)) = self.words.split_first() else {
            return false;
        };
        occurrences(text, &first.text).any(|start| {
            starts_word(text, start, &first.text)
                && first
                    .end_in(text, start)
                    .is_some_and(|end| rest_follows(text, end, first, rest))
        })
    }
}

impl Word {
    fn new(raw: &str) -> Option<Self> {
        let text = raw.trim_end_matches('*');
        (!text.is_empty()).then(|| Self {
            text: text.to_owned(),
            open_end: text.len() < raw.len(),
        })
    }

    /// Where the word ends if it occurs at `start` (which must be where its
    /// text begins) and its end is a word boundary: `None` if not.
    fn end_in(&self, text: &str, start: usize) -> Option<usize> {
        let end = start + self.text.len();
        let last = self.text.chars().next_back()?;
        if self.open_end {
            Some(end + word_tail_len(&text[end..]))
        } else if is_spaced_word_char(last)
            && text[end..].chars().next().is_some_and(is_spaced_word_char)
        {
            None
        } else {
            Some(end)
        }
    }
}

/// Every byte offset where `needle` starts in `text`, overlapping ones
/// included: in `xa-a-a` the phrase `a-a` fails at 1 and succeeds at 3.
fn occurrences<'t>(text: &'t str, needle: &'t str) -> impl Iterator<Item = usize> + 't {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + text.get(from..)?.find(needle)?;
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        Some(start)
    })
}

/// Whether the remaining words of a phrase follow, one after the other, from
/// byte `at` of the text. `previous` is the word just matched.
fn rest_follows(text: &str, at: usize, previous: &Word, rest: &[Word]) -> bool {
    let Some((word, rest)) = rest.split_first() else {
        return true;
    };
    let after = &text[at..];
    let gap = after.len() - after.trim_start().len();
    // Between two words of an unspaced script the text may have no space.
    let joined = previous.text.chars().next_back().is_some_and(is_unspaced)
        && word.text.chars().next().is_some_and(is_unspaced);
    if gap == 0 && !joined {
        return false;
    }
    let start = at + gap;
    text[start..].starts_with(word.text.as_str())
        && word
            .end_in(text, start)
            .is_some_and(|end| rest_follows(text, end, word, rest))
}

/// Whether a word found at byte `start` begins at a word boundary.
fn starts_word(text: &str, start: usize, word: &str) -> bool {
    let Some(first) = word.chars().next() else {
        return false;
    };
    !is_spaced_word_char(first)
        || !text[..start]
            .chars()
            .next_back()
            .is_some_and(is_spaced_word_char)
}

/// Length in bytes of the word characters at the start of `text` (what a
/// trailing `*` swallows).
fn word_tail_len(text: &str) -> usize {
    text.char_indices()
        .find(|&(_, c)| !is_spaced_word_char(c))
        .map_or(text.len(), |(i, _)| i)
}

/// Whether `c` is a letter of a script that separates words with spaces.
/// A phrase edge made of such a letter must sit on a word boundary, that is,
/// next to anything but another such letter. Edges of punctuation (`#down`)
/// or of unspaced scripts need none, and unspaced letters are no obstacle:
/// `down` still matches in `サイトdown`.
fn is_spaced_word_char(c: char) -> bool {
    is_word_char(c) && !is_unspaced(c)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || unicode_normalization::char::is_combining_mark(c)
}

/// Scripts whose words are not separated by spaces (see the module header).
fn is_unspaced(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}'       // Thai, Lao
        | '\u{1000}'..='\u{109F}'     // Myanmar
        | '\u{1780}'..='\u{17FF}'     // Khmer
        | '\u{1100}'..='\u{11FF}'     // Hangul Jamo
        | '\u{2E80}'..='\u{2FDF}'     // CJK radicals
        | '\u{3005}'..='\u{3007}'     // 々 〆 〇
        | '\u{3040}'..='\u{30FF}'     // Hiragana, Katakana
        | '\u{3130}'..='\u{318F}'     // Hangul compatibility Jamo
        | '\u{31F0}'..='\u{31FF}'     // Katakana extensions
        | '\u{3400}'..='\u{4DBF}'     // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'     // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}'     // Hangul syllables
        | '\u{F900}'..='\u{FAFF}'     // CJK compatibility ideographs
        | '\u{20000}'..='\u{3134F}' // CJK extensions B and later
    )
}

/// Vowel points and cantillation that are optional in writing (see the
/// module header): Hebrew U+0591..U+05C7 marks, Arabic harakat.
fn is_optional_mark(c: char) -> bool {
    matches!(c,
        '\u{0591}'..='\u{05BD}'
        | '\u{05BF}'
        | '\u{05C1}'..='\u{05C2}'
        | '\u{05C4}'..='\u{05C5}'
        | '\u{05C7}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
    )
}

/// NFKC, lowercase, optional marks removed: one allocation.
///
/// ASCII text, most of what brands hear in English and much of it in other
/// languages, is its own NFKC form and holds no optional mark, so it only
/// needs lowercasing: a fast path for the engine's busiest step (the
/// general path was two fifths of the engine's time per mention).
fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    out.extend(
        text.nfkc()
            .flat_map(char::to_lowercase)
            .filter(|&c| !is_optional_mark(c)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general path, which the ASCII fast path must agree with.
    fn normalize_slowly(text: &str) -> String {
        text.nfkc()
            .flat_map(char::to_lowercase)
            .filter(|&c| !is_optional_mark(c))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn ascii_text_normalises_as_the_general_path_does(text in "[\\x00-\\x7f]{0,200}") {
            proptest::prop_assert_eq!(normalize(&text), normalize_slowly(&text));
        }
    }

    #[test]
    fn every_ascii_character_normalises_as_the_general_path_does() {
        let all: String = (0u8..=127).map(char::from).collect();
        assert_eq!(normalize(&all), normalize_slowly(&all));
        assert_eq!(normalize("Site DOWN?!"), "site down?!");
        assert_eq!(
            normalize("ＳＩＴＥ Ｄown"),
            "site down",
            "full-width goes the general way"
        );
    }

    fn check(text: &str, any: &[&str], expected: bool) {
        let matcher = Matcher::new(any.iter().map(|p| p.to_string()).collect(), vec![], vec![]);
        assert_eq!(matcher.matches(text), expected, "{any:?} in {text:?}");
    }

    #[test]
    fn one_text_shared_by_several_matchers_matches_as_each_alone_would() {
        let matchers = [
            Matcher::new(vec!["down".into()], vec![], vec![]),
            Matcher::everything(),
            Matcher::new(vec!["nie działa*".into()], vec![], vec!["test".into()]),
            Matcher::new(vec![], vec!["ＳＩＴＥ".into(), "down".into()], vec![]),
            Matcher::new(vec!["落ちて".into()], vec![], vec![]),
        ];
        for said in [
            "The SITE is Down!",
            "strona nie działają od rana",
            "nie działa, to tylko test",
            "サイト落ちてる",
            "download the app",
        ] {
            let shared = Text::new(said);
            for m in &matchers {
                assert_eq!(
                    m.matches_text(&shared),
                    m.matches(said),
                    "{m:?} on {said:?}"
                );
            }
        }
    }

    #[test]
    fn phrases_are_normalised_once_when_the_matcher_is_built() {
        let matcher = Matcher::new(vec!["ＤＯＷＮ  Again*".into()], vec![], vec![]);
        let words: Vec<(&str, bool)> = matcher.any[0]
            .words
            .iter()
            .map(|w| (w.text.as_str(), w.open_end))
            .collect();
        assert_eq!(words, vec![("down", false), ("again", true)]);
    }

    #[test]
    fn words_match_whole_and_case_insensitively() {
        check("site is DOWN again", &["down"], true);
        check("Down!", &["down"], true);
        check("#down", &["down"], true);
        check("down.", &["down"], true);
        check("download the app", &["down"], false);
        check("a breakdown", &["down"], false);
        check("down_time", &["down"], false);
    }

    #[test]
    fn an_empty_phrase_never_matches() {
        check("anything", &[""], false);
        check("anything", &["*"], false);
    }

    #[test]
    fn hebrew_niqqud_does_not_block_a_match() {
        check("הָאֲתָר לֹא עוֹבֵד", &["לא עובד"], true);
        check("האתר לא עובד", &["לֹא עוֹבֵד"], true);
    }
}
