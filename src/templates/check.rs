//! Which variables a compiled template reads from the render data, found by
//! walking handlebars' AST, and whether a step's context provides them.
//!
//! Only paths that refer to the render data's root are checked. Inside
//! `{{#each}}` and `{{#with}}` the context is the current item, so paths
//! there (`this.name`, `name`, `../x`, `@index`) are left alone; the block's
//! own parameter (`{{#each incident.updates}}`) is checked like any other.

use super::helpers::{CONTEXT_CHANGING_HELPERS, HELPER_NAMES};
use super::load::{offset_of, position_of, Phrasing, Position};
use super::Variable;
use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};

/// A root variable a template reads, where it was found in the phrasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UsedVariable {
    /// Named segments, e.g. `["author", "nickname"]`.
    pub segments: Vec<String>,
    /// The path as written, e.g. `this.author.nickname`, to find it in the source.
    pub raw: String,
    /// Start of the enclosing `{{…}}` tag, when handlebars recorded it.
    pub tag: Option<Position>,
}

#[cfg(test)]
impl UsedVariable {
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

/// Whether paths resolve against the render data or against a block's item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Root,
    Item,
}

/// Every root variable `template` reads, in source order.
pub(super) fn used_variables(template: &Template) -> Vec<UsedVariable> {
    let mut found = Vec::new();
    visit_template(template, Scope::Root, &mut found);
    found
}

fn visit_template(template: &Template, scope: Scope, found: &mut Vec<UsedVariable>) {
    for (index, element) in template.elements.iter().enumerate() {
        let tag = template.mapping.get(index).map(|m| Position {
            line: m.0,
            column: m.1,
        });
        match element {
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                visit_expression(helper, scope, tag, found);
            }
            TemplateElement::HelperBlock(helper) => visit_block(helper, scope, tag, found),
            _ => {}
        }
    }
}

/// `{{x}}`, `{{helper a b key=c}}`, and the same inside `( … )`.
fn visit_expression(
    helper: &HelperTemplate,
    scope: Scope,
    tag: Option<Position>,
    found: &mut Vec<UsedVariable>,
) {
    let name_only = helper.params.is_empty() && helper.hash.is_empty();
    if name_only {
        if let Parameter::Path(path) = &helper.name {
            if !is_helper_call(path) {
                record(path, scope, tag, found);
            }
        }
        return;
    }
    visit_arguments(helper, scope, tag, found);
}

fn visit_block(
    helper: &HelperTemplate,
    scope: Scope,
    tag: Option<Position>,
    found: &mut Vec<UsedVariable>,
) {
    let body_scope = match &helper.name {
        Parameter::Name(name) if CONTEXT_CHANGING_HELPERS.contains(&name.as_str()) => Scope::Item,
        Parameter::Name(name) if HELPER_NAMES.contains(&name.as_str()) => scope,
        // `{{#brand}}…{{/brand}}`: a section over a variable, whose body
        // sees that variable as its context.
        Parameter::Name(name) => {
            if let Ok(path) = Path::parse(name) {
                record(&path, scope, tag, found);
            }
            Scope::Item
        }
        Parameter::Path(path) => {
            record(path, scope, tag, found);
            Scope::Item
        }
        _ => scope,
    };
    visit_arguments(helper, scope, tag, found);
    if let Some(body) = &helper.template {
        visit_template(body, body_scope, found);
    }
    if let Some(inverse) = &helper.inverse {
        visit_template(inverse, scope, found);
    }
}

fn visit_arguments(
    helper: &HelperTemplate,
    scope: Scope,
    tag: Option<Position>,
    found: &mut Vec<UsedVariable>,
) {
    let mut hash: Vec<(&String, &Parameter)> = helper.hash.iter().collect();
    hash.sort_by(|a, b| a.0.cmp(b.0));
    let arguments = helper.params.iter().chain(hash.into_iter().map(|(_, p)| p));
    for argument in arguments {
        match argument {
            Parameter::Path(path) => record(path, scope, tag, found),
            Parameter::Subexpression(sub) => {
                if let TemplateElement::Expression(inner) = sub.as_element() {
                    visit_expression(inner, scope, tag, found);
                }
            }
            _ => {}
        }
    }
}

/// `{{upper}}` parses as a path but calls the helper.
fn is_helper_call(path: &Path) -> bool {
    match path {
        Path::Relative((segments, raw)) => {
            segments.len() == 1 && HELPER_NAMES.contains(&raw.as_str())
        }
        Path::Local(_) => false,
    }
}

fn record(path: &Path, scope: Scope, tag: Option<Position>, found: &mut Vec<UsedVariable>) {
    let Path::Relative((segments, raw)) = path else {
        // `@index`, `@first`, …: provided by the block, not the data.
        return;
    };
    let from_root = raw.starts_with("@root");
    if raw.starts_with("..") || (scope == Scope::Item && !from_root) {
        return;
    }
    let named: Vec<String> = segments
        .iter()
        .filter_map(|segment| match segment {
            PathSeg::Named(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    // `@root` alone and `this` alone are the whole data, which always exists.
    if named.is_empty() {
        return;
    }
    found.push(UsedVariable {
        segments: named,
        raw: raw.clone(),
        tag,
    });
}

/// Why a variable is not available, or `None` when it is.
///
/// Walks the path one segment at a time: each prefix must be a declared
/// variable (a leaf, which then must be the whole path) or the parent of
/// declared variables (an object).
pub(super) fn unavailable(segments: &[String], variables: &[Variable]) -> Option<String> {
    let mut prefix = String::new();
    for (depth, segment) in segments.iter().enumerate() {
        if depth > 0 {
            prefix.push('.');
        }
        prefix.push_str(segment);
        let is_leaf = variables.iter().any(|v| v.path == prefix);
        let is_object = variables.iter().any(|v| {
            v.path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        });
        let last = depth + 1 == segments.len();
        match (is_leaf, is_object) {
            (true, _) if last => return None,
            (true, _) => return Some(segments.join(".")),
            (false, true) if last => return None,
            (false, true) => continue,
            (false, false) => return Some(segments.join(".")),
        }
    }
    None
}

/// Best-effort position of a used variable in its file: the path's own text
/// at or after its tag, else the tag, else the first mention in the phrasing.
pub(super) fn locate(phrasing: &Phrasing, used: &UsedVariable) -> Position {
    let source = phrasing.source.as_str();
    let from = used.tag.and_then(|tag| offset_of(source, tag)).unwrap_or(0);
    let position = source
        .get(from..)
        .and_then(|rest| rest.find(&used.raw))
        .map(|i| position_of(source, from + i))
        .or(used.tag)
        .or_else(|| source.find(&used.raw).map(|i| position_of(source, i)))
        .unwrap_or(Position::START);
    phrasing.to_file(position)
}

/// The declared variable whose path is closest to `wanted`, if any is close.
pub(super) fn did_you_mean(wanted: &str, variables: &[Variable]) -> Option<&'static str> {
    variables
        .iter()
        .map(|v| (strsim::jaro_winkler(wanted, v.path), v.path))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::StepContext;

    fn used(source: &str) -> Vec<String> {
        let template = Template::compile(source).unwrap();
        used_variables(&template)
            .iter()
            .map(UsedVariable::dotted)
            .collect()
    }

    #[test]
    fn plain_helper_and_subexpression_arguments_are_found() {
        let source = r#"{{brand.name}} {{{incident.link}}} {{upper incident.title}}
{{#if (eq incident.phase "resolved")}}{{truncate mention.text 80}}{{/if}}
{{default incident.eta fallback=brand.support_phone}}"#;
        assert_eq!(
            used(source),
            [
                "brand.name",
                "incident.link",
                "incident.title",
                "incident.phase",
                "mention.text",
                "incident.eta",
                "brand.support_phone"
            ]
        );
    }

    #[test]
    fn paths_inside_each_and_with_are_relative_to_the_item() {
        let source = "{{#each queue.items}}{{this.name}}{{name}}{{@index}}{{../brand.name}}\
                      {{@root.playbook}}{{else}}{{lang}}{{/each}}{{#with author}}{{name}}{{/with}}";
        assert_eq!(used(source), ["queue.items", "playbook", "lang", "author"]);
    }

    #[test]
    fn else_if_chains_and_unless_blocks_keep_the_root_context() {
        let source = "{{#if private}}a{{else if (eq event \"x\")}}{{lang}}{{else}}{{now}}{{/if}}\
                      {{#unless on_call}}{{back_at}}{{/unless}}";
        assert_eq!(
            used(source),
            ["private", "event", "lang", "now", "on_call", "back_at"]
        );
    }

    #[test]
    fn a_helper_name_alone_is_not_a_variable() {
        assert_eq!(used("{{upper}} {{this}} {{@root}}"), Vec::<String>::new());
    }

    #[test]
    fn availability_follows_leaves_and_objects() {
        let vars = StepContext::Draft.variables();
        let path = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(unavailable(&path("author.name"), vars), None);
        assert_eq!(unavailable(&path("author"), vars), None);
        assert_eq!(unavailable(&path("private"), vars), None);
        assert_eq!(
            unavailable(&path("author.nickname"), vars).as_deref(),
            Some("author.nickname")
        );
        assert_eq!(
            unavailable(&path("customer.name"), vars).as_deref(),
            Some("customer.name")
        );
        assert_eq!(
            unavailable(&path("playbook.name"), vars).as_deref(),
            Some("playbook.name")
        );
        assert_eq!(
            unavailable(&path("brand.nam"), vars).as_deref(),
            Some("brand.nam")
        );
    }

    #[test]
    fn a_close_misspelling_gets_a_suggestion_and_a_far_one_does_not() {
        let vars = StepContext::Draft.variables();
        assert_eq!(did_you_mean("author.nickname", vars), Some("author.name"));
        assert_eq!(did_you_mean("incident.titel", vars), Some("incident.title"));
        assert_eq!(did_you_mean("zzz", vars), None);
    }
}
