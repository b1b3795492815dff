//! The data handed to templates, in exactly the shapes that
//! [`crate::templates::StepContext`] documents. Customer text enters here as
//! JSON *values*: it is never compiled as a template.

use super::drafts::Draft;
use super::incident::Incident;
use crate::clock::Timestamp;
use crate::config::Config;
use serde_json::{json, Value};

/// The brand as templates see it.
fn brand(config: &Config) -> Value {
    json!({
        "name": config.brand.name,
        "status_page": config.brand.status_page.clone().unwrap_or_default(),
        "support_email": config.brand.support_email.clone().unwrap_or_default(),
        "support_phone": config.brand.support_phone.clone().unwrap_or_default(),
    })
}

/// Variables common to every step.
pub fn common(config: &Config, incident: &Incident, lang: &str, now: Timestamp) -> Value {
    json!({
        "brand": brand(config),
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "state": incident.state.as_str(),
            "phase": incident.state.phase().as_str(),
            "opened_at": incident.opened_at.to_rfc3339(),
            "link": config.brand.status_page.clone().unwrap_or_default(),
            "eta": incident.eta.clone().unwrap_or_default(),
            "update": incident.note.clone().unwrap_or_default(),
            "trigger": incident.trigger_kind,
        },
        "playbook": incident.playbook,
        "lang": lang,
        "now": now.to_rfc3339(),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

pub fn draft(config: &Config, incident: &Incident, d: &Draft, now: Timestamp) -> Value {
    let first = d
        .author_name
        .split_whitespace()
        .next()
        .unwrap_or(&d.author_name)
        .to_string();
    merge(
        common(config, incident, &d.lang, now),
        json!({
            "author": {"name": d.author_name, "first_name": first, "handle": d.author_handle},
            // Personal data never reaches a rendered text, public or private.
            "mention": {"text": super::guard::mask(&d.mention_text), "excerpt": excerpt(&super::guard::mask(&d.mention_text), 80), "url": d.mention_url.clone().unwrap_or_default(), "lang": d.lang},
            "conversation": {"previous": d.previous_contacts, "returning": d.previous_contacts > 0},
            "private": d.private,
        }),
    )
}

pub struct AutoreplyFacts<'a> {
    pub back_at: String,
    pub back_at_iso: String,
    pub schedule: &'a str,
    pub on_call: bool,
    pub author_name: &'a str,
    pub author_handle: &'a str,
}

pub fn autoreply(
    config: &Config,
    incident: &Incident,
    lang: &str,
    f: &AutoreplyFacts<'_>,
    now: Timestamp,
) -> Value {
    merge(
        common(config, incident, lang, now),
        json!({
            "back_at": f.back_at, "back_at_iso": f.back_at_iso, "schedule": f.schedule, "on_call": f.on_call,
            "author": {"name": f.author_name, "handle": f.author_handle},
        }),
    )
}

/// The autoreply context outside any incident: an account's standing
/// off-hours reply or pinned note. The incident variables are there, empty
/// (`incident.link` is the status page), so one template serves both.
pub fn off_hours(config: &Config, lang: &str, f: &AutoreplyFacts<'_>, now: Timestamp) -> Value {
    let status_page = config.brand.status_page.clone().unwrap_or_default();
    json!({
        "brand": brand(config),
        "incident": {
            "id": "", "title": "", "state": "", "phase": "", "opened_at": "",
            "link": status_page, "eta": "", "update": "", "trigger": "",
        },
        "playbook": "",
        "lang": lang,
        "now": now.to_rfc3339(),
        "back_at": f.back_at, "back_at_iso": f.back_at_iso, "schedule": f.schedule, "on_call": f.on_call,
        "author": {"name": f.author_name, "handle": f.author_handle},
    })
}

pub fn notify(
    config: &Config,
    incident: &Incident,
    event: &str,
    recipient: &str,
    waiting: usize,
    oldest: &str,
    now: Timestamp,
) -> Value {
    merge(
        common(config, incident, &config.default_language, now),
        json!({"event": event, "recipient": {"name": recipient}, "queue": {"waiting": waiting, "oldest_wait": oldest}}),
    )
}

pub fn webhook(config: &Config, incident: &Incident, event: &str, now: Timestamp) -> Value {
    merge(
        common(config, incident, &config.default_language, now),
        json!({"event": event}),
    )
}

/// A shortened quote of customer text, cut on a character boundary.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max_chars {
        return one_line;
    }
    let cut: String = one_line.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}
