//! What each step's template may use: the single source of truth for the
//! variables the engine puts into the render data, their documentation, and
//! realistic sample values.
//!
//! The engine builds its JSON in exactly these shapes; `check_variables`
//! checks templates against [`StepContext::variables`]; `validate` test-renders
//! every template with [`StepContext::sample_data`]; and the playbook reference
//! documentation is generated from [`reference_markdown`]. Changing a context
//! means changing it here, once.

use super::helpers::HELPERS;
use super::StepContext;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// One variable a template can use, e.g. `{{incident.title}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// Dotted path as written in a template, without braces.
    pub path: &'static str,
    /// What it holds, for the people who write templates.
    pub doc: &'static str,
}

const fn var(path: &'static str, doc: &'static str) -> Variable {
    Variable { path, doc }
}

/// Builds a context's variable table: the variables every step offers,
/// followed by the step's own.
macro_rules! with_common {
    ($($extra:expr),* $(,)?) => {
        &[
            var("brand.name", "The brand's name as customers know it."),
            var("brand.status_page", "Address of the public status page."),
            var("brand.support_email", "Support e-mail address."),
            var("brand.support_phone", "Support phone number, as customers should dial it."),
            var("incident.id", "The incident's identifier, for staff and for references in replies."),
            var("incident.title", "Short title of the incident, e.g. `Mobile data outage in Warsaw`."),
            var("incident.state", "Lifecycle state: open, acknowledged, mitigated or resolved."),
            var("incident.phase", "Public status phase: investigating, identified, monitoring or resolved."),
            var("incident.opened_at", "When the incident was opened (RFC 3339)."),
            var("incident.link", "Public link about this incident (the brand's status page)."),
            var("incident.eta", "Expected time of the fix, as text; may be empty (use `default`)."),
            var("incident.update", "The commander's latest note; may be empty (use `default`)."),
            var("incident.trigger", "What opened the incident: surge, keyword, alert, schedule or manual."),
            var("playbook", "Name of the playbook that handles the incident."),
            var("lang", "Language (ISO 639-1) this text is rendered in."),
            var("now", "The time of rendering (RFC 3339)."),
            $($extra),*
        ]
    };
}

const STATUS: &[Variable] = with_common!();

const AUTOREPLY: &[Variable] = with_common!(
    var(
        "back_at",
        "When people are back, localised, e.g. `tomorrow at 9:00 CET`."
    ),
    var("back_at_iso", "When people are back (RFC 3339)."),
    var("schedule", "Name of the schedule that is closed right now."),
    var(
        "on_call",
        "True when a team is on call for the incident tonight."
    ),
    var(
        "author.name",
        "Display name of the customer being answered."
    ),
    var(
        "author.handle",
        "The customer's handle on the platform, e.g. `@jkowalski`."
    ),
);

const DRAFT: &[Variable] = with_common!(
    var(
        "author.name",
        "Display name of the customer being answered."
    ),
    var(
        "author.first_name",
        "The customer's first name, best effort (may equal `author.name`)."
    ),
    var(
        "author.handle",
        "The customer's handle on the platform, e.g. `@jkowalski`."
    ),
    var("mention.text", "The customer's full message, verbatim."),
    var(
        "mention.excerpt",
        "The customer's message shortened for quoting, safe to show."
    ),
    var("mention.url", "Link to the customer's message."),
    var(
        "mention.lang",
        "Detected language of the customer's message (ISO 639-1)."
    ),
    var(
        "conversation.previous",
        "How many times this customer contacted the brand before."
    ),
    var(
        "conversation.returning",
        "True when the customer contacted the brand before."
    ),
    var("private", "True when the reply moves to a private message."),
);

const NOTIFY: &[Variable] = with_common!(
    var(
        "event",
        "Why staff are notified: opened, escalated, stale, resolved or approval_needed."
    ),
    var("recipient.name", "Name of the person notified."),
    var(
        "queue.waiting",
        "Number of reply drafts waiting for a person."
    ),
    var(
        "queue.oldest_wait",
        "How long the oldest draft has been waiting, as text."
    ),
);

const WEBHOOK: &[Variable] = with_common!(var(
    "event",
    "What happened: opened, escalated, stale, resolved or approval_needed."
),);

impl StepContext {
    /// Every context, in the order the reference documents them.
    pub const ALL: [StepContext; 5] = [
        StepContext::Status,
        StepContext::Autoreply,
        StepContext::Draft,
        StepContext::Notify,
        StepContext::Webhook,
    ];

    /// The name used in playbooks, messages and the reference.
    pub fn as_str(self) -> &'static str {
        match self {
            StepContext::Status => "status",
            StepContext::Autoreply => "autoreply",
            StepContext::Draft => "draft",
            StepContext::Notify => "notify",
            StepContext::Webhook => "webhook",
        }
    }

    /// What templates in this context are for, one sentence for the reference.
    pub fn purpose(self) -> &'static str {
        match self {
            StepContext::Status => {
                "Status posts pinned on every brand account, and the final resolution note."
            }
            StepContext::Autoreply => "Automatic replies sent while nobody is at work.",
            StepContext::Draft => {
                "Personalised reply drafts that staff review before they are sent."
            }
            StepContext::Notify => "Notifications to staff by e-mail or chat.",
            StepContext::Webhook => {
                "Webhook bodies (the rendered text is sent as the request body)."
            }
        }
    }

    /// The variables the engine provides to templates of this step.
    pub fn variables(self) -> &'static [Variable] {
        match self {
            StepContext::Status => STATUS,
            StepContext::Autoreply => AUTOREPLY,
            StepContext::Draft => DRAFT,
            StepContext::Notify => NOTIFY,
            StepContext::Webhook => WEBHOOK,
        }
    }

    /// How the engine escapes values in this step's texts: webhook bodies
    /// are JSON, everything else plain text.
    pub fn escape(self) -> super::Escape {
        match self {
            StepContext::Webhook => super::Escape::Json,
            _ => super::Escape::Text,
        }
    }

    /// Realistic values for every variable of this step, in the shape the
    /// engine builds, so that templates can be test-rendered in strict mode.
    pub fn sample_data(self) -> Value {
        let mut root = Map::new();
        for variable in self.variables() {
            if let Some(value) = sample_value(variable.path) {
                insert_path(&mut root, variable.path, value);
            }
        }
        Value::Object(root)
    }

    /// [`sample_data`](Self::sample_data) with every yes/no value turned
    /// over (`private`, `on_call`, ...), so that a test render also takes
    /// the other side of each `{{#if}}`.
    pub fn sample_data_flipped(self) -> Value {
        fn flip(value: &mut Value) {
            match value {
                Value::Bool(b) => *b = !*b,
                Value::Object(map) => map.values_mut().for_each(flip),
                Value::Array(items) => items.iter_mut().for_each(flip),
                _ => {}
            }
        }
        let mut data = self.sample_data();
        flip(&mut data);
        data
    }
}

impl std::fmt::Display for StepContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A realistic value for a variable path; `None` for a path nobody declared.
fn sample_value(path: &str) -> Option<Value> {
    let value = match path {
        "brand.name" => json!("Acme Mobile"),
        "brand.status_page" => json!("https://status.acme.example"),
        "brand.support_email" => json!("help@acme.example"),
        "brand.support_phone" => json!("+48 22 123 45 67"),
        "incident.id" => json!("inc-20250114-0042"),
        "incident.title" => json!("Mobile data outage in Warsaw"),
        "incident.state" => json!("acknowledged"),
        "incident.phase" => json!("identified"),
        "incident.opened_at" => json!("2025-01-14T21:42:00+01:00"),
        "incident.link" => json!("https://squall.acme.example/incidents/inc-20250114-0042"),
        "incident.eta" => json!("around 23:30"),
        "incident.update" => json!("A faulty router was found and is being replaced."),
        "incident.trigger" => json!("surge"),
        "playbook" => json!("network-outage"),
        "lang" => json!("en"),
        "now" => json!("2025-01-14T22:05:00+01:00"),
        "back_at" => json!("tomorrow at 9:00 CET"),
        "back_at_iso" => json!("2025-01-15T09:00:00+01:00"),
        "schedule" => json!("office-hours"),
        "on_call" => json!(true),
        "author.name" => json!("Jan Kowalski"),
        "author.first_name" => json!("Jan"),
        "author.handle" => json!("@jkowalski"),
        "mention.text" => json!("@acme my internet has been down since 9pm, what is going on??"),
        "mention.excerpt" => json!("my internet has been down since 9pm, what is going…"),
        "mention.url" => json!("https://social.example/@jkowalski/113456"),
        "mention.lang" => json!("en"),
        "conversation.previous" => json!(2),
        "conversation.returning" => json!(true),
        "private" => json!(false),
        "event" => json!("opened"),
        "recipient.name" => json!("Maria Nowak"),
        "queue.waiting" => json!(14),
        "queue.oldest_wait" => json!("12 minutes"),
        _ => return None,
    };
    Some(value)
}

/// Puts `value` at a dotted `path` in `root`, creating objects on the way.
fn insert_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut segments = path.split('.').peekable();
    let mut map = root;
    while let Some(segment) = segments.next() {
        if segments.peek().is_none() {
            map.insert(segment.to_owned(), value);
            return;
        }
        let entry = map
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(next) => map = next,
            _ => return,
        }
    }
}

/// The template reference for the playbook documentation: one section per
/// context with a table of its variables, then the helpers.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "## Template variables\n\n\
         Each template is rendered for one kind of step, and can use only the variables \
         that step provides. A variable that is not provided is an error, both in \
         `squall validate` and when rendering.\n",
    );
    for ctx in StepContext::ALL {
        // Writing into a String cannot fail.
        let _ = write!(out, "\n### `{ctx}`\n\n{}\n\n", ctx.purpose());
        out.push_str("| Variable | Meaning |\n|---|---|\n");
        for variable in ctx.variables() {
            let _ = writeln!(
                out,
                "| `{{{{{}}}}}` | {} |",
                variable.path,
                escape_table_cell(variable.doc)
            );
        }
    }
    out.push_str("\n## Template helpers\n\n| Helper | What it does |\n|---|---|\n");
    for helper in HELPERS {
        let _ = writeln!(
            out,
            "| `{}` | {} |",
            helper.usage,
            escape_table_cell(helper.doc)
        );
    }
    out
}

fn escape_table_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_variable_has_a_sample_value() {
        for ctx in StepContext::ALL {
            for variable in ctx.variables() {
                assert!(
                    sample_value(variable.path).is_some(),
                    "{ctx}: no sample for {}",
                    variable.path
                );
            }
        }
    }

    #[test]
    fn no_context_declares_a_variable_twice() {
        for ctx in StepContext::ALL {
            let mut paths: Vec<&str> = ctx.variables().iter().map(|v| v.path).collect();
            paths.sort_unstable();
            let before = paths.len();
            paths.dedup();
            assert_eq!(before, paths.len(), "{ctx} declares a variable twice");
        }
    }

    #[test]
    fn sample_data_nests_dotted_paths_into_objects() {
        let data = StepContext::Draft.sample_data();
        assert_eq!(data["author"]["first_name"], json!("Jan"));
        assert_eq!(data["conversation"]["previous"], json!(2));
        assert_eq!(data["private"], json!(false));
    }

    #[test]
    fn only_the_draft_context_offers_the_mention() {
        for ctx in StepContext::ALL {
            let offers = ctx.variables().iter().any(|v| v.path == "mention.text");
            assert_eq!(offers, ctx == StepContext::Draft, "{ctx}");
        }
    }

    #[test]
    fn the_reference_escapes_pipes_in_table_cells() {
        assert_eq!(escape_table_cell("a|b"), "a\\|b");
    }
}
