//! The shipped examples are part of the product: every template compiles,
//! uses only the variables its step offers, and renders in every language.

use squall::templates::{StepContext, TemplateSet};
use std::path::Path;

fn context_of(name: &str) -> StepContext {
    match name.split('/').next() {
        Some("status") => StepContext::Status,
        Some("autoreply") => StepContext::Autoreply,
        Some("drafts") => StepContext::Draft,
        Some("notify") => StepContext::Notify,
        Some("webhook") => StepContext::Webhook,
        other => panic!("template group {other:?} has no step context"),
    }
}

#[test]
fn every_shipped_template_compiles_uses_known_variables_and_renders() {
    let (set, problems) = TemplateSet::load_dir(Path::new("templates"), "en");
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(set.names().len() >= 14, "{:?}", set.names());
    for name in set.names() {
        let ctx = context_of(&name);
        let vars = set.check_variables(&name, ctx);
        assert!(vars.is_empty(), "{name}: {vars:#?}");
        let renders = set.check_renders(&name, ctx);
        assert!(renders.is_empty(), "{name}: {renders:#?}");
        let all = set.check(&name, ctx);
        assert!(all.is_empty(), "{name}: {all:#?}");
    }
}

#[test]
fn customer_facing_templates_exist_in_all_five_languages() {
    let (set, _) = TemplateSet::load_dir(Path::new("templates"), "en");
    for name in set.names().into_iter().filter(|n| {
        n.starts_with("status/") || n.starts_with("drafts/") || n.starts_with("autoreply/")
    }) {
        let langs = set.languages(&name);
        for lang in ["en", "pl", "he", "ru", "ja"] {
            assert!(
                langs.iter().any(|l| l == lang),
                "{name} has no {lang} variant: {langs:?}"
            );
        }
    }
}
