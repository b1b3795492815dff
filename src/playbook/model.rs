//! Validated playbooks: the only form the engine sees.
//!
//! Built by [`super::load_dir`] / [`super::parse`] from the raw serde mirror in
//! [`super::raw`]. Every account, template, team, role and schedule named here
//! exists; every duration is positive; every cron expression parses.

use crate::detect::matcher::Matcher;
use std::collections::BTreeMap;
use std::time::Duration;

/// A playbook: what to watch and what to do.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub description: Option<String>,
    /// Human title of incidents it opens ("Site outage").
    pub title: String,
    pub triggers: Vec<Trigger>,
    pub incident: IncidentPolicy,
    pub on_open: Vec<Step>,
    /// Steps run when the incident's state changes (each step says for which states).
    pub on_state_change: Vec<Step>,
    pub on_resolve: Vec<Step>,
    /// Which mentions belong to an incident of this playbook (for drafts and
    /// the report): the union of its surge and keyword triggers' matchers,
    /// or every mention to the listed accounts when it has none.
    pub source_file: std::path::PathBuf,
}

/// Surge sensitivity; maps to detector thresholds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    Low,
    Medium,
    High,
}

/// Explicit detector thresholds, overriding `sensitivity`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// How many standard deviations (Poisson: sqrt of the baseline) above the baseline.
    pub sigmas: f64,
    /// Fewest matching mentions in a window that can ever count as a surge.
    pub min_count: u32,
    /// Observed must also be at least this multiple of the baseline.
    pub min_ratio: f64,
}

/// Why a setting is refused, and what to write instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: String,
    pub hint: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.message, self.hint)
    }
}

/// The rules each threshold obeys, in one place: `validate` checks a
/// playbook's `thresholds:` with them and `squall detect` its flags, so the
/// two never disagree about what runs.
impl Thresholds {
    pub fn check_sigmas(sigmas: f64) -> Result<f64, Refusal> {
        if sigmas.is_finite() && sigmas > 0.0 {
            return Ok(sigmas);
        }
        Err(Refusal {
            message: if sigmas.is_finite() {
                format!("`sigmas` must be greater than 0, found {sigmas}")
            } else {
                format!("`sigmas` must be a finite number greater than 0, found {sigmas}")
            },
            hint: "4.0 is a usual value; lower fires more easily",
        })
    }

    pub fn check_min_count(min_count: u32) -> Result<u32, Refusal> {
        if min_count >= 1 {
            return Ok(min_count);
        }
        Err(Refusal {
            message: "`min_count` must be at least 1".to_owned(),
            hint: "a surge of zero mentions is no surge",
        })
    }

    pub fn check_min_ratio(min_ratio: f64) -> Result<f64, Refusal> {
        if min_ratio.is_finite() && min_ratio >= 1.0 {
            return Ok(min_ratio);
        }
        Err(Refusal {
            message: if min_ratio.is_finite() {
                format!("`min_ratio` must be at least 1.0, found {min_ratio}")
            } else {
                format!("`min_ratio` must be a finite number, at least 1.0, found {min_ratio}")
            },
            hint: "it is how many times the usual volume a surge must reach, e.g. 2.0",
        })
    }
}

#[derive(Debug, Clone)]
pub struct SurgeTrigger {
    pub matcher: Matcher,
    /// Accounts whose mentions count; empty means all.
    pub accounts: Vec<String>,
    /// Length of the counting window.
    pub window: Duration,
    pub sensitivity: Sensitivity,
    pub thresholds: Option<Thresholds>,
    /// Flap suppression: the surge must persist this long before it fires.
    pub hold: Duration,
    /// One surge, one alarm: no second alarm within this long of the last
    /// one, until its incident resolves. `None`: the sensitivity's default.
    pub debounce: Option<Duration>,
}

/// Fires when `min_mentions` matching mentions arrive within `within`, no
/// baseline involved: for phrases that matter even in small numbers.
#[derive(Debug, Clone)]
pub struct KeywordTrigger {
    pub matcher: Matcher,
    pub accounts: Vec<String>,
    pub min_mentions: u32,
    pub within: Duration,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    Alertmanager,
    Grafana,
    Webhook,
}

#[derive(Debug, Clone)]
pub struct AlertTrigger {
    pub source: AlertSource,
    /// Every label here must be equal on the alert.
    pub labels: BTreeMap<String, String>,
    /// When the alert resolves, resolve the incident too.
    pub resolve: bool,
    /// For generic webhooks: where the alert's parts are in the JSON body.
    pub map: Option<AlertMap>,
}

/// How a generic webhook body becomes an alert: JSON Pointers (RFC 6901),
/// each checked to be one when the playbook is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMap {
    pub status: String,
    /// Status values meaning firing; anything else is resolved.
    pub firing: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub fingerprint: Option<String>,
    pub starts_at: Option<String>,
}

impl AlertMap {
    /// Reads `body` through the map, or `None` when the status is not where the map says
    /// (the body is not this playbook's kind of alert). Labels and
    /// annotations whose pointer finds nothing are left out; numbers and
    /// booleans are taken as their text.
    pub fn read(&self, body: &serde_json::Value) -> Option<MappedAlert> {
        let text = |ptr: &str| {
            body.pointer(ptr).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
        };
        let status = text(&self.status)?;
        let pick = |m: &BTreeMap<String, String>| {
            m.iter()
                .filter_map(|(k, ptr)| Some((k.clone(), text(ptr)?)))
                .collect::<BTreeMap<_, _>>()
        };
        let starts_at = self
            .starts_at
            .as_deref()
            .and_then(|ptr| match body.pointer(ptr)? {
                serde_json::Value::Number(n) => chrono::DateTime::from_timestamp(n.as_i64()?, 0),
                serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|t| t.with_timezone(&chrono::Utc)),
                _ => None,
            });
        Some(MappedAlert {
            firing: self.firing.contains(&status),
            labels: pick(&self.labels),
            annotations: pick(&self.annotations),
            fingerprint: self.fingerprint.as_deref().and_then(text),
            starts_at,
        })
    }
}

/// What [`AlertMap::read`] found in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedAlert {
    pub firing: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub fingerprint: Option<String>,
    pub starts_at: Option<crate::clock::Timestamp>,
}

#[derive(Debug, Clone)]
pub struct ScheduleTrigger {
    /// Parsed cron expression (seconds field first, as the `cron` crate wants).
    pub cron: cron::Schedule,
    pub cron_source: String,
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    Surge(SurgeTrigger),
    Keyword(KeywordTrigger),
    Alert(AlertTrigger),
    Schedule(ScheduleTrigger),
    Manual,
}

/// What makes two triggers land in the same incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Playbook,
    /// An alert label's value (`label:service`).
    Label(String),
    /// The account the mention was addressed to.
    Account,
}

#[derive(Debug, Clone)]
pub struct IncidentPolicy {
    pub group_by: Vec<GroupKey>,
    /// After an incident of the same key resolves, automatic triggers are
    /// held back this long (a person can still declare).
    pub cooldown: Duration,
    /// Most incidents this playbook may open automatically in any hour.
    pub max_per_hour: u32,
    /// Resolve by itself once the surge has subsided for this long.
    pub auto_resolve_quiet: Option<Duration>,
    /// Remind the commander when the status text has not changed for this long
    /// (BRIEF lesson 8).
    pub stale_after: Duration,
    /// For the after-incident report (BRIEF lesson 16).
    pub report: Option<ReportPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportPolicy {
    /// Share of engaged customers who would otherwise have called (0..=1).
    pub call_share: f64,
    pub cost_per_call: f64,
}

/// The incident's lifecycle. The status text's phase follows it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum IncidentState {
    Open,
    Acknowledged,
    Mitigated,
    Resolved,
}

impl IncidentState {
    /// The public status phase that tells the truth about this state (BRIEF lesson 8).
    pub fn phase(self) -> StatusPhase {
        match self {
            IncidentState::Open => StatusPhase::Investigating,
            IncidentState::Acknowledged => StatusPhase::Identified,
            IncidentState::Mitigated => StatusPhase::Monitoring,
            IncidentState::Resolved => StatusPhase::Resolved,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Mitigated => "mitigated",
            IncidentState::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusPhase {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl StatusPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPhase::Investigating => "investigating",
            StatusPhase::Identified => "identified",
            StatusPhase::Monitoring => "monitoring",
            StatusPhase::Resolved => "resolved",
        }
    }
}

/// A step with its condition.
#[derive(Debug, Clone)]
pub struct Step {
    /// Runs only if the condition holds (always when `None`).
    pub when: Option<Condition>,
    pub action: Action,
}

#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// Only on entering one of these states (meaningful in `on_state_change`).
    pub states: Vec<IncidentState>,
    /// Only for incidents opened by these trigger kinds (`surge`, `keyword`, `alert`, `schedule`, `manual`).
    pub triggered_by: Vec<String>,
    /// Only when every label is equal on the triggering alert.
    pub labels: BTreeMap<String, String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalTimeout {
    /// Post the rendered text when nobody approved in time.
    Post,
    /// Keep waiting, and remind the approver.
    Hold,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// Role whose members may approve.
    pub by: String,
    pub timeout: Duration,
    pub then: ApprovalTimeout,
}

/// What `pin_status` does on an account whose pins are all taken (Mastodon
/// holds 5, Bluesky 1).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AtPinLimit {
    /// Unpin the oldest pin to make room, and pin it again on resolve.
    #[default]
    UnpinOldest,
    /// Post nothing there and report the account as failed on the
    /// timeline; the other accounts go on.
    Fail,
}

#[derive(Debug, Clone)]
pub struct PinStatus {
    pub accounts: Vec<String>,
    /// Template for the status text (on open, and its phases as the state changes).
    pub template: Option<String>,
    /// `None`: post without waiting for a person. Playbooks must say so
    /// explicitly with `approval: none`.
    pub approval: Option<Approval>,
    /// On resolve: unpin squall's post and re-pin what it displaced.
    pub restore_previous: bool,
    /// On resolve: post (unpinned) a resolution note with this template.
    pub final_template: Option<String>,
    /// What to do on an account whose pins are all taken.
    pub at_pin_limit: AtPinLimit,
}

#[derive(Debug, Clone)]
pub struct Autoresponder {
    pub accounts: Vec<String>,
    pub schedule: String,
    pub template: String,
    /// Crisis override: this team stays on call for the incident.
    pub on_call: Option<String>,
    /// Direct messages are always answered; public mentions only when set.
    pub public_mentions: bool,
}

/// Who receives drafts or notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Role(String),
    Team(String),
    Staff(String),
}

#[derive(Debug, Clone)]
pub struct ReplyDrafts {
    pub template: String,
    pub team: String,
    pub match_language: bool,
    /// Staff must have all of these skills.
    pub skills: Vec<String>,
    pub sla: Duration,
    pub escalate_to: Option<String>,
    /// Send approved-by-nobody drafts: only when the playbook says so.
    pub auto_send: bool,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Chat,
}

#[derive(Debug, Clone)]
pub struct Notify {
    pub to: Vec<Recipient>,
    pub via: Vec<Channel>,
    pub template: String,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    /// Body template (JSON text after rendering).
    pub template: Option<String>,
    /// Name of the environment variable with the HMAC secret.
    pub secret_env: Option<String>,
}

/// The closed set of actions. There is no delete, by design (BRIEF lesson 7).
#[derive(Debug, Clone)]
pub enum Action {
    PinStatus(PinStatus),
    Autoresponder(Autoresponder),
    ReplyDrafts(ReplyDrafts),
    Notify(Notify),
    Webhook(Webhook),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::PinStatus(_) => "pin_status",
            Action::Autoresponder(_) => "autoresponder",
            Action::ReplyDrafts(_) => "reply_drafts",
            Action::Notify(_) => "notify",
            Action::Webhook(_) => "webhook",
        }
    }
}
