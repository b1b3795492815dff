//! The few helpers comms texts need on top of handlebars' built-ins, and the
//! registry setup every template set shares.
//!
//! Built-ins stay available and are preferred: `{{#if (eq a "b")}}`,
//! `{{#unless}}`, `{{#each}}`, `{{#with}}`, `ne`, `and`, `or`, `not`, `len`.
//! The helpers added here:
//!
//! | helper | what it does |
//! |---|---|
//! | `{{upper x}}` | `x` in upper case (Unicode aware). |
//! | `{{lower x}}` | `x` in lower case (Unicode aware). |
//! | `{{truncate text 80}}` | `text` cut to at most 80 characters, ending in `…` when cut. |
//! | `{{default x "fallback"}}` | `x`, or the fallback when `x` is missing, null or empty. |

use handlebars::{
    handlebars_helper, Context, Handlebars, Helper, HelperDef, JsonRender, RenderContext,
    RenderError, RenderErrorReason, ScopedJson,
};
use serde_json::Value;

/// A helper as documented in the template reference.
#[derive(Debug, Clone, Copy)]
pub(super) struct HelperDoc {
    pub usage: &'static str,
    pub doc: &'static str,
}

/// Every helper a template may call, for the reference documentation.
pub(super) const HELPERS: &[HelperDoc] = &[
    HelperDoc {
        usage: "{{upper x}}",
        doc: "`x` in upper case.",
    },
    HelperDoc {
        usage: "{{lower x}}",
        doc: "`x` in lower case.",
    },
    HelperDoc {
        usage: "{{truncate text 80}}",
        doc: "`text` cut to at most 80 characters, ending in `…` when it was cut.",
    },
    HelperDoc {
        usage: "{{default x \"fallback\"}}",
        doc: "`x`, or the fallback when `x` is missing, null or empty (e.g. `incident.eta`).",
    },
    HelperDoc {
        usage: "{{#if (eq a \"b\")}}…{{else}}…{{/if}}",
        doc: "Built-in comparison; also `ne`, `gt`, `lt`, `and`, `or`, `not`.",
    },
    HelperDoc {
        usage: "{{#if x}}…{{else}}…{{/if}}",
        doc: "Built-in condition; `{{#unless x}}` is its opposite.",
    },
    HelperDoc {
        usage: "{{#each list}}…{{/each}}",
        doc: "Built-in loop; inside it, `this` is the current item and `@index` its position.",
    },
    HelperDoc {
        usage: "{{#with incident}}{{title}}{{/with}}",
        doc: "Built-in; inside it, paths start from `incident`, and `@root.brand.name` reaches the rest.",
    },
];

/// A helper a template may call, with the number of positional arguments
/// it takes: what `validate` checks calls against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KnownHelper {
    pub name: &'static str,
    /// Fewest positional arguments.
    pub min: usize,
    /// Most positional arguments; `None` for any number.
    pub max: Option<usize>,
    /// How a call is written, for hints.
    pub usage: &'static str,
}

const fn helper(
    name: &'static str,
    min: usize,
    max: Option<usize>,
    usage: &'static str,
) -> KnownHelper {
    KnownHelper {
        name,
        min,
        max,
        usage,
    }
}

/// Every helper a template may call: handlebars' built-ins, then ours. A
/// name-only expression such as `{{upper}}` with one of these names is a
/// helper call, not a variable. Handlebars ignores extra arguments, which is
/// never what the writer meant, so a call with too many is an error too.
pub(super) const KNOWN_HELPERS: &[KnownHelper] = &[
    helper("if", 1, Some(1), "{{#if x}}…{{else}}…{{/if}}"),
    helper("unless", 1, Some(1), "{{#unless x}}…{{/unless}}"),
    helper("each", 1, Some(1), "{{#each list}}…{{/each}}"),
    helper("with", 1, Some(1), "{{#with object}}…{{/with}}"),
    helper("lookup", 2, Some(2), "{{lookup object \"key\"}}"),
    helper("raw", 0, None, "{{{{raw}}}}…{{{{/raw}}}}"),
    helper("log", 0, None, "{{log x}}"),
    helper("eq", 2, Some(2), "(eq a \"b\")"),
    helper("ne", 2, Some(2), "(ne a \"b\")"),
    helper("gt", 2, Some(2), "(gt a 1)"),
    helper("gte", 2, Some(2), "(gte a 1)"),
    helper("lt", 2, Some(2), "(lt a 1)"),
    helper("lte", 2, Some(2), "(lte a 1)"),
    helper("and", 1, None, "(and a b)"),
    helper("or", 1, None, "(or a b)"),
    helper("not", 1, Some(1), "(not a)"),
    helper("len", 1, Some(1), "(len x)"),
    // ours
    helper("upper", 1, Some(1), "{{upper x}}"),
    helper("lower", 1, Some(1), "{{lower x}}"),
    helper("truncate", 2, Some(2), "{{truncate text 80}}"),
    helper("default", 2, Some(2), "{{default x \"fallback\"}}"),
];

/// The helper called `name`, if a template may call it.
pub(super) fn known_helper(name: &str) -> Option<&'static KnownHelper> {
    KNOWN_HELPERS.iter().find(|h| h.name == name)
}

/// Helpers whose arguments are printed as text: an object there becomes
/// `[object]`. The value is which arguments (by index) are printed.
pub(super) fn printed_arguments(name: &str) -> &'static [usize] {
    match name {
        "upper" | "lower" | "truncate" => &[0],
        "default" => &[0, 1],
        _ => &[],
    }
}

handlebars_helper!(upper: |value: Json| value.render().to_uppercase());
handlebars_helper!(lower: |value: Json| value.render().to_lowercase());
handlebars_helper!(truncate: |text: Json, max: u64| {
    truncate_chars(&text.render(), usize::try_from(max).unwrap_or(usize::MAX))
});

/// `{{default x "fallback"}}`: tolerates a missing `x` even in strict mode,
/// which is the point of it.
struct DefaultHelper;

impl HelperDef for DefaultHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let fallback = h
            .param(1)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("default", 1))?;
        let chosen = match h.param(0) {
            Some(value) if !value.is_value_missing() && is_present(value.value()) => {
                value.value().clone()
            }
            _ => fallback.value().clone(),
        };
        Ok(ScopedJson::Derived(chosen))
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.trim().is_empty(),
        _ => true,
    }
}

/// Cuts `text` to at most `max` characters (never inside a character),
/// ending in `…` when it was cut.
pub(super) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{}…", kept.trim_end())
}

/// Escapes text for the inside of a JSON string literal (webhook bodies).
pub(super) fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// A registry configured the way every squall template is rendered: strict
/// (a missing variable is an error, not an empty string), no dev mode, our
/// helpers, and the given escaping.
pub(super) fn registry(escape: fn(&str) -> String) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.set_dev_mode(false);
    registry.register_escape_fn(escape);
    registry.register_helper("upper", Box::new(upper));
    registry.register_helper("lower", Box::new(lower));
    registry.register_helper("truncate", Box::new(truncate));
    registry.register_helper("default", Box::new(DefaultHelper));
    registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, data: &Value) -> Result<String, RenderError> {
        registry(handlebars::no_escape).render_template(template, data)
    }

    #[test]
    fn truncate_keeps_short_text_and_cuts_long_text_on_a_character_boundary() {
        let cases = [
            ("short", 10, "short"),
            ("exactly10!", 10, "exactly10!"),
            ("Zażółć gęślą jaźń", 7, "Zażółć…"),
            ("שלום עולם", 5, "שלום…"),
            ("こんにちは世界", 3, "こん…"),
            ("anything", 0, ""),
        ];
        for (text, max, expected) in cases {
            assert_eq!(truncate_chars(text, max), expected, "{text} / {max}");
        }
    }

    #[test]
    fn the_truncate_helper_counts_characters() {
        let out = render("{{truncate t 4}}", &json!({"t": "Łódź i okolice"})).unwrap();
        assert_eq!(out, "Łód…");
    }

    #[test]
    fn upper_and_lower_handle_non_ascii_letters() {
        let data = json!({"t": "Łódź"});
        assert_eq!(render("{{upper t}}", &data).unwrap(), "ŁÓDŹ");
        assert_eq!(render("{{lower t}}", &data).unwrap(), "łódź");
    }

    #[test]
    fn default_replaces_missing_null_and_empty_values_but_keeps_others() {
        let template = r#"{{default eta "soon"}}"#;
        assert_eq!(render(template, &json!({})).unwrap(), "soon");
        assert_eq!(render(template, &json!({"eta": null})).unwrap(), "soon");
        assert_eq!(render(template, &json!({"eta": " "})).unwrap(), "soon");
        assert_eq!(render(template, &json!({"eta": "23:30"})).unwrap(), "23:30");
        assert_eq!(render(template, &json!({"eta": 0})).unwrap(), "0");
    }

    #[test]
    fn the_built_in_eq_helper_is_available() {
        let template = r#"{{#if (eq phase "resolved")}}done{{else}}working{{/if}}"#;
        assert_eq!(
            render(template, &json!({"phase": "resolved"})).unwrap(),
            "done"
        );
        assert_eq!(
            render(template, &json!({"phase": "open"})).unwrap(),
            "working"
        );
    }

    #[test]
    fn json_escape_keeps_the_result_inside_a_json_string() {
        let text = "say \"hi\"\\\n\u{1}שלום";
        let escaped = json_escape(text);
        let parsed: Value = serde_json::from_str(&format!("\"{escaped}\"")).unwrap();
        assert_eq!(parsed, json!(text));
    }
}
