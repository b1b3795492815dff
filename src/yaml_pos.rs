//! Where things are in a YAML file, and serde errors turned into diagnostics
//! that point there.
//!
//! serde_yaml deserializes well but forgets positions. So the source is read
//! twice: once by serde_yaml into values, and once here by yaml-rust2's event
//! parser into a [`PositionIndex`] that maps every path
//! (`on_open/0/pin_status/accounts/2`) to where its value, and its key, sit in
//! the text. Validators deserialize piece by piece ([`Locator::deserialize`])
//! so that one bad step never hides the problems in the next one, and every
//! serde error is mapped back to a line and column through the index.

use crate::diagnostics::{Diagnostic, Severity};
use serde::de::DeserializeOwned;
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::Value;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index, from 0.
    Index(usize),
}

impl From<&str> for PathSeg {
    fn from(key: &str) -> Self {
        PathSeg::Key(key.to_owned())
    }
}

impl From<String> for PathSeg {
    fn from(key: String) -> Self {
        PathSeg::Key(key)
    }
}

impl From<usize> for PathSeg {
    fn from(index: usize) -> Self {
        PathSeg::Index(index)
    }
}

impl fmt::Display for PathSeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSeg::Key(key) => f.write_str(key),
            PathSeg::Index(index) => write!(f, "{index}"),
        }
    }
}

/// `on_open/0/pin_status`, as people read paths in messages.
pub fn display_path(path: &[PathSeg]) -> String {
    path.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` followed by `more`.
pub fn join(path: &[PathSeg], more: impl IntoIterator<Item = PathSeg>) -> Vec<PathSeg> {
    path.iter().cloned().chain(more).collect()
}

/// Where a piece of text sits in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// Length in bytes, at most to the end of its first line.
    pub len: usize,
}

impl Pos {
    /// The very start of a file: where problems without a better place go.
    pub const START: Pos = Pos {
        line: 1,
        column: 1,
        offset: 0,
        len: 0,
    };
}

/// Positions of every value and every mapping key of one YAML document.
#[derive(Debug, Clone, Default)]
pub struct PositionIndex {
    values: HashMap<Vec<PathSeg>, Pos>,
    keys: HashMap<Vec<PathSeg>, Pos>,
}

impl PositionIndex {
    /// Indexes the first document of `src`. Never fails: on a syntax error the
    /// index holds what came before it, and lookups fall back to ancestors.
    pub fn build(src: &str) -> PositionIndex {
        let text = Text::new(src);
        let mut builder = Builder {
            text: &text,
            stack: Vec::new(),
            skip_depth: 0,
            documents: 0,
            index: PositionIndex::default(),
        };
        let mut parser = Parser::new_from_str(src);
        if let Err(error) = parser.load(&mut builder, false) {
            tracing::debug!(
                line = error.marker().line(),
                info = error.info(),
                "position index is partial"
            );
        }
        builder.index
    }

    /// Where the value at `path` starts.
    pub fn value(&self, path: &[PathSeg]) -> Option<Pos> {
        self.values.get(path).copied()
    }

    /// Where the key whose value is at `path` is written.
    pub fn key(&self, path: &[PathSeg]) -> Option<Pos> {
        self.keys.get(path).copied()
    }

    /// The value at `path`, or else its nearest ancestor that has a position
    /// (the file start at worst): every problem gets *some* place.
    pub fn value_or_ancestor(&self, path: &[PathSeg]) -> Pos {
        (0..=path.len())
            .rev()
            .find_map(|n| self.value(&path[..n]))
            .unwrap_or(Pos::START)
    }

    /// The key at `path` if it is a mapping entry, else as
    /// [`value_or_ancestor`](Self::value_or_ancestor).
    pub fn key_or_value(&self, path: &[PathSeg]) -> Pos {
        self.key(path)
            .unwrap_or_else(|| self.value_or_ancestor(path))
    }

    /// Resolves a path given as plain strings (as other modules report them),
    /// where `"0"` may be a sequence index or a key: whichever the document has.
    pub fn resolve_loose(&self, base: &[PathSeg], loose: &[String]) -> Vec<PathSeg> {
        let mut path = base.to_vec();
        for seg in loose {
            let as_index = seg.parse::<usize>().ok().map(PathSeg::Index);
            let as_key = PathSeg::Key(seg.clone());
            let chosen = match as_index {
                Some(index) if self.value(&join(&path, [index.clone()])).is_some() => index,
                _ => as_key,
            };
            path.push(chosen);
        }
        path
    }
}

/// The source text with what is needed to turn yaml-rust2's character
/// indices into byte offsets, lines and columns.
struct Text<'s> {
    src: &'s str,
    /// Byte offset of every character, plus the end.
    char_bytes: Vec<usize>,
    /// Byte offset where every line starts.
    line_starts: Vec<usize>,
}

impl<'s> Text<'s> {
    fn new(src: &'s str) -> Self {
        let char_bytes = src
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(src.len()))
            .collect();
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(b, _)| b + 1))
            .collect();
        Text {
            src,
            char_bytes,
            line_starts,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.char_bytes
            .get(char_index)
            .copied()
            .unwrap_or(self.src.len())
    }

    fn char_at(&self, char_index: usize) -> Option<char> {
        self.src
            .get(self.byte(char_index)..)
            .and_then(|rest| rest.chars().next())
    }

    /// Byte offset where the line holding `byte` ends (before its newline).
    fn line_end(&self, byte: usize) -> usize {
        self.src[byte.min(self.src.len())..]
            .find('\n')
            .map_or(self.src.len(), |n| byte + n)
    }

    /// A span from `start` (chars) of `len` chars, cut at the end of the line.
    fn span(&self, start: usize, len: usize) -> Pos {
        let offset = self.byte(start);
        let end = self
            .byte(start + len)
            .min(self.line_end(offset))
            .max(offset);
        self.pos(offset, end - offset)
    }

    /// The rest of the line from `start` (chars), without trailing blanks.
    fn rest_of_line(&self, start: usize) -> Pos {
        let offset = self.byte(start);
        let end = self.line_end(offset);
        let len = self.src[offset..end].trim_end().len();
        self.pos(offset, len)
    }

    fn pos(&self, offset: usize, len: usize) -> Pos {
        let line_index = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .src
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Pos {
            line: line_index + 1,
            column,
            offset,
            len,
        }
    }

    /// Characters of a quoted scalar starting at `start`, quotes included.
    fn quoted_len(&self, start: usize, quote: char) -> usize {
        let mut chars = self.src[self.byte(start)..].chars().skip(1).peekable();
        let mut len = 1;
        while let Some(c) = chars.next() {
            len += 1;
            match c {
                '\\' if quote == '"' && chars.next().is_some() => len += 1,
                '\'' if quote == '\'' && chars.peek() == Some(&'\'') => {
                    chars.next();
                    len += 1;
                }
                c if c == quote => return len,
                _ => {}
            }
        }
        len
    }
}

/// An open mapping or sequence while the events stream by.
struct Frame {
    path: Vec<PathSeg>,
    /// Start, in chars. For block mappings yaml-rust2 marks the start after
    /// the first key, so the first key moves it back.
    start: usize,
    flow: bool,
    kind: FrameKind,
}

enum FrameKind {
    Mapping {
        pending_key: Option<String>,
        seen_key: bool,
    },
    Sequence {
        next: usize,
    },
}

struct Builder<'t, 's> {
    text: &'t Text<'s>,
    stack: Vec<Frame>,
    /// Depth inside a complex (non-scalar) mapping key, which is not indexed.
    skip_depth: usize,
    documents: usize,
    index: PositionIndex,
}

impl Builder<'_, '_> {
    /// Whether the next node is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Mapping {
                    pending_key: None,
                    ..
                },
                ..
            })
        )
    }

    /// The path of the next value node.
    fn child_path(&self) -> Vec<PathSeg> {
        match self.stack.last() {
            None => Vec::new(),
            Some(frame) => match &frame.kind {
                FrameKind::Mapping { pending_key, .. } => {
                    join(&frame.path, pending_key.clone().map(PathSeg::Key))
                }
                FrameKind::Sequence { next } => join(&frame.path, [PathSeg::Index(*next)]),
            },
        }
    }

    /// Marks the current slot of the enclosing collection as filled.
    fn advance(&mut self) {
        if let Some(frame) = self.stack.last_mut() {
            match &mut frame.kind {
                FrameKind::Mapping { pending_key, .. } => *pending_key = None,
                FrameKind::Sequence { next } => *next += 1,
            }
        }
    }

    fn on_key(&mut self, key: String, mark: Marker) {
        let pos = self.text.span(mark.index(), key.chars().count().max(1));
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        let path = join(&frame.path, [PathSeg::Key(key.clone())]);
        if let FrameKind::Mapping {
            pending_key,
            seen_key,
        } = &mut frame.kind
        {
            if !*seen_key {
                *seen_key = true;
                frame.start = frame.start.min(mark.index());
            }
            *pending_key = Some(key);
        }
        self.index.keys.insert(path, pos);
    }

    fn on_scalar(&mut self, value: &str, style: TScalarStyle, mark: Marker) {
        let path = self.child_path();
        let pos = match style {
            TScalarStyle::SingleQuoted => self
                .text
                .span(mark.index(), self.text.quoted_len(mark.index(), '\'')),
            TScalarStyle::DoubleQuoted => self
                .text
                .span(mark.index(), self.text.quoted_len(mark.index(), '"')),
            // An empty plain scalar is a null written as nothing: point at its key.
            TScalarStyle::Plain if value.is_empty() => self
                .index
                .keys
                .get(&path)
                .copied()
                .unwrap_or_else(|| self.text.span(mark.index(), 0)),
            TScalarStyle::Plain => self.text.span(mark.index(), value.chars().count()),
            _ => self.text.rest_of_line(mark.index()),
        };
        self.index.values.insert(path, pos);
        self.advance();
    }

    fn on_start(&mut self, mark: Marker, mapping: bool) {
        let flow = matches!(self.text.char_at(mark.index()), Some('{' | '['));
        let kind = if mapping {
            FrameKind::Mapping {
                pending_key: None,
                seen_key: false,
            }
        } else {
            FrameKind::Sequence { next: 0 }
        };
        self.stack.push(Frame {
            path: self.child_path(),
            start: mark.index(),
            flow,
            kind,
        });
    }

    fn on_end(&mut self, mark: Marker) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let pos = if frame.flow {
            self.text
                .span(frame.start, mark.index().saturating_sub(frame.start) + 1)
        } else {
            self.text.rest_of_line(frame.start)
        };
        self.index.values.insert(frame.path, pos);
        self.advance();
    }
}

impl MarkedEventReceiver for Builder<'_, '_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if matches!(event, Event::DocumentStart) {
            self.documents += 1;
        }
        if self.documents > 1 {
            return;
        }
        if self.skip_depth > 0 {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skip_depth += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    self.skip_depth -= 1;
                    if self.skip_depth == 0 {
                        self.on_key("<complex key>".to_owned(), mark);
                    }
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::Scalar(value, _, _, _) if self.expecting_key() => self.on_key(value, mark),
            Event::Scalar(value, style, _, _) => self.on_scalar(&value, style, mark),
            Event::Alias(_) if self.expecting_key() => self.on_key("<alias>".to_owned(), mark),
            Event::Alias(_) => self.on_scalar("*", TScalarStyle::Plain, mark),
            Event::MappingStart(..) | Event::SequenceStart(..) if self.expecting_key() => {
                self.skip_depth = 1
            }
            Event::MappingStart(..) => self.on_start(mark, true),
            Event::SequenceStart(..) => self.on_start(mark, false),
            Event::MappingEnd | Event::SequenceEnd => self.on_end(mark),
            _ => {}
        }
    }
}

/// The diagnostic codes a [`Locator`] uses for the problems serde finds, so
/// that config and playbooks each keep their own namespace.
#[derive(Debug, Clone, Copy)]
pub struct SerdeCodes {
    pub unknown_key: &'static str,
    pub wrong_type: &'static str,
    pub missing_key: &'static str,
    pub invalid_value: &'static str,
}

/// Values under one place in the document are secrets or point at them:
/// serde errors there are reported with a fixed message that never echoes
/// the value.
#[derive(Debug, Clone, Copy)]
pub struct Redaction {
    /// Where the secrets are, as a path prefix: `None` matches any one
    /// segment (`accounts`, any name, `credentials`). A prefix rather than
    /// "a key named so anywhere", because a name is not a secret: an
    /// account may itself be called `credentials`.
    pub at: &'static [Option<&'static str>],
    pub code: &'static str,
    pub message: &'static str,
    pub hint: &'static str,
}

impl Redaction {
    /// Whether the value at `path` is at or under the redacted place.
    pub fn covers(&self, path: &[PathSeg]) -> bool {
        path.len() >= self.at.len()
            && self.at.iter().zip(path).all(|(want, seg)| match want {
                None => true,
                Some(key) => matches!(seg, PathSeg::Key(k) if k == key),
            })
    }
}

/// Turns paths into positions and serde errors into diagnostics, for one file.
#[derive(Debug)]
pub struct Locator<'a> {
    pub file: &'a Path,
    pub index: &'a PositionIndex,
    pub codes: SerdeCodes,
    pub redaction: Option<Redaction>,
}

impl Locator<'_> {
    /// A diagnostic at the value found at `path` (or its nearest ancestor).
    pub fn at_value(
        &self,
        severity: Severity,
        code: &'static str,
        path: &[PathSeg],
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::at(
            severity,
            code,
            self.file,
            self.index.value_or_ancestor(path),
            message,
        )
    }

    /// A diagnostic at the key of `path` (or its value when it has no key).
    pub fn at_key(
        &self,
        severity: Severity,
        code: &'static str,
        path: &[PathSeg],
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::at(
            severity,
            code,
            self.file,
            self.index.key_or_value(path),
            message,
        )
    }

    /// Deserializes the piece `value` found at `at`. On failure, one
    /// diagnostic at the exact place serde stopped.
    pub fn deserialize<T: DeserializeOwned>(
        &self,
        value: Value,
        at: &[PathSeg],
    ) -> Result<T, Box<Diagnostic>> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = join(at, serde_segments(error.path()));
            Box::new(self.serde_diagnostic(&path, &error.inner().to_string()))
        })
    }

    /// Deserializes a whole mapping, recovering from each error by dropping
    /// the offending entry (`prune_depth` says how deep an entry goes below
    /// `at`: 1 for a top-level key, 2 for a named entry of a section) and
    /// trying again, so that every such problem is reported, not only the first.
    pub fn deserialize_pruning<T: DeserializeOwned>(
        &self,
        mut value: Value,
        at: &[PathSeg],
        prune_depth: &dyn Fn(&[PathSeg]) -> usize,
    ) -> (Option<T>, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut placeholders: Vec<Vec<PathSeg>> = Vec::new();
        loop {
            let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(parsed) => return (Some(parsed), diagnostics),
                Err(error) => error,
            };
            let relative: Vec<PathSeg> = serde_segments(error.path()).collect();
            let message = error.inner().to_string();
            let recovered = match missing_key(&message) {
                // A required key is missing: report it once, then stand in a
                // placeholder so that the rest can still be checked.
                Some(key) => {
                    let target = join(&relative, [PathSeg::Key(key.to_owned())]);
                    let fresh = !placeholders.contains(&target);
                    if fresh {
                        diagnostics.push(
                            self.serde_diagnostic(&join(at, relative.iter().cloned()), &message),
                        );
                        placeholders.push(target);
                    }
                    fresh && insert_placeholder(&mut value, &relative, key)
                }
                None => {
                    if !placeholders.iter().any(|p| relative.starts_with(p)) {
                        diagnostics.push(
                            self.serde_diagnostic(&join(at, relative.iter().cloned()), &message),
                        );
                    }
                    let depth = prune_depth(&relative).clamp(1, relative.len().max(1));
                    remove_at(&mut value, &relative[..depth.min(relative.len())])
                }
            };
            if !recovered {
                return (None, diagnostics);
            }
        }
    }

    /// Deserializes an externally tagged enum written as a single-key mapping
    /// (`surge: {...}`), which serde_yaml only reads from tagged values,
    /// reporting every problem of the mapping at once, not only the first: after each error the offending
    /// key is dropped (or a missing one stood in for) and the rest checked
    /// again. A key dropped or stood in for is not reported a second time
    /// (a dropped required key is not also "missing").
    ///
    /// # Errors
    /// Every problem found, in the order serde met them.
    pub fn deserialize_tagged_all<T: DeserializeOwned>(
        &self,
        tag: &str,
        inner: Value,
        at: &[PathSeg],
    ) -> Result<T, Vec<Diagnostic>> {
        let tagged = |value: Value| {
            Value::Tagged(Box::new(TaggedValue {
                tag: Tag::new(tag),
                value,
            }))
        };
        self.deserialize_all(inner, at, &[PathSeg::Key(tag.to_owned())], &tagged)
    }

    /// [`Locator::deserialize`], reporting every problem at once as
    /// [`Locator::deserialize_tagged_all`] does.
    ///
    /// # Errors
    /// Every problem found.
    pub fn deserialize_all<T: DeserializeOwned>(
        &self,
        mut value: Value,
        at: &[PathSeg],
        prefix: &[PathSeg],
        wrap: &dyn Fn(Value) -> Value,
    ) -> Result<T, Vec<Diagnostic>> {
        let mut diagnostics = Vec::new();
        let mut dropped: Vec<Vec<PathSeg>> = Vec::new();
        // Required keys that were missing (or dropped), with the shape of
        // the stand-in tried so far: the first that serde takes stays.
        let mut stood_in: Vec<(Vec<PathSeg>, usize)> = Vec::new();
        // Keys an unknown key was taken for a misspelling of.
        let mut meant: Vec<Vec<PathSeg>> = Vec::new();
        // Each round drops a key or tries a stand-in, so the rounds are
        // bounded by the keys in the value; the cap only guards a cycle.
        for _ in 0..256 {
            let error = match serde_path_to_error::deserialize::<_, T>(wrap(value.clone())) {
                Ok(parsed) if diagnostics.is_empty() => return Ok(parsed),
                Ok(_) => return Err(diagnostics),
                Err(error) => error,
            };
            let path: Vec<PathSeg> = serde_segments(error.path()).collect();
            let message = error.inner().to_string();
            let relative = path.strip_prefix(prefix).unwrap_or(&[]).to_vec();
            let seen = |p: &[PathSeg]| {
                dropped.iter().any(|d| p.starts_with(d))
                    || stood_in.iter().any(|(s, _)| p.starts_with(s))
            };
            let quiet = seen(&relative);
            let recovered = if let Some(key) = missing_key(&message) {
                let target = join(&relative, [PathSeg::Key(key.to_owned())]);
                // A misspelt key was reported as unknown with "did you mean
                // `key`?": the missing one is the same mistake.
                if !quiet && !dropped.contains(&target) && !meant.contains(&target) {
                    diagnostics
                        .push(self.serde_diagnostic(&join(at, path.iter().cloned()), &message));
                }
                stood_in.push((target.clone(), 0));
                set_at(&mut value, &target, STAND_INS[0].clone())
            } else if let Some(entry) = stood_in.iter_mut().find(|(s, _)| relative.starts_with(s)) {
                // The stand-in has the wrong shape: try the next one.
                entry.1 += 1;
                match STAND_INS.get(entry.1) {
                    Some(shape) => set_at(&mut value, &entry.0, shape.clone()),
                    None => false,
                }
            } else {
                if !quiet {
                    diagnostics
                        .push(self.serde_diagnostic(&join(at, path.iter().cloned()), &message));
                }
                if let (Some((unknown, expected)), Some((_, parent))) = (
                    quoted_after(&message, "unknown field `"),
                    relative.split_last(),
                ) {
                    if let Some(best) = closest(&unknown, expected.iter().map(String::as_str)) {
                        meant.push(join(parent, [PathSeg::Key(best.to_owned())]));
                    }
                }
                // The innermost key that can go (items of a list stay:
                // dropping one would shift the others' positions).
                let gone = (1..=relative.len())
                    .rev()
                    .find(|&n| remove_at(&mut value, &relative[..n]));
                if let Some(n) = gone {
                    dropped.push(relative[..n].to_vec());
                }
                gone.is_some()
            };
            if !recovered {
                break;
            }
        }
        if diagnostics.is_empty() {
            // Unreachable in practice: a round that stops has reported.
            return Err(vec![self.serde_diagnostic(at, "could not be read")]);
        }
        Err(diagnostics)
    }

    /// The diagnostic for serde's `message` about the value at `path`.
    pub fn serde_diagnostic(&self, path: &[PathSeg], message: &str) -> Diagnostic {
        if let Some(redaction) = self.redaction.filter(|r| r.covers(path)) {
            return self
                .at_value(Severity::Error, redaction.code, path, redaction.message)
                .with_hint(redaction.hint);
        }
        let field = subject(path);
        if let Some((unknown, expected)) = quoted_after(message, "unknown field `") {
            let message = format!("unknown key `{unknown}`");
            let hint = suggestion_hint(&unknown, &expected, "valid keys here");
            return self
                .at_key(Severity::Error, self.codes.unknown_key, path, message)
                .with_hint(hint);
        }
        if let Some((unknown, expected)) = quoted_after(message, "unknown variant `") {
            let message = format!("`{unknown}` is not a valid value for {field}");
            let hint = suggestion_hint(&unknown, &expected, "valid values");
            return self
                .at_value(Severity::Error, self.codes.invalid_value, path, message)
                .with_hint(hint);
        }
        if let Some(key) = missing_key(message) {
            let message = format!("{field} needs the key `{key}`");
            return self
                .at_key(Severity::Error, self.codes.missing_key, path, message)
                .with_hint(format!("add `{key}: ...` here"));
        }
        if let Some(rest) = message.strip_prefix("invalid type: ") {
            let (found, expected) = rest
                .split_once(", expected ")
                .unwrap_or((rest, "something else"));
            let message = format!(
                "{field} must be {}, found {}",
                plain_expected(expected),
                plain_found(found)
            );
            let diagnostic = self.at_value(Severity::Error, self.codes.wrong_type, path, message);
            return match expected {
                "a string" => diagnostic.with_hint("put the value in quotes to make it text"),
                _ => diagnostic,
            };
        }
        let message = match message.strip_prefix("invalid value: ") {
            Some(rest) => {
                let (found, expected) = rest
                    .split_once(", expected ")
                    .unwrap_or((rest, "something else"));
                format!(
                    "{field} must be {}, found {}",
                    plain_expected(expected),
                    plain_found(found)
                )
            }
            None => format!("{field}: {message}"),
        };
        self.at_value(Severity::Error, self.codes.invalid_value, path, message)
    }
}

/// serde_path_to_error's segments as document paths; an enum variant is the
/// key it was written as.
fn serde_segments(path: &serde_path_to_error::Path) -> impl Iterator<Item = PathSeg> + '_ {
    path.iter().filter_map(|segment| match segment {
        serde_path_to_error::Segment::Seq { index } => Some(PathSeg::Index(*index)),
        serde_path_to_error::Segment::Map { key } => Some(PathSeg::Key(key.clone())),
        serde_path_to_error::Segment::Enum { variant } => Some(PathSeg::Key(variant.clone())),
        serde_path_to_error::Segment::Unknown => None,
    })
}

/// How a message names the value at `path`: "`window`", or "the file" for the root.
fn subject(path: &[PathSeg]) -> String {
    match path {
        [] => "the file".to_owned(),
        _ => format!("`{}`", field_name(path)),
    }
}

/// The name to call the value at `path` by in a message.
fn field_name(path: &[PathSeg]) -> String {
    match path {
        [] => "the file".to_owned(),
        [.., PathSeg::Key(key)] => key.clone(),
        [.., PathSeg::Key(key), PathSeg::Index(_)] => key.clone(),
        _ => display_path(path),
    }
}

fn missing_key(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// For `unknown field `x`, expected one of `a`, `b``: `x` and `[a, b]`.
fn quoted_after(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((unknown.to_owned(), expected))
}

/// "did you mean `window`?" plus the list of what is allowed.
pub fn suggestion_hint(given: &str, valid: &[String], what: &str) -> String {
    let listed = valid
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let listing = if valid.is_empty() {
        "nothing is allowed here".to_owned()
    } else {
        format!("{what}: {listed}")
    };
    match closest(given, valid.iter().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`? {listing}"),
        None => listing,
    }
}

/// The candidate closest to `given`, when it is close enough to be a typo.
pub fn closest<'c>(given: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let given_lower = given.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(&given_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| {
            *distance <= (candidate.chars().count().max(given.chars().count()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn plain_expected(expected: &str) -> String {
    let plain = match expected {
        e if e.starts_with("struct ") || e == "a map" => "a mapping",
        "a sequence" => "a list",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of zero or more",
        "i32" | "i64" => "a whole number",
        "f32" | "f64" => "a number",
        "a Value::Tagged enum" => "a single name",
        e if e.starts_with("enum ") => "a single name",
        e if e.starts_with("one of") || e.starts_with('`') => e,
        e => e,
    };
    plain.to_owned()
}

fn plain_found(found: &str) -> String {
    match found {
        "map" => "a mapping".to_owned(),
        "sequence" => "a list".to_owned(),
        "unit value" => "nothing (null)".to_owned(),
        f => f
            .replace("string ", "text ")
            .replace("floating point ", "number ")
            .replace("integer ", "number "),
    }
}

/// Removes the entry at `path` from `root`. False when there is nothing to remove.
fn remove_at(root: &mut Value, path: &[PathSeg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let Some(parent) = value_at_mut(root, parents) else {
        return false;
    };
    match (parent, last) {
        (Value::Mapping(map), PathSeg::Key(key)) => map.remove(key.as_str()).is_some(),
        // Sequences are not pruned (indices would shift); their items are
        // deserialized one by one by the callers instead.
        _ => false,
    }
}

/// Values tried, in turn, for a required key that is missing or was
/// dropped, until serde takes one: every other problem is then still found.
static STAND_INS: std::sync::LazyLock<[Value; 5]> = std::sync::LazyLock::new(|| {
    [
        Value::String(String::new()),
        Value::Sequence(Vec::new()),
        Value::Mapping(serde_yaml::Mapping::new()),
        Value::Number(0.into()),
        Value::Bool(false),
    ]
});

/// Puts `new` at `path` (a key of a mapping), replacing what is there.
fn set_at(root: &mut Value, path: &[PathSeg], new: Value) -> bool {
    let Some((PathSeg::Key(key), parents)) = path.split_last() else {
        return false;
    };
    match value_at_mut(root, parents) {
        Some(Value::Mapping(map)) => {
            map.insert(Value::String(key.clone()), new);
            true
        }
        _ => false,
    }
}

/// Stands in an empty string for a missing required key.
fn insert_placeholder(root: &mut Value, path: &[PathSeg], key: &str) -> bool {
    match value_at_mut(root, path) {
        Some(Value::Mapping(map)) => {
            map.insert(Value::String(key.to_owned()), Value::String(String::new()));
            true
        }
        _ => false,
    }
}

fn value_at_mut<'v>(root: &'v mut Value, path: &[PathSeg]) -> Option<&'v mut Value> {
    path.iter().try_fold(root, |value, seg| match (value, seg) {
        (Value::Mapping(map), PathSeg::Key(key)) => map.get_mut(key.as_str()),
        (Value::Sequence(items), PathSeg::Index(index)) => items.get_mut(*index),
        (Value::Tagged(tagged), seg) => value_at_mut(&mut tagged.value, std::slice::from_ref(seg)),
        _ => None,
    })
}

/// Parses a YAML document for validation: its value (an empty file is an
/// empty mapping) and the positions of everything in it, or the one syntax
/// diagnostic (`code`) when the text is not YAML. Config and playbooks share it.
///
/// # Errors
/// The syntax diagnostic, at serde_yaml's line and column.
pub fn parse_document(
    src: &str,
    file: &std::path::Path,
    code: &'static str,
) -> Result<(serde_yaml::Value, PositionIndex), Box<Diagnostic>> {
    let root = match serde_yaml::from_str::<serde_yaml::Value>(src) {
        Ok(serde_yaml::Value::Null) => serde_yaml::Value::Mapping(Default::default()),
        Ok(root) => root,
        Err(error) => return Err(Box::new(syntax_diagnostic(code, file, src, &error))),
    };
    Ok((root, PositionIndex::build(src)))
}

/// The one diagnostic for text that is not YAML, at serde_yaml's position.
fn syntax_diagnostic(
    code: &'static str,
    file: &Path,
    src: &str,
    error: &serde_yaml::Error,
) -> Diagnostic {
    let message = error.to_string();
    let Some(location) = error.location() else {
        return Diagnostic::at(Severity::Error, code, file, Pos::START, message);
    };
    let message = message.replacen(
        &format!(" at line {} column {}", location.line(), location.column()),
        "",
        1,
    );
    // libyaml's index is a byte offset, but its lines also break at a lone
    // `\r` (and NEL, U+2028, U+2029), where every other squall position
    // counts `\n` only: `line` could name a line the file does not have
    // (found by the `playbook` fuzz target). Line and column are worked
    // out from the offset, the way the rest of the positions are.
    let mut offset = location.index().min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let len = src[offset..].chars().next().map_or(0, char::len_utf8);
    let pos = Text::new(src).pos(offset, len);
    Diagnostic::at(
        Severity::Error,
        code,
        file,
        pos,
        format!("YAML syntax error: {message}"),
    )
    .with_hint("check indentation, colons and closing brackets or quotes around this place")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[&str]) -> Vec<PathSeg> {
        segs.iter()
            .map(|s| {
                s.parse::<usize>()
                    .map_or_else(|_| PathSeg::Key((*s).to_owned()), PathSeg::Index)
            })
            .collect()
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read by serde only
    struct Step {
        accounts: Vec<String>,
        template: String,
        every: Option<u32>,
    }

    #[test]
    fn every_problem_of_a_mapping_is_reported_once_and_a_dropped_key_is_not_also_missing() {
        let src = "accounts: main\ntemplat: x\nevery: soon\n";
        let index = PositionIndex::build(src);
        let locator = Locator {
            file: Path::new("step.yaml"),
            index: &index,
            codes: SerdeCodes {
                unknown_key: "unknown-key",
                wrong_type: "wrong-type",
                missing_key: "missing-key",
                invalid_value: "invalid-value",
            },
            redaction: None,
        };
        let value: Value = serde_yaml::from_str(src).expect("yaml");
        let diags = locator
            .deserialize_all::<Step>(value, &[], &[], &|v| v)
            .expect_err("three problems");
        let mut found: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.code)).collect();
        found.sort_unstable();
        // `accounts` is dropped for its type and not called missing after;
        // `template`, misspelt, is said once: as unknown, with "did you
        // mean `template`?".
        assert_eq!(
            found,
            [(1, "wrong-type"), (2, "unknown-key"), (3, "wrong-type")],
            "{diags:#?}"
        );
        let missing = locator
            .deserialize_all::<Step>(
                serde_yaml::from_str("{every: 1}").expect("yaml"),
                &[],
                &[],
                &|v| v,
            )
            .expect_err("two keys missing");
        let messages: Vec<&str> = missing.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the file needs the key `accounts`",
                "the file needs the key `template`"
            ]
        );
        let ok: Step = locator
            .deserialize_all(
                serde_yaml::from_str("{accounts: [a], template: t}").expect("yaml"),
                &[],
                &[],
                &|v| v,
            )
            .expect("valid");
        assert_eq!(ok.accounts, ["a"]);
    }

    const DOC: &str = "name: site-down\ntriggers:\n  - surge: {window: 5m, \"for\": 'a''b'}\n  - manual:\non_open:\n  - pin_status:\n      accounts: [acme-main, \"zażółć\", x]\n      template: status/site-down\n";

    #[test]
    fn a_plain_value_is_found_with_its_line_column_and_length() {
        let index = PositionIndex::build(DOC);
        assert_eq!(
            index.value(&p(&["name"])),
            Some(Pos {
                line: 1,
                column: 7,
                offset: 6,
                len: 9
            })
        );
        assert_eq!(
            index.key(&p(&["name"])).map(|k| (k.line, k.column)),
            Some((1, 1))
        );
    }

    #[test]
    fn values_inside_flow_mappings_and_sequences_are_found() {
        let index = PositionIndex::build(DOC);
        let window = index
            .value(&p(&["triggers", "0", "surge", "window"]))
            .map(|v| (v.line, v.column, v.len));
        assert_eq!(window, Some((3, 21, 2)));
        let quoted = index
            .value(&p(&["triggers", "0", "surge", "for"]))
            .map(|v| (v.line, v.column, v.len));
        assert_eq!(quoted, Some((3, 32, 6)));
        let surge = index
            .value(&p(&["triggers", "0", "surge"]))
            .map(|v| (v.line, v.column));
        assert_eq!(surge, Some((3, 12)));
    }

    #[test]
    fn columns_count_characters_and_offsets_count_bytes() {
        let index = PositionIndex::build(DOC);
        let after_polish = index
            .value(&p(&["on_open", "0", "pin_status", "accounts", "2"]))
            .expect("indexed");
        assert_eq!((after_polish.line, after_polish.column), (7, 39));
        assert_eq!(
            &DOC[after_polish.offset..after_polish.offset + after_polish.len],
            "x"
        );
    }

    #[test]
    fn a_block_mapping_starts_at_its_first_key() {
        let index = PositionIndex::build(DOC);
        let step = index
            .value(&p(&["on_open", "0"]))
            .map(|v| (v.line, v.column));
        assert_eq!(step, Some((6, 5)));
    }

    #[test]
    fn a_null_written_as_nothing_points_at_its_key() {
        let index = PositionIndex::build(DOC);
        assert_eq!(
            index
                .value(&p(&["triggers", "1", "manual"]))
                .map(|v| (v.line, v.column)),
            Some((4, 5))
        );
    }

    #[test]
    fn an_unknown_path_falls_back_to_its_nearest_known_ancestor() {
        let index = PositionIndex::build(DOC);
        let fallback =
            index.value_or_ancestor(&p(&["on_open", "0", "pin_status", "approval", "by"]));
        assert_eq!((fallback.line, fallback.column), (7, 7));
        assert_eq!(
            index.value_or_ancestor(&p(&["nothing"])),
            index.value(&[]).unwrap_or(Pos::START)
        );
    }

    #[test]
    fn loose_string_paths_resolve_to_indices_where_the_document_has_sequences() {
        let index = PositionIndex::build(DOC);
        let path =
            index.resolve_loose(&p(&["on_open"]), &["0".to_owned(), "pin_status".to_owned()]);
        assert_eq!(path, p(&["on_open", "0", "pin_status"]));
    }

    #[test]
    fn a_broken_document_still_indexes_what_came_before_the_break() {
        let index = PositionIndex::build("name: ok\nlist: [1, 2\nother: x\n");
        assert!(index.value(&p(&["name"])).is_some());
    }

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let valid = ["window", "accounts", "match"];
        assert_eq!(closest("windw", valid), Some("window"));
        assert_eq!(closest("acounts", valid), Some("accounts"));
        assert_eq!(closest("zebra", valid), None);
    }

    // Regression (fuzz/corpus/playbook/regress-cr-line-breaks.yaml): a
    // syntax error after lone `\r`s was placed on line 108 of an 8-line file.
    #[test]
    fn a_syntax_error_after_lone_carriage_returns_is_on_a_real_line() {
        let src = format!("name: a{}b\ndescription: x\n  : [\n", "\r".repeat(100));
        let error =
            parse_document(&src, Path::new("p.yaml"), "playbook::syntax").expect_err("not YAML");
        let lines = src.split('\n').count();
        assert!(error.line >= 1 && error.line <= lines, "{error:?}");
        let line_of_offset = src[..error.offset].matches('\n').count() + 1;
        assert_eq!(error.line, line_of_offset, "{error:?}");
    }
}
