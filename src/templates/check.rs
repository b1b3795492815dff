//! What a compiled template does, found by walking handlebars' AST without
//! rendering it: the variables it reads, resolved through `{{#with}}` and
//! `{{#each}}` to paths in the render data; the helpers it calls and with
//! how many arguments; and what handlebars parses but squall does not offer
//! (partials, decorators, a block over a variable).
//!
//! These checks see every branch, where a test render with sample data sees
//! only the branches the sample data takes. Whether a variable is available
//! depends on the step, so the walk only records what the template does;
//! [`unavailable`] and [`object_fields`] judge it against a step's variables.

use super::helpers::{known_helper, printed_arguments, KnownHelper};
use super::load::{offset_of, position_of, Phrasing, Position};
use super::Variable;
use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::Path;

/// Where the paths written in a block's body resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Against the value at this path of the render data (the root: empty).
    At(Vec<String>),
    /// Against each item of the object or list at this path (`{{#each}}`).
    Items(Vec<String>),
    /// Somewhere the check does not follow (block parameters, a block over
    /// something that is not a variable): paths there are not checked.
    Unknown,
}

/// One level of context: the root, or the body of a `{{#with}}` or
/// `{{#each}}` (which `../` leaves).
#[derive(Debug, Clone)]
struct Frame {
    scope: Scope,
    /// The block's opening tag as written, e.g. `{{#with incident}}`.
    opened_by: Option<String>,
}

/// What a path read in a template refers to in the render data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The value at this path (empty: the whole data).
    Path(Vec<String>),
    /// `rest` inside each item of the object or list at `list`.
    Item {
        list: Vec<String>,
        rest: Vec<String>,
    },
}

/// A variable a template reads, where it was found in the phrasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UsedVariable {
    pub target: Target,
    /// The path as written, e.g. `this.author.nickname`, to find it in the
    /// source and to quote it.
    pub raw: String,
    /// The block whose context the path is read in, e.g. `{{#with incident}}`;
    /// `None` at the root.
    pub opened_by: Option<String>,
    /// Whether the value is printed as text, where an object would come out
    /// as `[object]`.
    pub printed: bool,
    /// Start of the enclosing `{{…}}` tag, when handlebars recorded it.
    pub tag: Option<Position>,
}

/// Something a template does that a check has an opinion about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finding {
    Variable(UsedVariable),
    /// A call of a helper squall does not have. `block` for `{{#name}}`.
    UnknownHelper {
        name: String,
        block: bool,
        tag: Option<Position>,
    },
    /// A helper called with too few or too many positional arguments.
    Arity {
        helper: &'static KnownHelper,
        given: usize,
        tag: Option<Position>,
    },
    /// `{{> partial}}` or `{{#> partial}}…`: squall templates have none.
    Partial {
        name: String,
        tag: Option<Position>,
    },
    /// `{{* decorator}}`: squall templates have none.
    Decorator {
        name: String,
        tag: Option<Position>,
    },
}

impl Finding {
    /// The text to look for after the tag to place the finding exactly.
    pub fn raw(&self) -> &str {
        match self {
            Finding::Variable(used) => &used.raw,
            Finding::UnknownHelper { name, .. }
            | Finding::Partial { name, .. }
            | Finding::Decorator { name, .. } => name,
            Finding::Arity { helper, .. } => helper.name,
        }
    }

    pub fn tag(&self) -> Option<Position> {
        match self {
            Finding::Variable(used) => used.tag,
            Finding::UnknownHelper { tag, .. }
            | Finding::Arity { tag, .. }
            | Finding::Partial { tag, .. }
            | Finding::Decorator { tag, .. } => *tag,
        }
    }
}

/// Everything `template` does that the checks look at, in source order.
pub(super) fn findings(template: &Template) -> Vec<Finding> {
    let mut walker = Walker {
        frames: vec![Frame {
            scope: Scope::At(Vec::new()),
            opened_by: None,
        }],
        found: Vec::new(),
    };
    walker.template(template);
    walker.found
}

struct Walker {
    /// The root, then one frame per enclosing `{{#with}}`/`{{#each}}`.
    frames: Vec<Frame>,
    found: Vec<Finding>,
}

impl Walker {
    fn template(&mut self, template: &Template) {
        for (index, element) in template.elements.iter().enumerate() {
            let tag = template.mapping.get(index).map(|m| Position {
                line: m.0,
                column: m.1,
            });
            match element {
                TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                    self.expression(helper, tag, true);
                }
                TemplateElement::HelperBlock(helper) => self.block(helper, tag),
                TemplateElement::PartialExpression(partial)
                | TemplateElement::PartialBlock(partial) => self.found.push(Finding::Partial {
                    name: parameter_text(&partial.name),
                    tag,
                }),
                TemplateElement::DecoratorExpression(decorator)
                | TemplateElement::DecoratorBlock(decorator) => {
                    self.found.push(Finding::Decorator {
                        name: parameter_text(&decorator.name),
                        tag,
                    });
                }
                _ => {}
            }
        }
    }

    /// `{{x}}`, `{{helper a b key=c}}`, and the same inside `( … )`.
    /// `printed`: whether what it gives is written out as text.
    fn expression(&mut self, helper: &HelperTemplate, tag: Option<Position>, printed: bool) {
        let name_only = helper.params.is_empty() && helper.hash.is_empty();
        match &helper.name {
            Parameter::Path(path) if name_only => match helper_called_by(path) {
                // `{{upper}}` parses as a path but calls the helper.
                Some(known) => self.arity(known, 0, tag),
                None => self.record(path, printed, tag),
            },
            Parameter::Name(name) => match known_helper(name) {
                Some(known) => {
                    self.arity(known, helper.params.len(), tag);
                    if known.name == "lookup" {
                        self.lookup(helper, tag, printed);
                    } else {
                        let printed_at = if printed {
                            printed_arguments(known.name)
                        } else {
                            &[]
                        };
                        self.arguments(helper, tag, printed_at);
                    }
                }
                None => {
                    self.found.push(Finding::UnknownHelper {
                        name: name.clone(),
                        block: false,
                        tag,
                    });
                    self.arguments(helper, tag, &[]);
                }
            },
            Parameter::Path(path) => {
                self.found.push(Finding::UnknownHelper {
                    name: path_raw(path).to_owned(),
                    block: false,
                    tag,
                });
                self.arguments(helper, tag, &[]);
            }
            // `{{(upper x)}}`
            Parameter::Subexpression(sub) => {
                if let TemplateElement::Expression(inner) = sub.as_element() {
                    self.expression(inner, tag, printed);
                }
            }
            _ => {}
        }
    }

    fn block(&mut self, helper: &HelperTemplate, tag: Option<Position>) {
        let known = match &helper.name {
            Parameter::Name(name) => known_helper(name),
            _ => None,
        };
        let Some(known) = known else {
            // `{{#brand}}…{{/brand}}`: handlebars here has no sections over
            // a variable, and what is inside cannot be judged.
            self.found.push(Finding::UnknownHelper {
                name: parameter_text(&helper.name),
                block: true,
                tag,
            });
            self.arguments(helper, tag, &[]);
            if let Some(inverse) = &helper.inverse {
                self.template(inverse);
            }
            return;
        };
        self.arity(known, helper.params.len(), tag);
        self.arguments(helper, tag, &[]);
        let body_frame = match known.name {
            "with" | "each" => Some(self.body_frame(known.name, helper)),
            _ => None,
        };
        if let Some(body) = &helper.template {
            match body_frame {
                Some(frame) => {
                    self.frames.push(frame);
                    self.template(body);
                    self.frames.pop();
                }
                None => self.template(body),
            }
        }
        if let Some(inverse) = &helper.inverse {
            self.template(inverse);
        }
    }

    /// The context inside `{{#with x}}` or `{{#each x}}`.
    fn body_frame(&self, helper: &str, block: &HelperTemplate) -> Frame {
        let target = match block.params.first() {
            Some(Parameter::Path(path)) if block.block_param.is_none() => self.resolve(path),
            _ => None,
        };
        let scope = match (helper, target) {
            ("with", Some(Target::Path(path))) => Scope::At(path),
            ("each", Some(Target::Path(path))) => Scope::Items(path),
            _ => Scope::Unknown,
        };
        let argument = block.params.first().map(parameter_text).unwrap_or_default();
        Frame {
            scope,
            opened_by: Some(format!("{{{{#{helper} {argument}}}}}")),
        }
    }

    /// `{{lookup object "key"}}` reads `object.key`.
    fn lookup(&mut self, helper: &HelperTemplate, tag: Option<Position>, printed: bool) {
        match (helper.params.first(), helper.params.get(1)) {
            (Some(Parameter::Path(object)), Some(Parameter::Literal(key))) => {
                let Some(key) = key.as_str().filter(|k| !k.is_empty()) else {
                    return self.arguments(helper, tag, &[]);
                };
                self.record(object, false, tag);
                if let Some(target) = self.resolve(object) {
                    let target = match target {
                        Target::Path(mut path) => {
                            path.push(key.to_owned());
                            Target::Path(path)
                        }
                        Target::Item { list, mut rest } => {
                            rest.push(key.to_owned());
                            Target::Item { list, rest }
                        }
                    };
                    let opened_by = self.frame_of(object).and_then(|f| f.opened_by.clone());
                    self.found.push(Finding::Variable(UsedVariable {
                        target,
                        raw: key.to_owned(),
                        opened_by,
                        printed,
                        tag,
                    }));
                }
            }
            _ => self.arguments(helper, tag, &[]),
        }
    }

    /// Positional and hash arguments; those at `printed_at` are printed.
    fn arguments(&mut self, helper: &HelperTemplate, tag: Option<Position>, printed_at: &[usize]) {
        for (index, argument) in helper.params.iter().enumerate() {
            self.argument(argument, tag, printed_at.contains(&index));
        }
        let mut hash: Vec<(&String, &Parameter)> = helper.hash.iter().collect();
        hash.sort_by(|a, b| a.0.cmp(b.0));
        for (_, argument) in hash {
            self.argument(argument, tag, false);
        }
    }

    fn argument(&mut self, argument: &Parameter, tag: Option<Position>, printed: bool) {
        match argument {
            Parameter::Path(path) => self.record(path, printed, tag),
            Parameter::Subexpression(sub) => {
                if let TemplateElement::Expression(inner) = sub.as_element() {
                    self.expression(inner, tag, printed);
                }
            }
            _ => {}
        }
    }

    fn arity(&mut self, helper: &'static KnownHelper, given: usize, tag: Option<Position>) {
        let too_few = given < helper.min;
        let too_many = helper.max.is_some_and(|max| given > max);
        if too_few || too_many {
            self.found.push(Finding::Arity { helper, given, tag });
        }
    }

    fn record(&mut self, path: &Path, printed: bool, tag: Option<Position>) {
        let Some(target) = self.resolve(path) else {
            return;
        };
        let opened_by = self.frame_of(path).and_then(|f| f.opened_by.clone());
        self.found.push(Finding::Variable(UsedVariable {
            target,
            raw: path_raw(path).to_owned(),
            opened_by,
            printed,
            tag,
        }));
    }

    /// The frame a path is read in: `@root` the root, `../` the one outside.
    fn frame_of(&self, path: &Path) -> Option<&Frame> {
        let Path::Relative((_, raw)) = path else {
            return None;
        };
        if raw.starts_with("@root") {
            return self.frames.first();
        }
        let mut rest = raw.strip_prefix("this/").unwrap_or(raw);
        let mut ups = 0;
        while let Some(after) = rest.strip_prefix("../") {
            ups += 1;
            rest = after;
        }
        if rest == ".." {
            ups += 1;
        }
        self.frames
            .len()
            .checked_sub(ups + 1)
            .and_then(|index| self.frames.get(index))
    }

    /// What `path` refers to; `None` for `@index` and friends, which the
    /// block provides, and where the check does not follow.
    fn resolve(&self, path: &Path) -> Option<Target> {
        let Path::Relative((segments, _)) = path else {
            return None;
        };
        let named: Vec<String> = segments
            .iter()
            .filter_map(|segment| match segment {
                handlebars::PathSeg::Named(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        match &self.frame_of(path)?.scope {
            Scope::At(prefix) => Some(Target::Path(prefix.iter().cloned().chain(named).collect())),
            Scope::Items(list) => Some(Target::Item {
                list: list.clone(),
                rest: named,
            }),
            Scope::Unknown => None,
        }
    }
}

/// The helper `{{name}}` calls, when the path is a single helper name.
fn helper_called_by(path: &Path) -> Option<&'static KnownHelper> {
    match path {
        Path::Relative((segments, raw)) if segments.len() == 1 => known_helper(raw),
        _ => None,
    }
}

fn path_raw(path: &Path) -> &str {
    match path {
        Path::Relative((_, raw)) | Path::Local((_, _, raw)) => raw,
    }
}

/// A parameter as it was written, near enough to quote it.
fn parameter_text(parameter: &Parameter) -> String {
    match parameter {
        Parameter::Name(name) => name.clone(),
        Parameter::Path(path) => path_raw(path).to_owned(),
        Parameter::Literal(value) => value.to_string(),
        _ => "( … )".to_owned(),
    }
}

/// Why a path is not available, or `None` when it is.
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
        let is_object = !fields_of(&prefix, variables).is_empty();
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

/// The declared variables under `path` when it is an object (the whole data
/// for an empty path), else `None`.
pub(super) fn object_fields(
    segments: &[String],
    variables: &[Variable],
) -> Option<Vec<&'static str>> {
    let fields = fields_of(&segments.join("."), variables);
    (!fields.is_empty()).then_some(fields)
}

/// Whether `rest` is available in at least one item of the object at `list`
/// (what `{{#each list}}` walks).
pub(super) fn available_in_items(list: &[String], rest: &[String], variables: &[Variable]) -> bool {
    let prefix = list.join(".");
    let mut children: Vec<&str> = fields_of(&prefix, variables)
        .into_iter()
        .filter_map(|path| {
            let inside = if prefix.is_empty() {
                path
            } else {
                path.strip_prefix(prefix.as_str())?.strip_prefix('.')?
            };
            inside.split('.').next()
        })
        .collect();
    children.dedup();
    children.into_iter().any(|child| {
        let path: Vec<String> = list
            .iter()
            .cloned()
            .chain(std::iter::once(child.to_owned()))
            .chain(rest.iter().cloned())
            .collect();
        unavailable(&path, variables).is_none()
    })
}

/// Declared variable paths strictly under `prefix` (all of them for an
/// empty prefix).
fn fields_of(prefix: &str, variables: &[Variable]) -> Vec<&'static str> {
    variables
        .iter()
        .map(|v| v.path)
        .filter(|path| {
            prefix.is_empty()
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
        .collect()
}

/// Best-effort position of what a finding names in its file: its own text at
/// or after its tag, else the tag, else the first mention in the phrasing.
pub(super) fn locate(phrasing: &Phrasing, raw: &str, tag: Option<Position>) -> Position {
    let source = phrasing.source.as_str();
    let from = tag.and_then(|tag| offset_of(source, tag)).unwrap_or(0);
    let found = (!raw.is_empty())
        .then(|| {
            source
                .get(from..)
                .and_then(|rest| rest.find(raw))
                .map(|i| position_of(source, from + i))
        })
        .flatten();
    let position = found
        .or(tag)
        .or_else(|| {
            (!raw.is_empty())
                .then(|| source.find(raw).map(|i| position_of(source, i)))
                .flatten()
        })
        .unwrap_or(Position::START);
    phrasing.to_file(position)
}

/// The candidate closest to `wanted`, if any is close.
pub(super) fn did_you_mean<'c>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(wanted, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::StepContext;

    fn walk(source: &str) -> Vec<Finding> {
        findings(&Template::compile(source).unwrap())
    }

    /// Variables read, as `path` (from the root) or `list[*].rest`.
    fn used(source: &str) -> Vec<String> {
        walk(source)
            .into_iter()
            .filter_map(|finding| match finding {
                Finding::Variable(used) => Some(match used.target {
                    Target::Path(path) => path.join("."),
                    Target::Item { list, rest } => {
                        format!("{}[*].{}", list.join("."), rest.join("."))
                    }
                }),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_helper_and_subexpression_arguments_are_found() {
        let source = r#"{{brand.name}} {{{incident.link}}} {{upper incident.title}}
{{#if (eq incident.phase "resolved")}}{{truncate mention.text 80}}{{/if}}
{{default incident.eta brand.support_phone}}"#;
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
    fn paths_inside_with_and_each_resolve_against_the_block_argument() {
        let source = "{{#each queue.items}}{{this.name}}{{name}}{{@index}}{{../brand.name}}\
                      {{@root.playbook}}{{else}}{{lang}}{{/each}}\
                      {{#with author}}{{name}}{{#with ../incident}}{{titel}}{{/with}}{{/with}}";
        assert_eq!(
            used(source),
            [
                "queue.items",
                "queue.items[*].name",
                "queue.items[*].name",
                "brand.name",
                "playbook",
                "lang",
                "author",
                "author.name",
                "incident",
                "incident.titel"
            ]
        );
    }

    #[test]
    fn paths_under_block_parameters_are_not_followed() {
        assert_eq!(
            used("{{#each incident as |value key|}}{{value}}{{key}}{{/each}}"),
            ["incident"]
        );
    }

    #[test]
    fn lookup_with_a_literal_key_reads_that_field() {
        assert_eq!(
            used(r#"{{lookup brand "nmae"}} {{lookup brand lang}}"#),
            ["brand", "brand.nmae", "brand", "lang"]
        );
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
    fn a_helper_name_alone_is_a_call_without_arguments() {
        let found = walk("{{upper}}");
        assert!(
            matches!(&found[..], [Finding::Arity { helper, given: 0, .. }] if helper.name == "upper"),
            "{found:?}"
        );
    }

    #[test]
    fn only_printed_values_are_marked_printed() {
        let printed: Vec<(String, bool)> = walk(
            "{{brand}} {{#if brand}}{{/if}} {{upper brand}} {{truncate brand 3}} {{default x brand}} (eq brand 1)",
        )
        .into_iter()
        .filter_map(|f| match f {
            Finding::Variable(v) => Some((v.raw, v.printed)),
            _ => None,
        })
        .collect();
        let expected: Vec<(String, bool)> = [
            ("brand", true),
            ("brand", false),
            ("brand", true),
            ("brand", true),
            ("x", true),
            ("brand", true),
        ]
        .iter()
        .map(|(raw, printed)| ((*raw).to_owned(), *printed))
        .collect();
        assert_eq!(printed, expected);
    }

    #[test]
    fn unknown_helpers_blocks_over_variables_partials_and_decorators_are_found() {
        let found =
            walk("{{shout x}} {{#incident}}{{title}}{{/incident}} {{> footer}} {{*inline}}");
        let kinds: Vec<String> = found
            .iter()
            .map(|f| match f {
                Finding::Variable(v) => format!("variable {}", v.raw),
                Finding::UnknownHelper { name, block, .. } => format!("helper {name} {block}"),
                Finding::Arity { helper, .. } => format!("arity {}", helper.name),
                Finding::Partial { name, .. } => format!("partial {name}"),
                Finding::Decorator { name, .. } => format!("decorator {name}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "helper shout false",
                "variable x",
                "helper incident true",
                "partial footer",
                "decorator inline"
            ]
        );
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
        assert!(object_fields(&path("brand"), vars).is_some());
        assert!(object_fields(&path("brand.name"), vars).is_none());
        assert!(object_fields(&[], vars).is_some(), "the whole data");
        assert!(!available_in_items(&path("brand"), &path("nmae"), vars));
    }

    #[test]
    fn a_close_misspelling_gets_a_suggestion_and_a_far_one_does_not() {
        let paths = || StepContext::Draft.variables().iter().map(|v| v.path);
        assert_eq!(
            did_you_mean("author.nickname", paths()),
            Some("author.name")
        );
        assert_eq!(
            did_you_mean("incident.titel", paths()),
            Some("incident.title")
        );
        assert_eq!(did_you_mean("zzz", paths()), None);
    }
}
