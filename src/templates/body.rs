//! Webhook bodies must be JSON. A body template is rendered with the
//! webhook step's sample data and parsed; when that fails, the parser's
//! position in the rendered body is mapped back to the template: to the
//! exact character of literal text, or to the `{{…}}` whose output broke it.

use super::load::{offset_of, position_of, Phrasing, Position};
use handlebars::template::{Template, TemplateElement};
use handlebars::{Context, Handlebars, RenderContext, Renderable, StringOutput};
use serde_json::Value;

/// Why a rendered body is not JSON, placed in the phrasing (not the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NotJson {
    pub position: Position,
    pub message: String,
    pub hint: String,
}

/// `None` when `rendered` (the phrasing rendered with `data`, untrimmed) is
/// JSON once trimmed, as the engine sends it.
pub(super) fn check(
    registry: &Handlebars<'static>,
    phrasing: &Phrasing,
    data: &Value,
    rendered: &str,
) -> Option<NotJson> {
    let body = rendered.trim();
    let error = serde_json::from_str::<Value>(body).err()?;
    let message = format!("the webhook body is not JSON: {}", without_position(&error));
    let shown = quote_body(body);
    let leading = rendered.len() - rendered.trim_start().len();
    let offset = leading + byte_offset(body, error.line(), error.column());
    let source = phrasing.source.as_str();
    let end = position_of(source, source.trim_end().len());
    if error.is_eof() || offset >= leading + body.len() {
        return Some(NotJson {
            position: end,
            message,
            hint: format!(
                "the body ends before its JSON does: close every `{{`, `[` and `\"` it opens \
                 (with the sample data it reads {shown})"
            ),
        });
    }
    let template = &phrasing.template;
    let Some(pieces) = piece_lengths(registry, template, data, rendered.len()) else {
        return Some(NotJson {
            position: Position::START,
            message,
            hint: format!("with the sample data the body reads {shown}"),
        });
    };
    let mut start = 0;
    for (index, length) in pieces.iter().enumerate() {
        if offset >= start + length {
            start += length;
            continue;
        }
        let tag = template.mapping.get(index).map(|m| Position {
            line: m.0,
            column: m.1,
        });
        let (position, hint) = match &template.elements[index] {
            TemplateElement::RawString(text) => {
                let after = index
                    .checked_sub(1)
                    .and_then(|previous| template.mapping.get(previous))
                    .and_then(|m| {
                        offset_of(
                            source,
                            Position {
                                line: m.0,
                                column: m.1,
                            },
                        )
                    })
                    .unwrap_or(0);
                let position = source
                    .get(after..)
                    .and_then(|rest| rest.find(text.as_str()))
                    .map(|found| position_of(source, after + found + (offset - start)))
                    .or(tag)
                    .unwrap_or(Position::START);
                (
                    position,
                    format!("check the JSON syntax here (with the sample data the body reads {shown})"),
                )
            }
            TemplateElement::Expression(_) | TemplateElement::HtmlExpression(_) => {
                let output = &rendered[start..start + length];
                let written = tag
                    .and_then(|tag| tag_text(source, tag))
                    .unwrap_or("this value");
                (
                    tag.unwrap_or(Position::START),
                    format!(
                        "`{written}` gives `{output}` with the sample data, which is not a JSON value \
                         here: put it inside quotes, `\"{written}\"` (squall escapes what it inserts \
                         for a JSON string)"
                    ),
                )
            }
            _ => (
                tag.unwrap_or(Position::START),
                format!(
                    "the JSON breaks inside this block (with the sample data the body reads {shown}); \
                     text inserted by `{{{{…}}}}` belongs inside quotes"
                ),
            ),
        };
        return Some(NotJson {
            position,
            message,
            hint,
        });
    }
    Some(NotJson {
        position: end,
        message,
        hint: format!("with the sample data the body reads {shown}"),
    })
}

/// serde_json's message without the " at line 1 column 11" it appends,
/// which counts in the rendered body, not in the template.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Byte offset in `text` of serde_json's 1-based line and column (a column
/// counts bytes; 0 means the start of the line).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// How many bytes each top-level element contributes to the render, or
/// `None` when rendering them one by one does not give the whole render
/// back (then nothing can be mapped).
fn piece_lengths(
    registry: &Handlebars<'static>,
    template: &Template,
    data: &Value,
    total: usize,
) -> Option<Vec<usize>> {
    let context = Context::wraps(data).ok()?;
    let lengths: Vec<usize> = template
        .elements
        .iter()
        .zip(&template.mapping)
        .map(|(element, mapping)| {
            let mut single = Template::default();
            single.elements = vec![element.clone()];
            single.mapping = vec![mapping.clone()];
            let mut render_context = RenderContext::new(None);
            let mut output = StringOutput::new();
            single
                .render(registry, &context, &mut render_context, &mut output)
                .ok()?;
            output.into_string().ok().map(|text| text.len())
        })
        .collect::<Option<_>>()?;
    (lengths.len() == template.elements.len() && lengths.iter().sum::<usize>() == total)
        .then_some(lengths)
}

/// The `{{…}}` tag that starts at `tag`, as written.
fn tag_text(source: &str, tag: Position) -> Option<&str> {
    let start = offset_of(source, tag)?;
    let rest = source.get(start..)?;
    let close = if rest.starts_with("{{{") { "}}}" } else { "}}" };
    rest.find(close).map(|end| &rest[..end + close.len()])
}

/// The rendered body for a hint: in backticks, cut when long.
fn quote_body(body: &str) -> String {
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("`{}`", super::helpers::truncate_chars(&one_line, 120))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_positions_become_byte_offsets() {
        let text = "{\n  \"a\": x\n}";
        assert_eq!(byte_offset(text, 2, 8), text.find('x').unwrap());
        assert_eq!(byte_offset(text, 1, 0), 0);
        assert_eq!(byte_offset(text, 9, 9), text.len());
    }

    #[test]
    fn a_tag_is_quoted_as_written() {
        let source = "{\"a\": {{x.y}}, \"b\": {{{z}}}}";
        assert_eq!(
            tag_text(source, Position { line: 1, column: 7 }),
            Some("{{x.y}}")
        );
        assert_eq!(
            tag_text(
                source,
                Position {
                    line: 1,
                    column: 21
                }
            ),
            Some("{{{z}}}")
        );
    }
}
