//! The raw serde mirror of `squall.yaml`: exactly what people may write,
//! nothing checked beyond shape.
//!
//! These types are the source of the config JSON Schema (`squall schema`), so
//! every field's doc comment is what editors show as its description. They
//! are turned into the validated [`super::Config`] by [`super::parse`].

use super::model::PlatformKind;
use super::schedule::RawSchedule;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// squall's configuration file (`squall.yaml`): where things are, the brand,
/// its accounts, and the people who answer for it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "squall configuration")]
pub struct RawConfig {
    /// Store URL. Default `sqlite://squall.db?mode=rwc`. Overridden by `SQUALL_STORE`.
    #[serde(default)]
    pub store: Option<String>,
    /// Directory of playbooks, relative to this file. Default `playbooks`.
    /// Overridden by `SQUALL_PLAYBOOKS`.
    #[serde(default)]
    pub playbooks: Option<String>,
    /// Directory of templates, relative to this file. Default `templates`.
    /// Overridden by `SQUALL_TEMPLATES`.
    #[serde(default)]
    pub templates: Option<String>,
    /// ISO 639-1 code of the language used when a template has no variant in
    /// the author's language. Default `en`. Overridden by `SQUALL_DEFAULT_LANGUAGE`.
    #[serde(default)]
    pub default_language: Option<String>,
    /// The brand as it appears in rendered texts. Default name `squall demo`.
    #[serde(default)]
    pub brand: Option<RawBrand>,
    /// Brand accounts by the name playbooks use for them (`acme-main`).
    #[serde(default)]
    pub accounts: BTreeMap<String, RawAccount>,
    /// Opening hours by name, used by staff, autoresponders and off-hours notes.
    #[serde(default)]
    pub schedules: BTreeMap<String, RawSchedule>,
    /// People who can be assigned reply drafts or notified, by id (`ana`).
    #[serde(default)]
    pub staff: BTreeMap<String, RawStaff>,
    /// Named groups of staff that drafts are routed to.
    #[serde(default)]
    pub teams: BTreeMap<String, RawTeam>,
    /// Role name (`commander`, `comms-lead`) → staff ids who hold it.
    /// `commander` approves status posts unless a playbook says otherwise.
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
    /// `squall serve`: where it listens, request limits, API tokens.
    #[serde(default)]
    pub server: Option<RawServer>,
    /// How staff hear about new drafts: digest e-mails over SMTP.
    #[serde(default)]
    pub notify: Option<RawNotify>,
}

/// Staff notifications.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// One digest per staff member at most this often, listing the drafts
    /// assigned to them since the last one (`60s`; from a minute to a
    /// year). Default 60 seconds.
    #[serde(default)]
    pub digest_every: Option<String>,
    /// Where links in digests point (the dashboard's base URL). Default
    /// `http://` + `server.listen`.
    #[serde(default)]
    pub link_base: Option<String>,
    /// SMTP server for e-mail; without it e-mails are only recorded.
    #[serde(default)]
    pub smtp: Option<RawSmtp>,
    /// Chat webhook for `via: [chat]`; without it chat messages are only recorded.
    #[serde(default)]
    pub chat: Option<RawChat>,
}

/// Where chat notifications go. Secrets are NAMES of environment variables.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChat {
    /// `slack` (a Slack-compatible incoming webhook) or `matrix` (a room on
    /// a Matrix homeserver, through the client-server API).
    pub format: String,
    /// slack: NAME of the variable holding the webhook URL (the URL is the secret).
    #[serde(default)]
    #[schemars(with = "Option<EnvVarName>")]
    pub url_env: Option<String>,
    /// matrix: base URL of the homeserver (`https://matrix.acme.example`).
    #[serde(default)]
    pub homeserver: Option<String>,
    /// matrix: the room id (`!AbCdEf:acme.example`).
    #[serde(default)]
    pub room: Option<String>,
    /// matrix: NAME of the variable holding the bot's access token.
    #[serde(default)]
    #[schemars(with = "Option<EnvVarName>")]
    pub token_env: Option<String>,
}

/// An SMTP relay. Credentials are NAMES of environment variables.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    /// Host name of the relay (`smtp.acme.example`).
    pub host: String,
    /// Default 587 with `starttls`, 465 with `tls`, 25 with `none`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (local relays only).
    #[serde(default)]
    pub tls: Option<super::model::SmtpTls>,
    /// Sender address, e.g. `squall <squall@acme.example>`.
    pub from: String,
    /// NAME of the variable holding the SMTP user (AUTH only when set).
    #[serde(default)]
    #[schemars(with = "Option<EnvVarName>")]
    pub username_env: Option<String>,
    /// NAME of the variable holding the SMTP password.
    #[serde(default)]
    #[schemars(with = "Option<EnvVarName>")]
    pub password_env: Option<String>,
}

/// `squall serve` settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Address to listen on. Default `127.0.0.1:8080`; `--listen` overrides it.
    #[serde(default)]
    pub listen: Option<String>,
    /// Largest request body in bytes. Default 1048576 (1 MiB).
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    /// Most mentions in one `POST /v1/mentions`. Default 5000.
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// Longest a request may take (`10s`), at most `10m`. Default 10 seconds.
    #[serde(default)]
    pub request_timeout: Option<String>,
    /// Requests that may wait for the engine at once; beyond that the server
    /// answers 503 with `Retry-After`. Default 64.
    #[serde(default)]
    pub queue: Option<usize>,
    /// API bearer tokens by name. The name is who acts on the timeline.
    #[serde(default)]
    pub tokens: BTreeMap<String, RawToken>,
}

/// One API token. The token itself is never written here: give its SHA-256
/// (hex) or the NAME of an environment variable holding it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    /// What the token may do.
    pub roles: Vec<super::model::ApiRole>,
    /// Lowercase hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`).
    #[serde(default)]
    pub sha256: Option<String>,
    /// NAME of an environment variable holding the token.
    #[serde(default)]
    #[schemars(with = "Option<EnvVarName>")]
    pub env: Option<String>,
    /// Staff id this token acts as (approvals check it). Default: the token's name.
    #[serde(default)]
    pub staff: Option<String>,
}

/// The brand as customers know it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBrand {
    /// Name used in texts ("Acme"). Overridden by `SQUALL_BRAND_NAME`.
    pub name: String,
    /// Public status page, offered in texts as "where to go meanwhile".
    #[serde(default)]
    pub status_page: Option<String>,
    /// Support e-mail address offered in texts.
    #[serde(default)]
    pub support_email: Option<String>,
    /// Support phone number offered in texts (write it in quotes).
    #[serde(default)]
    pub support_phone: Option<String>,
}

/// One brand account on one platform.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// Which platform the account is on.
    pub platform: PlatformKind,
    /// The account's handle as shown on the platform (`@acme@mastodon.social`).
    pub handle: String,
    /// Credential field → NAME of the environment variable holding the
    /// secret (`token: ACME_MASTODON_TOKEN`). Secrets are never written here.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, EnvVarName>")]
    pub credentials: BTreeMap<String, String>,
    /// Root of the platform's API: the Mastodon instance
    /// (`https://mastodon.social`; default: from the handle), the Bluesky
    /// PDS (default `https://bsky.social`), or the URL a `statuspage`
    /// account POSTs to (required there). Other platforms: their public API.
    #[serde(default)]
    pub base_url: Option<String>,
    /// ISO 639-1 code of the language the account posts in (`pl`).
    #[serde(default)]
    pub language: Option<String>,
    /// A standing off-hours note and auto-reply, every night, not only in incidents.
    #[serde(default)]
    pub off_hours: Option<RawOffHours>,
}

/// The NAME of an environment variable holding a secret (`ACME_MASTODON_TOKEN`).
#[derive(JsonSchema)]
#[schemars(extend("pattern" = "^[A-Z_][A-Z0-9_]*$"))]
#[allow(dead_code)]
struct EnvVarName(String);

/// When the account is outside its schedule, auto-reply with a template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOffHours {
    /// Name of a schedule in `schedules`: the account is "open" when it is.
    pub schedule: String,
    /// Template for the off-hours auto-reply (`autoreply/closed`).
    pub template: String,
    /// Template of the note pinned on the account while it is closed and
    /// unpinned at opening (`autoreply/closed-note`); no note when absent.
    #[serde(default)]
    pub note: Option<String>,
    /// Also auto-reply to public mentions, not only to direct messages.
    #[serde(default)]
    pub public_mentions: bool,
}

/// A person who answers for the brand.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStaff {
    /// Full name, as colleagues know it.
    pub name: String,
    /// Where e-mail notifications go.
    #[serde(default)]
    pub email: Option<String>,
    /// ISO 639-1 codes this person writes replies in. Default: the default language.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Skills drafts can require (`billing`).
    #[serde(default)]
    pub skills: Vec<String>,
    /// Name of a schedule saying when this person is on duty. Absent: always.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Most drafts this person holds at once. Default 10.
    #[serde(default)]
    pub capacity: Option<u32>,
}

/// A named group of staff.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    /// Staff ids, in the order round-robin assignment starts from.
    pub members: Vec<String>,
}
