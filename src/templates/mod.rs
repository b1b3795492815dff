//! The texts squall sends, written by comms teams as handlebars files, in
//! several languages and several phrasings, checked against the variables
//! each step really provides.
//!
//! # Files
//!
//! Every `*.hbs` file under the templates directory is one language variant
//! of one template: `status/site-down.pl.hbs` is template `status/site-down`
//! in Polish (ISO 639-1 code), and `status/site-down.hbs` is its variant in
//! the default language. Every template needs a default-language variant,
//! because a language without its own variant falls back to it.
//!
//! # Phrasings
//!
//! A file may offer several phrasings of the same message, separated by a
//! line that is exactly `{{!-- phrasing --}}`. The engine passes a seed
//! derived from the author, so that two customers don't receive the very
//! same sentence, while one customer always gets the same one (BRIEF lesson
//! 4: "not a robot").
//!
//! # Rendering
//!
//! Rendering is strict: a variable that is not in the data is an error, never
//! an empty string. [`Escape`] says whether the text goes to a plain-text
//! place (posts, chat), an HTML e-mail body, or a JSON string. Surrounding
//! whitespace is trimmed. Helpers on top of handlebars' built-ins (`if`,
//! `unless`, `each`, `with`, `eq`, `ne`, `and`, `or`, `not`, …):
//!
//! - `{{upper x}}`, `{{lower x}}`: change case, Unicode aware.
//! - `{{truncate text 80}}`: at most 80 characters, ending in `…` when cut.
//! - `{{default x "fallback"}}`: `x`, or the fallback when `x` is missing,
//!   null or empty (for `incident.eta`, `incident.update`).
//!
//! # Security
//!
//! Customer text is data. Templates are compiled only from the files in the
//! templates directory, never from anything passed to [`TemplateSet::render`],
//! so a mention containing `{{brand.name}}` is sent back literally.
//!
//! # Checking
//!
//! [`TemplateSet::check`] is what `squall validate` runs for every template a
//! step uses: [`TemplateSet::check_variables`] and the other static checks
//! (helpers and their arguments, partials, objects printed as text) walk the
//! compiled templates and report with a did-you-mean; then every phrasing
//! they pass is rendered with the context's [`StepContext::sample_data`], and
//! with its yes/no values turned over ([`StepContext::sample_data_flipped`]),
//! as the engine escapes it ([`TemplateSet::check_renders`]), and a webhook body
//! must parse as JSON. A template file that does not load is reported by
//! [`TemplateSet::load_dir`] and not again where it is used
//! ([`TemplateSet::failed_to_load`]).

mod body;
mod check;
mod context;
mod helpers;
mod judge;
mod load;

pub use context::{reference_markdown, Variable};

use crate::yaml_pos;
use handlebars::{Handlebars, RenderError, RenderErrorReason};
use load::{problem_at, Phrasing, Position, Variant};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which step a template is rendered for; each offers its own variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepContext {
    Status,
    Autoreply,
    Draft,
    Notify,
    Webhook,
}

/// A problem inside a template file.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateProblem {
    pub file: PathBuf,
    /// 1-based, in the whole file (not in the phrasing).
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// How values from the data are escaped when they are inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Plain text for posts and chat: nothing escaped.
    Text,
    /// HTML email body.
    Html,
    /// Inside JSON string literals (webhook bodies): quotes, backslashes and
    /// control characters escaped, so customer text cannot break the JSON.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub text: String,
    /// The language actually used (falls back to the default language).
    pub lang: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no template named {0}")]
    Unknown(String),
    #[error("template {name} failed to render: {reason}")]
    Render { name: String, reason: String },
    /// The template exists, but neither in the wanted language nor in the
    /// default one (`validate` reports this as a load problem).
    #[error("template {name} has no variant in {lang} nor in the default language {default}")]
    MissingLanguage {
        name: String,
        lang: String,
        default: String,
    },
}

/// Every template of a templates directory, compiled and ready to render.
#[derive(Debug, Default)]
pub struct TemplateSet {
    dir: PathBuf,
    default_language: String,
    /// Template name → language → variant.
    templates: BTreeMap<String, BTreeMap<String, Variant>>,
    /// Template name → languages whose file exists but did not load (its
    /// problem is reported at the file, and not again where it is used).
    broken: BTreeMap<String, BTreeSet<String>>,
    text: Handlebars<'static>,
    html: Handlebars<'static>,
    json: Handlebars<'static>,
}

impl TemplateSet {
    /// Loads every `*.hbs` under `dir`: `status/site-down.pl.hbs` is template
    /// `status/site-down` in language `pl`. Never fails: returns what compiled and every problem.
    pub fn load_dir(dir: &Path, default_language: &str) -> (TemplateSet, Vec<TemplateProblem>) {
        let default_language = normalize_language(default_language);
        let (files, mut problems) = load::discover(dir);
        let mut templates: BTreeMap<String, BTreeMap<String, Variant>> = BTreeMap::new();
        let mut broken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            match load_file(dir, &file, &default_language) {
                Ok((identity, variant)) => {
                    let variants = templates.entry(identity.name.clone()).or_default();
                    if let Some(existing) = variants.get(&identity.lang) {
                        problems.push(duplicate_problem(&identity, existing, &variant));
                    } else {
                        variants.insert(identity.lang, variant);
                    }
                }
                Err((identity, mut file_problems)) => {
                    if let Some(identity) = identity {
                        broken
                            .entry(identity.name)
                            .or_default()
                            .insert(identity.lang);
                    }
                    problems.append(&mut file_problems);
                }
            }
        }
        problems.extend(missing_default_problems(
            &templates,
            &broken,
            &default_language,
        ));
        let mut set = TemplateSet::from_templates(dir, default_language, templates);
        set.broken = broken;
        tracing::debug!(
            dir = %dir.display(),
            templates = set.templates.len(),
            problems = problems.len(),
            "templates loaded"
        );
        (set, problems)
    }

    fn from_templates(
        dir: &Path,
        default_language: String,
        templates: BTreeMap<String, BTreeMap<String, Variant>>,
    ) -> TemplateSet {
        let mut set = TemplateSet {
            dir: dir.to_path_buf(),
            default_language,
            templates,
            broken: BTreeMap::new(),
            text: helpers::registry(handlebars::no_escape),
            html: helpers::registry(handlebars::html_escape),
            json: helpers::registry(helpers::json_escape),
        };
        let phrasings = set
            .templates
            .values()
            .flat_map(BTreeMap::values)
            .flat_map(Variant::phrasings);
        for phrasing in phrasings {
            for registry in [&mut set.text, &mut set.html, &mut set.json] {
                registry.register_template(&phrasing.key, phrasing.template.clone());
            }
        }
        set
    }

    /// The language used when a template has no variant in the wanted one.
    pub fn default_language(&self) -> &str {
        &self.default_language
    }

    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// Whether `name` has files that did not load (their problems were
    /// reported by [`TemplateSet::load_dir`]) and none that did.
    pub fn failed_to_load(&self, name: &str) -> bool {
        !self.contains(name) && self.broken.contains_key(name)
    }

    /// Template names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.templates.keys().cloned().collect()
    }

    /// Languages `name` has a variant in, sorted; empty for an unknown name.
    pub fn languages(&self, name: &str) -> Vec<String> {
        self.templates
            .get(name)
            .map(|variants| variants.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every problem `name` has as the template of a step of kind `ctx`,
    /// in every language and phrasing: what `squall validate` reports.
    ///
    /// First what the template does, checked without rendering (variables
    /// `ctx` does not offer, unknown helpers, wrong numbers of arguments,
    /// partials, an object printed as text), which sees every branch. Then
    /// each phrasing without such problems is rendered with `ctx`'s sample
    /// data (the data `squall reference` documents), escaped as the engine
    /// escapes it, which catches what only data shows; a webhook body must
    /// then parse as JSON.
    pub fn check(&self, name: &str, ctx: StepContext) -> Vec<TemplateProblem> {
        let Some(variants) = self.templates.get(name) else {
            return vec![self.unknown_problem(name)];
        };
        let mut problems = Vec::new();
        for variant in variants.values() {
            let mut reported = BTreeSet::new();
            for phrasing in variant.phrasings() {
                let found = judge::static_problems(variant, phrasing, ctx, false);
                if found.is_empty() {
                    problems.extend(self.render_problem_of(variant, phrasing, ctx));
                }
                problems.extend(
                    found
                        .into_iter()
                        .filter(|problem| reported.insert(problem.message.clone())),
                );
            }
        }
        problems
    }

    /// Variables used by `name` (any language) that `ctx` does not provide,
    /// and objects it prints as text; inside `{{#with}}` and `{{#each}}`
    /// too. Each is reported once per language.
    pub fn check_variables(&self, name: &str, ctx: StepContext) -> Vec<TemplateProblem> {
        let Some(variants) = self.templates.get(name) else {
            return vec![self.unknown_problem(name)];
        };
        let mut problems = Vec::new();
        for variant in variants.values() {
            let mut reported = BTreeSet::new();
            for phrasing in variant.phrasings() {
                problems.extend(
                    judge::static_problems(variant, phrasing, ctx, true)
                        .into_iter()
                        .filter(|problem| reported.insert(problem.message.clone())),
                );
            }
        }
        problems
    }

    /// Renders every language and phrasing of `name` with `ctx`'s sample
    /// data, strictly and escaped as the engine escapes it, and reports each
    /// one that fails (for a webhook body: that is not JSON).
    pub fn check_renders(&self, name: &str, ctx: StepContext) -> Vec<TemplateProblem> {
        let Some(variants) = self.templates.get(name) else {
            return vec![self.unknown_problem(name)];
        };
        variants
            .values()
            .flat_map(|variant| variant.phrasings().map(move |p| (variant, p)))
            .filter_map(|(variant, phrasing)| self.render_problem_of(variant, phrasing, ctx))
            .collect()
    }

    /// What test renders of one phrasing find: with `ctx`'s sample data,
    /// then with its yes/no values turned over (the other branches).
    fn render_problem_of(
        &self,
        variant: &Variant,
        phrasing: &Phrasing,
        ctx: StepContext,
    ) -> Option<TemplateProblem> {
        [ctx.sample_data(), ctx.sample_data_flipped()]
            .iter()
            .find_map(|data| self.sample_render_problem(variant, phrasing, ctx, data))
    }

    /// What a test render of one phrasing with `data` finds.
    fn sample_render_problem(
        &self,
        variant: &Variant,
        phrasing: &Phrasing,
        ctx: StepContext,
        data: &serde_json::Value,
    ) -> Option<TemplateProblem> {
        let escape = ctx.escape();
        match self.render_phrasing(phrasing, data, escape) {
            Err(error) => {
                let mut problem = render_problem(variant, phrasing, &error);
                problem.hint = Some(render_hint(&error, ctx));
                Some(problem)
            }
            Ok(text) if escape == Escape::Json => body::check(&self.json, phrasing, data, &text)
                .map(|not_json| {
                    problem_at(
                        &variant.file,
                        phrasing.to_file(not_json.position),
                        not_json.message,
                        Some(not_json.hint),
                    )
                }),
            Ok(_) => None,
        }
    }

    /// Every phrasing of `name` that a post in `lang` would use (that
    /// language, else the default), rendered with `ctx`'s sample data, for
    /// comparing with the platforms' post lengths. Phrasings that do not
    /// render are left out: `check` reports them.
    pub fn sample_texts(&self, name: &str, lang: &str, ctx: StepContext) -> Vec<String> {
        let Ok((_, variant)) = self.variant(name, lang) else {
            return Vec::new();
        };
        let data = ctx.sample_data();
        variant
            .phrasings()
            .filter_map(|p| self.render_phrasing(p, &data, ctx.escape()).ok())
            .map(|text| text.trim().to_owned())
            .collect()
    }

    /// The language and variant of `name` a text in `lang` uses: that
    /// language, else the default one.
    fn variant(&self, name: &str, lang: &str) -> Result<(&String, &Variant), TemplateError> {
        let variants = self
            .templates
            .get(name)
            .ok_or_else(|| TemplateError::Unknown(name.to_owned()))?;
        let wanted = normalize_language(lang);
        variants
            .get_key_value(&wanted)
            .or_else(|| variants.get_key_value(&self.default_language))
            .ok_or_else(|| TemplateError::MissingLanguage {
                name: name.to_owned(),
                lang: wanted,
                default: self.default_language.clone(),
            })
    }

    /// Renders `name` in `lang` (or the default language). `seed` picks among
    /// the template's phrasings.
    pub fn render(
        &self,
        name: &str,
        lang: &str,
        data: &serde_json::Value,
        seed: u64,
        escape: Escape,
    ) -> Result<Rendered, TemplateError> {
        let (used_lang, variant) = self.variant(name, lang)?;
        let phrasing = variant.pick(seed);
        let text = self
            .render_phrasing(phrasing, data, escape)
            .map_err(|error| {
                let problem = render_problem(variant, phrasing, &error);
                TemplateError::Render {
                    name: name.to_owned(),
                    reason: format!(
                        "{}:{}:{}: {}",
                        problem.file.display(),
                        problem.line,
                        problem.column,
                        problem.message
                    ),
                }
            })?;
        Ok(Rendered {
            text: text.trim().to_owned(),
            lang: used_lang.clone(),
        })
    }

    fn render_phrasing(
        &self,
        phrasing: &Phrasing,
        data: &serde_json::Value,
        escape: Escape,
    ) -> Result<String, RenderError> {
        let registry = match escape {
            Escape::Text => &self.text,
            Escape::Html => &self.html,
            Escape::Json => &self.json,
        };
        registry.render(&phrasing.key, data)
    }

    /// Where the template would be, for a name nothing defines.
    fn unknown_problem(&self, name: &str) -> TemplateProblem {
        let file = self
            .dir
            .join(format!("{name}.{}.hbs", self.default_language));
        let names = self.names();
        problem_at(
            &file,
            Position::START,
            format!("no template named `{name}`"),
            Some(unknown_name_hint(
                name,
                &names,
                &self.dir,
                &self.default_language,
            )),
        )
    }
}

/// How to fix a reference to a template that does not exist: drop a
/// language or `.hbs` written into the name, a did-you-mean, or where the
/// file would be. `known` are the template names there are.
pub fn unknown_name_hint(
    name: &str,
    known: &[String],
    dir: &Path,
    default_language: &str,
) -> String {
    let bare = load::strip_file_suffixes(name);
    if bare != name {
        if known.iter().any(|k| k == bare) {
            return format!(
                "write `{bare}`: templates are named without their language and `.hbs` \
                 (squall picks the file for each language)"
            );
        }
        return format!(
            "templates are named without their language and `.hbs`, but there is no `{bare}` \
             either: {}",
            unknown_name_hint(bare, known, dir, default_language)
        );
    }
    if let Some(best) = yaml_pos::closest(name, known.iter().map(String::as_str)) {
        return format!("did you mean `{best}`?");
    }
    let file = dir.join(format!("{name}.{default_language}.hbs"));
    let group = name.split_once('/').map(|(group, _)| format!("{group}/"));
    let nearby: Vec<String> = known
        .iter()
        .filter(|k| group.as_ref().is_none_or(|g| k.starts_with(g.as_str())))
        .map(|k| format!("`{k}`"))
        .collect();
    let listing = if nearby.is_empty() || nearby.len() > 12 {
        String::new()
    } else {
        format!("; templates there: {}", nearby.join(", "))
    };
    format!(
        "templates are files under {}, one per language: create `{}`{listing}",
        dir.display(),
        file.display()
    )
}

/// Reads, splits and compiles one file; every problem in it, or its variant.
fn load_file(
    dir: &Path,
    file: &Path,
    default_language: &str,
) -> Result<(load::FileIdentity, Variant), (Option<load::FileIdentity>, Vec<TemplateProblem>)> {
    let identity = load::identify(dir, file, default_language).map_err(|p| (None, vec![p]))?;
    let source = match std::fs::read_to_string(file) {
        Ok(source) => source,
        Err(error) => {
            let problem = problem_at(
                file,
                Position::START,
                format!("cannot read the template: {error}"),
                Some("templates must be UTF-8 text files".to_owned()),
            );
            return Err((Some(identity), vec![problem]));
        }
    };
    let mut phrasings = Vec::new();
    let mut problems = Vec::new();
    for (index, raw) in load::split_phrasings(&source).iter().enumerate() {
        match load::compile(file, raw, index + 1) {
            Ok(template) => phrasings.push(Phrasing {
                key: format!("{}\u{1f}{}\u{1f}{index}", identity.name, identity.lang),
                first_line: raw.first_line,
                source: raw.source.to_owned(),
                template,
            }),
            Err(problem) => problems.push(problem),
        }
    }
    let mut phrasings = phrasings.into_iter();
    match phrasings.next() {
        Some(first) if problems.is_empty() => Ok((
            identity,
            Variant {
                file: file.to_path_buf(),
                first,
                rest: phrasings.collect(),
            },
        )),
        _ => Err((Some(identity), problems)),
    }
}

fn duplicate_problem(
    identity: &load::FileIdentity,
    existing: &Variant,
    duplicate: &Variant,
) -> TemplateProblem {
    problem_at(
        &duplicate.file,
        Position::START,
        format!(
            "`{}` in `{}` is already defined by {}",
            identity.name,
            identity.lang,
            existing.file.display()
        ),
        Some(
            "a file without a language suffix is the default language's variant; keep one of the two files"
                .to_owned(),
        ),
    )
}

/// A template without a default-language variant has nothing to fall back on.
/// A default-language file that exists but did not load is reported at that
/// file, not again here.
fn missing_default_problems(
    templates: &BTreeMap<String, BTreeMap<String, Variant>>,
    broken: &BTreeMap<String, BTreeSet<String>>,
    default_language: &str,
) -> Vec<TemplateProblem> {
    templates
        .iter()
        .filter(|(_, variants)| !variants.contains_key(default_language))
        .filter(|(name, _)| {
            !broken
                .get(name.as_str())
                .is_some_and(|langs| langs.contains(default_language))
        })
        .filter_map(|(name, variants)| {
            let variant = variants.values().next()?;
            let base = name.rsplit('/').next().unwrap_or(name);
            Some(problem_at(
                &variant.file,
                Position::START,
                format!(
                    "`{name}` has no variant in the default language `{default_language}`, which languages without their own variant fall back to"
                ),
                Some(format!(
                    "add `{base}.{default_language}.hbs` (or `{base}.hbs`) next to this file"
                )),
            ))
        })
        .collect()
}

fn render_problem(variant: &Variant, phrasing: &Phrasing, error: &RenderError) -> TemplateProblem {
    let position = match (error.line_no, error.column_no) {
        (Some(line), Some(column)) => phrasing.to_file(Position { line, column }),
        _ => phrasing.to_file(Position::START),
    };
    problem_at(&variant.file, position, describe(error), None)
}

fn describe(error: &RenderError) -> String {
    match error.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => {
            format!("`{path}` is missing from the data")
        }
        RenderErrorReason::MissingVariable(None) => {
            "a variable is missing from the data".to_owned()
        }
        reason => reason.to_string(),
    }
}

fn variables_hint(missing: &str, ctx: StepContext) -> String {
    match check::did_you_mean(missing, ctx.variables().iter().map(|v| v.path)) {
        Some(suggestion) => format!("did you mean `{suggestion}`? {}", available_list(ctx)),
        None => available_list(ctx),
    }
}

/// How to fix what a test render found.
fn render_hint(error: &RenderError, ctx: StepContext) -> String {
    let specific = match error.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => Some(variables_hint(path, ctx)),
        RenderErrorReason::ParamNotFoundForIndex(name, _)
        | RenderErrorReason::ParamNotFoundForName(name, _)
        | RenderErrorReason::ParamTypeMismatchForName(name, _, _) => {
            helpers::known_helper(name).map(|h| format!("write it like `{}`", h.usage))
        }
        _ => None,
    };
    let how = format!(
        "found by rendering it with the sample data of a {ctx} step (`squall reference` lists them)"
    );
    match specific {
        Some(specific) => format!("{specific}; {how}"),
        None => how,
    }
}

fn available_list(ctx: StepContext) -> String {
    let paths: Vec<String> = ctx
        .variables()
        .iter()
        .map(|v| format!("`{}`", v.path))
        .collect();
    format!("a {ctx} template can use {}", paths.join(", "))
}

/// `pt-BR`, `PL`, ` en ` → `pt`, `pl`, `en`: variants are per ISO 639-1 language.
fn normalize_language(lang: &str) -> String {
    lang.trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_normalised_to_their_primary_subtag() {
        for (given, expected) in [
            ("pt-BR", "pt"),
            ("PL", "pl"),
            (" en ", "en"),
            ("zh_Hant", "zh"),
        ] {
            assert_eq!(normalize_language(given), expected);
        }
    }

    #[test]
    fn a_missing_variable_is_described_by_its_path() {
        let registry = helpers::registry(handlebars::no_escape);
        let error = registry
            .render_template("{{author.nickname}}", &serde_json::json!({"author": {}}))
            .unwrap_err();
        assert_eq!(
            describe(&error),
            "`author.nickname` is missing from the data"
        );
    }

    #[test]
    fn the_hint_lists_what_the_context_offers() {
        let hint = variables_hint("author.nickname", StepContext::Draft);
        assert!(hint.starts_with("did you mean `author.name`?"), "{hint}");
        assert!(hint.contains("`mention.text`"), "{hint}");
    }
}
