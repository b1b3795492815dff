//! Validated configuration: what the rest of squall sees.
//!
//! Built only by [`super::load`] from the raw YAML mirror in [`super::raw`];
//! every reference inside (staff → schedule, team → staff, role → staff) has
//! been checked, so lookups by name here cannot dangle.

use super::schedule::Schedule;
use std::collections::BTreeMap;

/// A platform squall knows how to talk to. The set is closed on purpose: each
/// one has an adapter with declared capabilities.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    Mastodon,
    Bluesky,
    X,
    Telegram,
    Discord,
    Slack,
    /// A status-page webhook (Cachet, Statuspage or home-grown).
    Statuspage,
    /// The built-in simulated platform with no limits of its own.
    Sim,
}

impl PlatformKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Mastodon => "mastodon",
            PlatformKind::Bluesky => "bluesky",
            PlatformKind::X => "x",
            PlatformKind::Telegram => "telegram",
            PlatformKind::Discord => "discord",
            PlatformKind::Slack => "slack",
            PlatformKind::Statuspage => "statuspage",
            PlatformKind::Sim => "sim",
        }
    }
}

/// A brand account on one platform, addressed by its squall name in playbooks.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    pub platform: PlatformKind,
    pub handle: String,
    /// Credential field → *name* of the environment variable holding it. The
    /// secret itself is read only by the adapter, at connect time.
    pub credentials: BTreeMap<String, String>,
    /// Root of the platform's API for this account (a Mastodon instance, a
    /// Bluesky PDS, a status page's webhook URL); `None`: the platform's
    /// public API. Tests point it at local servers.
    pub base_url: Option<String>,
    /// ISO 639-1 language the account posts in, sent with each post where
    /// the platform records it (Mastodon `language`, Bluesky `langs`).
    pub language: Option<String>,
    /// Standing off-hours note and auto-reply, every night, not only during incidents.
    pub off_hours: Option<OffHours>,
}

/// An account's standing off-hours: every time its schedule closes, squall
/// pins `note` (if any) and auto-replies with `template`, until it opens.
#[derive(Debug, Clone, PartialEq)]
pub struct OffHours {
    pub schedule: String,
    /// The auto-reply (autoreply context).
    pub template: String,
    /// The pinned note (autoreply context, without an author).
    pub note: Option<String>,
    /// Direct messages are always answered; public mentions only when set.
    pub public_mentions: bool,
}

/// A person who can be assigned drafts or notified.
#[derive(Debug, Clone, PartialEq)]
pub struct Staff {
    /// Key in the config (`ana`), used in rosters, roles and assignment.
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// ISO 639-1 codes this person writes replies in.
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// Name of the schedule that says when this person is on duty; `None`
    /// means always on duty.
    pub schedule: Option<String>,
    /// Most drafts this person holds at once.
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub name: String,
    /// Staff ids, in config order (round robin starts here).
    pub members: Vec<String>,
}

/// The brand as it appears in rendered texts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Brand {
    pub name: String,
    /// Public status page, offered in texts as "where to go meanwhile".
    pub status_page: Option<String>,
    pub support_email: Option<String>,
    pub support_phone: Option<String>,
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Store URL, `sqlite://squall.db?mode=rwc` by default.
    pub store_url: String,
    pub brand: Brand,
    pub accounts: BTreeMap<String, Account>,
    pub schedules: BTreeMap<String, Schedule>,
    pub staff: BTreeMap<String, Staff>,
    pub teams: BTreeMap<String, Team>,
    /// Role name (`commander`, `comms-lead`, ...) → staff ids.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Directory the playbooks are loaded from.
    pub playbooks_dir: std::path::PathBuf,
    /// Directory the templates are loaded from.
    pub templates_dir: std::path::PathBuf,
    /// Language used when a template has no variant for the author's language.
    pub default_language: String,
    /// `squall serve` settings.
    pub server: ServerConfig,
    /// Digest e-mails to staff.
    pub notify: NotifyConfig,
}

/// How staff hear about new drafts.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// At most one digest per staff member this often.
    pub digest_every: std::time::Duration,
    /// Base of the links in digests (no trailing slash).
    pub link_base: String,
    pub smtp: Option<SmtpConfig>,
    pub chat: Option<ChatConfig>,
}

/// Where `via: [chat]` notifications go. Each format carries exactly the
/// settings it needs; secrets are environment variable NAMES.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatConfig {
    /// A Slack-compatible incoming webhook; its URL is the secret.
    Slack { url_env: String },
    /// A Matrix room, written to by a bot account's access token.
    Matrix {
        homeserver: String,
        room: String,
        token_env: String,
    },
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            digest_every: std::time::Duration::from_secs(60),
            link_base: "http://127.0.0.1:8080".into(),
            smtp: None,
            chat: None,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: a relay on the same host or a test server only.
    None,
}

/// An SMTP relay; credentials are environment variable NAMES.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub from: String,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
}

/// What an API token may do. `commander` and `staff` also read (`viewer`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ApiRole {
    /// Feeds mentions (`POST /v1/mentions`).
    Ingest,
    /// Monitoring systems delivering alerts.
    Monitor,
    /// Declares, acknowledges, changes state, approves status text, resolves.
    Commander,
    /// Support staff: reads incidents and the live feed, works the reply
    /// queue (commanders may too).
    Staff,
    /// Reads incidents, timelines and the live feed.
    Viewer,
}

impl ApiRole {
    /// Whether a token holding `self` may act where `required` is asked.
    pub fn grants(self, required: ApiRole) -> bool {
        self == required
            || (required == ApiRole::Viewer && matches!(self, ApiRole::Commander | ApiRole::Staff))
            // Leads answer customers too.
            || (required == ApiRole::Staff && self == ApiRole::Commander)
    }
}

/// Where an API token's secret comes from. Only a hash is ever kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSecret {
    /// SHA-256 of the token, from the config file.
    Sha256([u8; 32]),
    /// The token is in this environment variable (read by `squall serve`).
    Env(String),
}

/// One API token, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub roles: Vec<ApiRole>,
    pub secret: TokenSecret,
    /// Who acts on the timeline with this token (a staff id for commanders).
    pub actor: String,
}

/// `squall serve` settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: std::net::SocketAddr,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub request_timeout: std::time::Duration,
    pub queue: usize,
    pub tokens: Vec<ApiToken>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1 << 20,
            max_batch: 5000,
            request_timeout: std::time::Duration::from_secs(10),
            queue: 64,
            tokens: Vec::new(),
        }
    }
}
