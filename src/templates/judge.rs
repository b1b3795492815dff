//! What the static checks found ([`super::check`]), judged for one kind of
//! step and turned into problems that say how to fix them: a variable the
//! step does not offer (with a did-you-mean, relative to the enclosing
//! `{{#with}}` where there is one), an object printed as text, an unknown
//! helper, a wrong number of arguments, a partial or decorator.

use super::check::{self, Finding, Target};
use super::load::{problem_at, Phrasing, Variant};
use super::{available_list, helpers, variables_hint, StepContext, TemplateProblem};

/// What the checks that need no rendering find in one phrasing, placed in
/// its file. `only_variables`: just the variables (missing, or an object
/// printed as text).
pub(super) fn static_problems(
    variant: &Variant,
    phrasing: &Phrasing,
    ctx: StepContext,
    only_variables: bool,
) -> Vec<TemplateProblem> {
    // Paths reported missing: what is under them is not reported again.
    let mut missing: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for finding in check::findings(&phrasing.template) {
        let judged = match &finding {
            Finding::Variable(used) => judge_variable(used, ctx, &mut missing),
            _ if only_variables => None,
            call => judge_call(call, ctx),
        };
        if let Some((message, hint)) = judged {
            let position = check::locate(phrasing, finding.raw(), finding.tag());
            problems.push(problem_at(&variant.file, position, message, Some(hint)));
        }
    }
    problems
}

fn is_under(path: &str, missing: &[String]) -> bool {
    missing.iter().any(|m| {
        path == m
            || path
                .strip_prefix(m.as_str())
                .is_some_and(|r| r.starts_with('.'))
    })
}

/// The message and hint for a variable that `ctx` does not offer, or that
/// is an object printed as text; `None` when it is fine.
fn judge_variable(
    used: &check::UsedVariable,
    ctx: StepContext,
    missing: &mut Vec<String>,
) -> Option<(String, String)> {
    let variables = ctx.variables();
    match &used.target {
        Target::Path(path) => {
            if let Some(gone) = check::unavailable(path, variables) {
                if is_under(&gone, missing) {
                    return None;
                }
                missing.push(gone.clone());
                return Some(unavailable_message(used, &gone, ctx));
            }
            let fields = check::object_fields(path, variables).filter(|_| used.printed)?;
            let prefix = path.join(".");
            // `{{this}}` inside `{{#with brand}}`: its fields are `name`, …
            let written = match used.raw.strip_prefix("this") {
                Some(rest) if rest.is_empty() || rest.starts_with(['.', '/']) => {
                    &rest[rest.len().min(1)..]
                }
                _ => used.raw.as_str(),
            };
            let shown: Vec<String> = fields
                .iter()
                .take(6)
                .map(|field| {
                    let inside = if prefix.is_empty() {
                        *field
                    } else {
                        field
                            .strip_prefix(prefix.as_str())
                            .map_or(*field, |r| r.trim_start_matches('.'))
                    };
                    match written {
                        "" => format!("`{inside}`"),
                        _ => format!("`{written}.{inside}`"),
                    }
                })
                .collect();
            let more = if fields.len() > shown.len() {
                ", …"
            } else {
                ""
            };
            Some((
                format!(
                    "`{}` is an object: printed, it comes out as `[object]`",
                    used.raw
                ),
                format!("print one of its fields: {}{more}", shown.join(", ")),
            ))
        }
        Target::Item { list, rest } => {
            let list_path = list.join(".");
            if rest.is_empty()
                || is_under(&list_path, missing)
                || check::available_in_items(list, rest, variables)
            {
                return None;
            }
            let block = used.opened_by.as_deref().unwrap_or("{{#each}}");
            Some((
                format!(
                    "`{}` is not available in a {ctx} template: inside `{block}` it is read \
                     from each item of `{list_path}`",
                    used.raw
                ),
                "inside `{{#each}}`, `{{this}}` is the item and `{{@key}}` (or `{{@index}}`) \
                 where it is; write other variables with `@root.`, e.g. `{{@root.brand.name}}`"
                    .to_owned(),
            ))
        }
    }
}

fn unavailable_message(
    used: &check::UsedVariable,
    gone: &str,
    ctx: StepContext,
) -> (String, String) {
    let Some(block) = &used.opened_by else {
        return (
            format!("`{gone}` is not available in a {ctx} template"),
            variables_hint(gone, ctx),
        );
    };
    let variables = ctx.variables();
    let message = format!(
        "`{}` is not available in a {ctx} template: inside `{block}` it means `{gone}`",
        used.raw
    );
    let written: Vec<String> = used
        .raw
        .split(['.', '/'])
        .filter(|s| !s.is_empty() && *s != "this" && *s != "..")
        .map(str::to_owned)
        .collect();
    if !written.is_empty() && check::unavailable(&written, variables).is_none() {
        let written = written.join(".");
        return (
            message,
            format!(
                "inside `{block}` paths start from its argument: write `@root.{written}` \
                 for the `{written}` every {ctx} template has"
            ),
        );
    }
    let gone_segments: Vec<&str> = gone.split('.').collect();
    let prefix = gone_segments[..gone_segments.len().saturating_sub(written.len())].join(".");
    let fields: Vec<&str> = variables
        .iter()
        .filter_map(|v| v.path.strip_prefix(prefix.as_str())?.strip_prefix('.'))
        .collect();
    let listing = if prefix.is_empty() || fields.is_empty() {
        available_list(ctx)
    } else {
        format!(
            "inside `{block}` you can use {}",
            fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let relative = written.join(".");
    let hint = match check::did_you_mean(&relative, fields.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`? {listing}"),
        None => listing,
    };
    (message, hint)
}

/// The message and hint for a helper call, partial or decorator that
/// cannot render; `None` for a variable (judged elsewhere).
fn judge_call(finding: &Finding, ctx: StepContext) -> Option<(String, String)> {
    let helper_names = || helpers::KNOWN_HELPERS.iter().map(|h| h.name);
    let judged = match finding {
        Finding::Variable(_) => return None,
        Finding::UnknownHelper {
            name, block: true, ..
        } => {
            let segments: Vec<String> = name.split('.').map(str::to_owned).collect();
            if check::unavailable(&segments, ctx.variables()).is_none() {
                let with = if check::object_fields(&segments, ctx.variables()).is_some() {
                    format!("`{{{{#with {name}}}}}…{{{{/with}}}}` to use its fields, or ")
                } else {
                    String::new()
                };
                (
                    format!("`{{{{#{name}}}}}` opens a section over a variable, which squall's templates do not have"),
                    format!("write {with}`{{{{#if {name}}}}}…{{{{/if}}}}` for text shown only when it is set"),
                )
            } else {
                let blocks = ["if", "unless", "each", "with"];
                let listing = "block helpers: `if`, `unless`, `each`, `with`";
                (
                    format!("`{{{{#{name}}}}}` is not a block helper"),
                    match check::did_you_mean(name, blocks) {
                        Some(best) => format!("did you mean `{{{{#{best}}}}}`? {listing}"),
                        None => listing.to_owned(),
                    },
                )
            }
        }
        Finding::UnknownHelper { name, .. } => {
            let listing = format!(
                "helpers: {}",
                helper_names()
                    .filter(|n| !matches!(*n, "raw" | "log"))
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (
                format!("`{name}` is not a helper"),
                match check::did_you_mean(name, helper_names()) {
                    Some(best) => format!("did you mean `{best}`? {listing}"),
                    None => listing,
                },
            )
        }
        Finding::Arity { helper, given, .. } => {
            let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
            let takes = match helper.max {
                Some(max) if max == helper.min => format!("{max} {}", plural(max)),
                Some(max) if *given > max => format!("at most {max} {}", plural(max)),
                _ => format!("at least {} {}", helper.min, plural(helper.min)),
            };
            (
                format!("`{}` takes {takes}, not {given}", helper.name),
                format!("write it like `{}`", helper.usage),
            )
        }
        Finding::Partial { name, .. } => (
            format!("`{{{{> {name}}}}}` includes a partial, which squall's templates do not have"),
            "write the text into this file: a template is one file per language, its phrasings \
             separated by a `{{!-- phrasing --}}` line"
                .to_owned(),
        ),
        Finding::Decorator { name, .. } => (
            format!("`{{{{* {name}}}}}` is a decorator, which squall's templates do not have"),
            "remove it".to_owned(),
        ),
    };
    Some(judged)
}
