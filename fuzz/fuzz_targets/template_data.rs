//! Customer text as template data: hostile mention text, author names and
//! commander notes rendered through `TemplateSet::render`, in every escape
//! mode, with the example brand's templates and a probe template.
//!
//! Invariants: customer text is data, never a template: the probe renders
//! it back exactly (plain text), escaped and decodable to the very same
//! text (HTML e-mail), or as a JSON string holding the very same text
//! (webhook bodies), whatever `{{`, `}}`, quotes or control characters it
//! holds; every example template renders with it; the example webhook body
//! stays valid JSON.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use squall::templates::{Escape, StepContext, TemplateSet};
use std::sync::OnceLock;

/// The probe: customer text plain, through `upper` and through `truncate`.
/// Brackets keep the renderer's trimming away from the text's own spaces.
const PROBE: &str = "[{{mention.text}}]|[{{author.name}}]|[{{upper mention.text}}]|[{{truncate mention.excerpt 20}}]";

fn probe() -> &'static TemplateSet {
    static PROBE_SET: OnceLock<TemplateSet> = OnceLock::new();
    PROBE_SET.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("squall-fuzz-probe-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("draft")).expect("probe dir");
        std::fs::write(dir.join("draft/probe.en.hbs"), PROBE).expect("probe template");
        let (set, problems) = TemplateSet::load_dir(&dir, "en");
        assert!(problems.is_empty(), "{problems:?}");
        set
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let text = text.as_ref();
    check_probe(text, u64::from(seed));
    check_examples(text, u64::from(seed));
});

fn check_probe(text: &str, seed: u64) {
    let data = with_customer_text(StepContext::Draft, text);
    let set = probe();
    let plain = set
        .render("draft/probe", "en", &data, seed, Escape::Text)
        .expect("the probe renders")
        .text;
    let expected = format!(
        "[{text}]|[{text}]|[{}]|[{}]",
        text.to_uppercase(),
        truncated(text, 20)
    );
    assert_eq!(plain, expected, "customer text was not rendered verbatim");

    let html = set
        .render("draft/probe", "en", &data, seed, Escape::Html)
        .expect("the probe renders as HTML")
        .text;
    assert!(
        !html.contains('<') && !html.contains('>') && !html.contains('"'),
        "customer text reached HTML unescaped: {html:?}"
    );
    assert_eq!(
        html_decode(&html),
        expected,
        "HTML escaping lost or changed text"
    );

    let json = set
        .render("draft/probe", "en", &data, seed, Escape::Json)
        .expect("the probe renders as JSON")
        .text;
    let parsed: Value = serde_json::from_str(&format!("\"{json}\""))
        .unwrap_or_else(|e| panic!("customer text broke out of a JSON string: {e}: {json:?}"));
    assert_eq!(
        parsed,
        Value::String(expected),
        "JSON escaping changed text"
    );
}

/// Every template of the example brand, in every language, with the text in
/// every field a customer or a commander writes.
fn check_examples(text: &str, seed: u64) {
    let templates = &common::example().templates;
    // One escape mode a run (by the seed): all three every time would cut
    // the runs a second threefold for little more.
    let escape = [Escape::Text, Escape::Html, Escape::Json][(seed % 3) as usize];
    for name in templates.names() {
        let ctx = context_of(&name);
        let data = with_customer_text(ctx, text);
        for lang in templates.languages(&name) {
            let out = templates
                .render(&name, &lang, &data, seed, escape)
                .unwrap_or_else(|e| panic!("{name} ({lang}) fails on customer text: {e}"));
            if ctx != StepContext::Webhook || escape != Escape::Json {
                continue;
            }
            let body: Value = serde_json::from_str(&out.text)
                .unwrap_or_else(|e| panic!("{name} ({lang}) is no longer JSON: {e}: {}", out.text));
            for field in ["title", "message"] {
                if let Some(v) = body.get(field) {
                    assert_eq!(v, text, "{name} ({lang}): `{field}` changed");
                }
            }
        }
    }
}

/// The context a template of the example brand is rendered for, by folder.
fn context_of(name: &str) -> StepContext {
    match name.split('/').next() {
        Some("status") => StepContext::Status,
        Some("autoreply") => StepContext::Autoreply,
        Some("drafts") => StepContext::Draft,
        Some("notify") => StepContext::Notify,
        Some("webhook") => StepContext::Webhook,
        other => panic!("a template folder nobody maps: {other:?}"),
    }
}

/// The context's sample data with `text` in every field people outside
/// squall's code write: the customer's words and names, the commander's
/// title and update.
fn with_customer_text(ctx: StepContext, text: &str) -> Value {
    let mut data = ctx.sample_data();
    for path in [
        "/mention/text",
        "/mention/excerpt",
        "/author/name",
        "/author/first_name",
        "/author/handle",
        "/incident/title",
        "/incident/update",
        "/recipient/name",
    ] {
        if let Some(v) = data.pointer_mut(path) {
            *v = Value::String(text.to_owned());
        }
    }
    data
}

/// `truncate`'s documented result: the text if short enough, else its first
/// `max - 1` characters, trailing spaces dropped, and `…`.
fn truncated(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{}…", kept.trim_end())
}

/// Undoes HTML escaping: named and numeric character references.
fn html_decode(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => panic!("a bare `&` in escaped HTML: {html:?}"),
        }
    }
    out.push_str(rest);
    out
}
