//! The raw serde mirror of a playbook file: exactly what comms teams may
//! write, nothing checked beyond shape.
//!
//! These types are the source of the playbook JSON Schema (`squall schema`),
//! so every field's doc comment is what editors show as its description.
//! Durations and references stay text here; [`super::validate`] turns them
//! into the validated [`super::Playbook`].
//!
//! [`RawPlaybookOf`] is generic over how triggers and steps are held so that
//! the validator can first read the outline with each trigger and step left
//! as plain YAML, then read each one on its own: one broken step never hides
//! the problems of the next.

use super::model::{AlertSource, ApprovalTimeout, AtPinLimit, Channel, IncidentState, Sensitivity};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A squall playbook: what to watch, and what to do when it fires.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Playbook", title = "squall playbook")]
pub struct RawPlaybookOf<T = RawTrigger, S = RawStep> {
    /// Unique name across the playbooks directory: lowercase letters, digits
    /// and dashes, starting with a letter or digit (`site-down`).
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub name: String,
    /// What this playbook is for, for the people who maintain it.
    #[serde(default)]
    pub description: Option<String>,
    /// Title of the incidents it opens ("Site outage"). Default: the name.
    #[serde(default)]
    pub title: Option<String>,
    /// What opens an incident. At least one.
    #[serde(default)]
    pub triggers: Vec<T>,
    /// How incidents of this playbook are grouped, throttled and reported.
    #[serde(default)]
    pub incident: Option<RawIncident>,
    /// Steps run when an incident opens.
    #[serde(default)]
    pub on_open: Vec<S>,
    /// Steps run when the incident's state changes; each usually says for
    /// which states with `when: {states: [...]}`.
    #[serde(default)]
    pub on_state_change: Vec<S>,
    /// Steps run when the incident is resolved.
    #[serde(default)]
    pub on_resolve: Vec<S>,
}

/// The playbook as a whole, with triggers and steps fully typed.
pub type RawPlaybook = RawPlaybookOf<RawTrigger, RawStep>;

/// A length of time as people write it: `90s`, `5m`, `1h 30m`, `2d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText(pub String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Accepts numbers too, so that `window: 5` gets the friendlier
        /// "needs a unit" message from validation rather than a type error.
        struct TextOrNumber;
        impl Visitor<'_> for TextOrNumber {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as `5m`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        deserializer.deserialize_any(TextOrNumber)
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A length of time, at most a year (`1y`): a number and a unit, several may be combined (`90s`, `5m`, `1h 30m`, `2d`). Zero only where a setting says so; timers that repeat or page people take at least `1m`.",
            "pattern": r"^\s*[0-9]+\s*[a-zA-Zµ]+(\s*[0-9]+\s*[a-zA-Zµ]+)*\s*$",
            "examples": ["90s", "5m", "1h 30m"]
        })
    }
}

/// Which mentions count: phrases, matched case-insensitively in any language.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// At least one of these must occur (empty: no constraint).
    #[serde(default)]
    pub any: Vec<String>,
    /// Every one of these must occur.
    #[serde(default)]
    pub all: Vec<String>,
    /// None of these may occur.
    #[serde(default)]
    pub none: Vec<String>,
}

/// What opens an incident. Write exactly one kind per list item (`- surge: {...}`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawTrigger {
    /// More matching mentions than usual, per the learned baseline.
    Surge(RawSurge),
    /// A few mentions of phrases that matter even in small numbers.
    Keyword(RawKeyword),
    /// A monitoring alert.
    Alert(RawAlert),
    /// A point in time (planned maintenance).
    Schedule(RawScheduleTrigger),
    /// A person declares the incident (`squall incident declare`).
    Manual(Option<RawManual>),
}

/// The kinds of trigger, as written.
pub const TRIGGER_KINDS: [&str; 5] = ["surge", "keyword", "alert", "schedule", "manual"];

/// A surge of matching mentions.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSurge {
    /// Which mentions count. Absent: every mention to the accounts.
    #[serde(default, rename = "match")]
    pub matching: RawMatch,
    /// Accounts whose mentions count (names from the config). Empty: all.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Length of the counting window. Default `5m`.
    #[serde(default)]
    pub window: Option<DurationText>,
    /// How easily it fires: `low`, `medium` (default) or `high`.
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    /// Explicit detector thresholds, overriding `sensitivity`.
    #[serde(default)]
    pub thresholds: Option<RawThresholds>,
    /// The surge must persist this long before it fires (flap suppression). Default: fire at once.
    #[serde(default, rename = "for")]
    pub hold: Option<DurationText>,
    /// No second alarm within this long of the last one (until its incident
    /// is resolved). Default by sensitivity: low 24h, medium 1h, high 0s.
    #[serde(default)]
    pub debounce: Option<DurationText>,
}

/// Explicit surge detector thresholds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    /// How many standard deviations above the baseline (greater than 0).
    pub sigmas: f64,
    /// Fewest matching mentions in a window that can ever count as a surge (at least 1).
    pub min_count: u32,
    /// Observed must also be at least this multiple of the baseline (at least 1.0).
    pub min_ratio: f64,
}

/// A handful of mentions of phrases that matter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeyword {
    /// Which mentions count; `any` or `all` must name at least one phrase.
    #[serde(rename = "match")]
    pub matching: RawMatch,
    /// Accounts whose mentions count (names from the config). Empty: all.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Fires when this many matching mentions arrive within `within`. Default 1.
    #[serde(default)]
    pub min_mentions: Option<u32>,
    /// The time span for `min_mentions`. Default `10m`.
    #[serde(default)]
    pub within: Option<DurationText>,
}

/// A monitoring alert.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    /// Where alerts come from: `alertmanager`, `grafana` or `webhook`.
    pub source: AlertSource,
    /// Every label here must be equal on the alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When the alert resolves, resolve the incident too. Default false.
    #[serde(default)]
    pub resolve: bool,
    /// For `source: webhook`: how the fields of any JSON body become an
    /// alert, by JSON Pointer (`/rule/name`). Without it, the webhook takes
    /// squall's own alert form (`status`, `labels`, ...).
    #[serde(default)]
    pub map: Option<RawAlertMap>,
}

/// Where a generic webhook's JSON keeps an alert's parts (JSON Pointers, RFC 6901).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlertMap {
    /// Pointer to the status (`/state`).
    pub status: String,
    /// Status values that mean "firing"; any other value means resolved. Default `[firing]`.
    #[serde(default)]
    pub firing: Vec<String>,
    /// Label name → pointer (`alertname: /ruleName`). The trigger's `labels` are matched against these.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotation name → pointer (`summary: /message`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Pointer to a stable id of the alert. Default: derived from the mapped labels.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Pointer to when the alert started (RFC 3339 text or Unix seconds).
    /// Repeated deliveries are recognised by fingerprint, status and start:
    /// without a start, the fingerprint must name one occurrence.
    #[serde(default)]
    pub starts_at: Option<String>,
}

/// A point in time, by cron expression.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScheduleTrigger {
    /// Cron expression WITH a seconds field first: `0 0 2 * * Sun` is 02:00 every Sunday.
    /// Days of the week are written as names (`MON-FRI`): numbers are refused,
    /// because this cron numbers them 1 = Sunday, not 0 = Sunday as Unix cron does.
    pub cron: String,
    /// IANA time zone the expression is read in (`Europe/Warsaw`). Default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Manual declaration takes no settings: write `manual: {}`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawManual {}

/// How incidents of a playbook are grouped, throttled and reported.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIncident {
    /// What makes two triggers land in the same incident: `playbook`,
    /// `account` or `label:NAME` (an alert label). Default `[playbook]`.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// After an incident resolves, automatic triggers are held back this long. Default `30m`.
    #[serde(default)]
    pub cooldown: Option<DurationText>,
    /// Most incidents opened automatically in any hour (at least 1). Default 3.
    #[serde(default)]
    pub max_per_hour: Option<u32>,
    /// Resolve by itself once quiet for a while.
    #[serde(default)]
    pub auto_resolve: Option<RawAutoResolve>,
    /// Remind the commander when the status text has not changed for this long. Default `30m`.
    #[serde(default)]
    pub stale_after: Option<DurationText>,
    /// Figures for the after-incident report.
    #[serde(default)]
    pub report: Option<RawReport>,
}

/// Resolve by itself once the surge has subsided.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoResolve {
    /// How long it must stay quiet.
    pub quiet: DurationText,
}

/// Figures for the after-incident report.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// Share of engaged customers who would otherwise have called (0 to 1).
    pub call_share: f64,
    /// What one support call costs, in the brand's currency (0 or more).
    pub cost_per_call: f64,
}

/// One step: exactly one action key, plus an optional `when`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RawStep {
    /// Runs the step only when this holds.
    #[serde(default)]
    pub when: Option<RawCondition>,
    /// The action (exactly one key).
    #[serde(flatten)]
    pub action: RawAction,
}

/// When a step runs.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    /// Only on entering one of these states (in `on_state_change`).
    #[serde(default, alias = "state")]
    pub states: Vec<IncidentState>,
    /// Only for incidents opened by these trigger kinds (`surge`, `keyword`,
    /// `alert`, `schedule`, `manual`).
    #[serde(default)]
    pub triggered_by: Vec<String>,
    /// Only when every label is equal on the triggering alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// What a step does. There is no delete, by design.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawAction {
    /// Post a status on brand accounts and pin it; keep it true as the incident moves.
    PinStatus(RawPinStatus),
    /// Auto-reply outside opening hours, saying when people will be back.
    Autoresponder(RawAutoresponder),
    /// Draft personal replies to affected customers and route them to staff.
    ReplyDrafts(RawReplyDrafts),
    /// Tell people inside the brand.
    Notify(RawNotify),
    /// Call a web hook (status pages, chat, anything).
    Webhook(RawWebhook),
}

/// The kinds of action, as written.
pub const ACTION_KINDS: [&str; 5] = [
    "pin_status",
    "autoresponder",
    "reply_drafts",
    "notify",
    "webhook",
];

/// Post and pin a status.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPinStatus {
    /// Accounts to post on. In `on_state_change`/`on_resolve`, default: the
    /// accounts of the `on_open` pin_status.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// Template of the status text.
    #[serde(default)]
    pub template: Option<String>,
    /// Who approves the text before it is posted. Absent: the commander,
    /// waiting 10 minutes, then holding (`{by: commander, timeout: 10m, then: hold}`).
    /// `none`: post with no human.
    #[serde(default)]
    pub approval: Option<RawApprovalSetting>,
    /// On resolve: unpin squall's post and re-pin what it displaced.
    #[serde(default)]
    pub restore_previous: bool,
    /// On resolve: post (unpinned) a resolution note with this template.
    #[serde(default)]
    pub final_template: Option<String>,
    /// On an account whose pins are all taken (Mastodon 5, Bluesky 1):
    /// `unpin_oldest` (default) makes room and re-pins it on resolve;
    /// `fail` posts nothing there and reports the account as failed.
    #[serde(default)]
    pub at_pin_limit: Option<AtPinLimit>,
}

/// `none`, or who approves and what happens when nobody does in time.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum RawApprovalSetting {
    /// `none`: post without waiting for a person.
    None(NoApproval),
    /// A person with a role approves.
    Rule(RawApproval),
}

/// The word `none`.
#[derive(Debug, Clone, Copy, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoApproval {
    None,
}

impl<'de> Deserialize<'de> for RawApprovalSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A hand-written visitor, so that a mistake inside the mapping is
        /// reported at its key (an untagged enum would only say "no variant matched").
        struct NoneOrRule;
        impl<'de> Visitor<'de> for NoneOrRule {
            type Value = RawApprovalSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`none` or a mapping with `by`, `timeout` and `then`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawApprovalSetting, E> {
                match v {
                    "none" => Ok(RawApprovalSetting::None(NoApproval::None)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawApprovalSetting, A::Error> {
                RawApproval::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawApprovalSetting::Rule)
            }
        }
        deserializer.deserialize_any(NoneOrRule)
    }
}

/// Who approves a status text, and what happens when nobody does in time.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    /// Role (from the config) whose members may approve. Default `commander`.
    #[serde(default)]
    pub by: Option<String>,
    /// How long to wait for approval. Default `10m`.
    #[serde(default)]
    pub timeout: Option<DurationText>,
    /// When nobody approved in time: `post` the text, or `hold` and remind (default).
    #[serde(default)]
    pub then: Option<ApprovalTimeout>,
}

/// Auto-reply outside opening hours.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoresponder {
    /// Accounts that auto-reply.
    pub accounts: Vec<String>,
    /// Schedule (from the config) of opening hours: replies go out when it is closed.
    pub schedule: String,
    /// Template of the auto-reply.
    pub template: String,
    /// Team that stays on call for the incident, whatever the schedule says:
    /// new drafts go to it while the schedule is closed, and the auto-reply
    /// says a team is on it (`on_call` is true in the template).
    #[serde(default)]
    pub on_call: Option<String>,
    /// Also auto-reply to public mentions, not only to direct messages.
    #[serde(default)]
    pub public_mentions: bool,
}

/// Draft personal replies and route them to staff.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReplyDrafts {
    /// Template of the drafts.
    pub template: String,
    /// Who gets the drafts.
    pub to: RawDraftRouting,
    /// How long a draft may wait before it is escalated. Default `15m`.
    #[serde(default)]
    pub sla: Option<DurationText>,
    /// Role (from the config) that overdue drafts are escalated to.
    #[serde(default)]
    pub escalate_to: Option<String>,
    /// Approve and send every draft at once, as it is written, with no
    /// person in between (the SLA never comes into play). Default false: a
    /// person sends every reply. Only set this knowingly.
    #[serde(default)]
    pub auto_send: bool,
}

/// Who gets reply drafts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDraftRouting {
    /// Team (from the config) whose members get the drafts.
    pub team: String,
    /// Give each draft to someone who writes the customer's language. Default true.
    #[serde(default)]
    pub match_language: Option<bool>,
    /// Staff must have all of these skills.
    #[serde(default)]
    pub skills: Vec<String>,
}

/// Tell people inside the brand.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// Recipients: `role:NAME`, `team:NAME` or `staff:ID`.
    pub to: Vec<String>,
    /// Channels: `email`, `chat`. Default `[email]`.
    #[serde(default)]
    pub via: Option<Vec<Channel>>,
    /// Template of the notification.
    pub template: String,
}

/// Call a web hook.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// `https://` (or `http://`) address to POST to.
    pub url: String,
    /// Template of the body (JSON after rendering). Absent: squall's own JSON.
    #[serde(default)]
    pub template: Option<String>,
    /// NAME of the environment variable holding the HMAC secret that signs the body.
    #[serde(default)]
    pub secret_env: Option<String>,
}
