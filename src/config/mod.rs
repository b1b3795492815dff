//! Configuration (`squall.yaml`): parsed from YAML through the raw mirror in
//! [`raw`] into the validated [`Config`] of [`model`], with a diagnostic at
//! file, line and column for every problem at once.
//!
//! A missing config file is not an error: squall then runs on
//! [`Config::embedded_default`] (a demo brand with no accounts), so that
//! `squall simulate` works out of the box. Environment variables
//! (`SQUALL_STORE`, `SQUALL_PLAYBOOKS`, `SQUALL_TEMPLATES`,
//! `SQUALL_DEFAULT_LANGUAGE`, `SQUALL_BRAND_NAME`) override the file; they are
//! read through an injected lookup so that tests never touch the real
//! environment.

pub mod model;
pub mod raw;
pub mod schedule;

pub use model::*;

use crate::diagnostics::{Diagnostic, Severity, SECRET_CODE};
use crate::playbook::validate::{
    check_duration, template_problem_diagnostic, unknown_template_hint, Floor, TemplateCatalog,
    DIGEST_FLOOR,
};
use crate::templates::StepContext;
use crate::yaml_pos::{closest, join, Locator, PathSeg, PositionIndex, Redaction, SerdeCodes};
use raw::{RawAccount, RawConfig, RawServer, RawStaff};
use schedule::Schedule;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Store URL when neither the file nor `SQUALL_STORE` gives one.
pub const DEFAULT_STORE: &str = "sqlite://squall.db?mode=rwc";
/// Brand name when the file gives none.
pub const DEFAULT_BRAND: &str = "squall demo";
/// The longest `server.request_timeout` may be.
const LONGEST_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// Most drafts one person holds at once, unless the config says otherwise.
pub const DEFAULT_CAPACITY: u32 = 10;

const CODES: SerdeCodes = SerdeCodes {
    unknown_key: "config::unknown-key",
    wrong_type: "config::wrong-type",
    missing_key: "config::missing-key",
    invalid_value: "config::invalid-value",
};

const CREDENTIAL_HINT: &str = "credentials are never written inline: put the secret in an environment variable and give its name";

const REDACTION: Redaction = Redaction {
    at: &[Some("accounts"), None, Some("credentials")],
    code: SECRET_CODE,
    message: "credentials must map each field to the NAME of an environment variable (the value is not shown: it may be a secret)",
    hint: CREDENTIAL_HINT,
};

/// The sections whose entries are named by people and referenced elsewhere.
const NAMED_SECTIONS: [&str; 5] = ["accounts", "schedules", "staff", "teams", "roles"];

/// Looks an environment variable up; the real one is [`process_env`].
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for [`load`] and [`parse`] outside tests.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// The configuration squall runs on when there is no config file: a demo
    /// brand, no accounts, no staff, `playbooks/` and `templates/` in the
    /// current directory.
    pub fn embedded_default() -> Config {
        Config {
            store_url: DEFAULT_STORE.to_owned(),
            brand: Brand {
                name: DEFAULT_BRAND.to_owned(),
                ..Brand::default()
            },
            accounts: BTreeMap::new(),
            schedules: BTreeMap::new(),
            staff: BTreeMap::new(),
            teams: BTreeMap::new(),
            roles: BTreeMap::new(),
            playbooks_dir: PathBuf::from("playbooks"),
            templates_dir: PathBuf::from("templates"),
            default_language: "en".to_owned(),
            server: ServerConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

/// Loads the config file at `path`, or the embedded default when there is
/// none; environment overrides applied either way. The config is `None` only
/// when the file cannot be read or is not YAML at all; otherwise it is built
/// from whatever validated (check [`crate::diagnostics::has_errors`] before
/// running on it).
pub fn load(path: Option<&Path>, env: EnvLookup<'_>) -> (Option<Config>, Vec<Diagnostic>) {
    let Some(path) = path else {
        let mut config = Config::embedded_default();
        apply_env(&mut config, env);
        return (Some(config), Vec::new());
    };
    match std::fs::read_to_string(path) {
        Ok(src) => parse(&src, path, env),
        Err(error) => {
            tracing::debug!(file = %path.display(), %error, "config file unreadable");
            let message = format!("cannot read the config file: {error}");
            (
                None,
                vec![Diagnostic::at(
                    Severity::Error,
                    "config::unreadable",
                    path,
                    crate::yaml_pos::Pos::START,
                    message,
                )],
            )
        }
    }
}

/// Parses and validates config text read from `file` (which relative
/// directories are resolved against).
pub fn parse(src: &str, file: &Path, env: EnvLookup<'_>) -> (Option<Config>, Vec<Diagnostic>) {
    let (root, index) = match crate::yaml_pos::parse_document(src, file, "config::syntax") {
        Ok(doc) => doc,
        Err(syntax) => return (None, vec![*syntax]),
    };
    let locator = Locator {
        file,
        index: &index,
        codes: CODES,
        redaction: Some(REDACTION),
    };
    let defined = defined_names(&root);
    let prune_depth = |path: &[PathSeg]| match path.first() {
        Some(PathSeg::Key(section)) if NAMED_SECTIONS.contains(&section.as_str()) => 2,
        _ => 1,
    };
    let (raw, mut diags) = locator.deserialize_pruning::<RawConfig>(root, &[], &prune_depth);
    let Some(raw) = raw else { return (None, diags) };
    let mut builder = Builder {
        locator: &locator,
        defined,
        valid: BTreeMap::new(),
        diags: Vec::new(),
    };
    let base = file.parent().unwrap_or_else(|| Path::new(""));
    let mut config = builder.build(raw, base, env);
    apply_env(&mut config, env);
    diags.append(&mut builder.diags);
    diags.sort_by_key(|d| (d.line, d.column));
    (Some(config), diags)
}

/// Checks the templates the config names (off-hours auto-replies) against
/// the loaded template set: they exist, and use only variables an
/// auto-reply offers. `src` is the config file's text, for positions.
pub fn check_templates(
    config: &Config,
    src: &str,
    file: &Path,
    templates: &dyn TemplateCatalog,
) -> Vec<Diagnostic> {
    let index = PositionIndex::build(src);
    let locator = Locator {
        file,
        index: &index,
        codes: CODES,
        redaction: Some(REDACTION),
    };
    let mut diags = Vec::new();
    for account in config.accounts.values() {
        let Some(off_hours) = &account.off_hours else {
            continue;
        };
        let named = [
            ("template", Some(&off_hours.template), "auto-reply"),
            ("note", off_hours.note.as_ref(), "pinned note"),
        ];
        for (field, template, what) in named {
            let Some(template) = template else { continue };
            if templates.failed_to_load(template) {
                continue;
            }
            if !templates.contains(template) {
                let path = section_path("accounts", &account.name, ["off_hours", field]);
                let message = format!("no template named `{template}`");
                let hint = unknown_template_hint(template, templates, config);
                diags.push(
                    locator
                        .at_value(Severity::Error, "config::unknown-template", &path, message)
                        .with_hint(hint),
                );
                continue;
            }
            let used_by = format!(
                "the off-hours {what} of account `{}` in {}",
                account.name,
                file.display()
            );
            for problem in templates.check(template, StepContext::Autoreply) {
                diags.push(template_problem_diagnostic(&problem, template, &used_by));
            }
        }
    }
    diags
}

/// Applies the `SQUALL_*` overrides.
fn apply_env(config: &mut Config, env: EnvLookup<'_>) {
    if let Some(store) = env("SQUALL_STORE") {
        config.store_url = store;
    }
    if let Some(dir) = env("SQUALL_PLAYBOOKS") {
        config.playbooks_dir = PathBuf::from(dir);
    }
    if let Some(dir) = env("SQUALL_TEMPLATES") {
        config.templates_dir = PathBuf::from(dir);
    }
    if let Some(language) = env("SQUALL_DEFAULT_LANGUAGE") {
        config.default_language = language;
    }
    if let Some(name) = env("SQUALL_BRAND_NAME") {
        config.brand.name = name;
    }
}

/// Whether `name` can be an environment variable name (`ACME_TOKEN`).
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Names written in each named section, valid or not: a reference to an
/// invalid entry is not reported again as unknown.
fn defined_names(root: &Value) -> BTreeMap<&'static str, BTreeSet<String>> {
    NAMED_SECTIONS
        .iter()
        .map(|section| {
            let names = root
                .get(section)
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.keys()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (*section, names)
        })
        .collect()
}

fn section_path<const N: usize>(section: &str, name: &str, rest: [&str; N]) -> Vec<PathSeg> {
    join(
        &[PathSeg::from(section), PathSeg::from(name)],
        rest.map(PathSeg::from),
    )
}

/// Builds the validated config from the raw one, collecting diagnostics.
struct Builder<'l, 'a> {
    locator: &'l Locator<'a>,
    /// Every name written per section (see [`defined_names`]).
    defined: BTreeMap<&'static str, BTreeSet<String>>,
    /// Names that validated per section: references may point only at these.
    valid: BTreeMap<&'static str, BTreeSet<String>>,
    diags: Vec<Diagnostic>,
}

impl Builder<'_, '_> {
    fn build(&mut self, raw: RawConfig, base: &Path, env: EnvLookup<'_>) -> Config {
        let default_language = env("SQUALL_DEFAULT_LANGUAGE")
            .or(raw.default_language.clone())
            .unwrap_or_else(|| "en".to_owned());
        if raw.default_language.is_some() && !is_language_code(&default_language) {
            let message = format!("`{default_language}` is not an ISO 639-1 language code");
            self.diags.push(
                self.locator
                    .at_value(
                        Severity::Error,
                        CODES.invalid_value,
                        &[PathSeg::from("default_language")],
                        message,
                    )
                    .with_hint("use a two-letter code such as `en`, `pl` or `ja`"),
            );
        }
        let schedules = self.schedules(&raw);
        let accounts = raw
            .accounts
            .iter()
            .map(|(name, account)| (name.clone(), self.account(name, account)))
            .collect();
        self.valid
            .insert("staff", raw.staff.keys().cloned().collect());
        let staff = raw
            .staff
            .iter()
            .map(|(id, staff)| (id.clone(), self.staff(id, staff, &default_language)))
            .collect();
        let teams = raw
            .teams
            .iter()
            .map(|(name, team)| {
                (
                    name.clone(),
                    Team {
                        name: name.clone(),
                        members: self.members("teams", name, &team.members),
                    },
                )
            })
            .collect();
        let roles = raw
            .roles
            .iter()
            .map(|(name, members)| (name.clone(), self.members("roles", name, members)))
            .collect();
        let brand = raw.brand.map_or_else(
            || Brand {
                name: DEFAULT_BRAND.to_owned(),
                ..Brand::default()
            },
            |b| Brand {
                name: b.name,
                status_page: b.status_page,
                support_email: b.support_email,
                support_phone: b.support_phone,
            },
        );
        let server = self.server(raw.server.unwrap_or_default());
        Config {
            store_url: raw.store.unwrap_or_else(|| DEFAULT_STORE.to_owned()),
            brand,
            accounts,
            schedules,
            staff,
            teams,
            roles,
            playbooks_dir: tidy(&base.join(raw.playbooks.as_deref().unwrap_or("playbooks"))),
            templates_dir: tidy(&base.join(raw.templates.as_deref().unwrap_or("templates"))),
            default_language,
            notify: self.notify(raw.notify.unwrap_or_default(), &server),
            server,
        }
    }

    /// `notify:`: digest period, link base, SMTP relay (variable names only).
    fn notify(&mut self, raw: raw::RawNotify, server: &ServerConfig) -> NotifyConfig {
        let mut out = NotifyConfig {
            link_base: format!("http://{}", server.listen),
            ..NotifyConfig::default()
        };
        if let Some(t) = &raw.digest_every {
            match check_duration(t, Floor::Minute(DIGEST_FLOOR)) {
                Ok(d) => out.digest_every = d,
                Err(refusal) => self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Error,
                            CODES.invalid_value,
                            &[PathSeg::from("notify"), PathSeg::from("digest_every")],
                            refusal.message,
                        )
                        .with_hint(refusal.hint),
                ),
            }
        }
        if let Some(base) = raw.link_base {
            out.link_base = base.trim_end_matches('/').to_string();
        }
        out.smtp = raw.smtp.map(|s| {
            let tls = s.tls.unwrap_or_default();
            let credentials = s.username_env.is_some() || s.password_env.is_some();
            if tls == SmtpTls::None && credentials && !is_loopback_host(&s.host) {
                self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Warning,
                            "config::cleartext-credentials",
                            &[PathSeg::from("notify"), PathSeg::from("smtp"), PathSeg::from("tls")],
                            format!("`tls: none` sends the SMTP password to {} unencrypted", s.host),
                        )
                        .with_hint("use `tls: starttls` (port 587) or `tls: tls` (port 465); `none` is for a relay on this host"),
                );
            }
            SmtpConfig {
                port: s.port.unwrap_or(match tls {
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                }),
                host: s.host,
                tls,
                from: s.from,
                username_env: s.username_env,
                password_env: s.password_env,
            }
        });
        out.chat = raw.chat.and_then(|c| self.chat(c));
        out
    }

    /// `notify.chat`: the format and exactly the settings it needs. Every
    /// missing one is reported, not only the first.
    fn chat(&mut self, raw: raw::RawChat) -> Option<ChatConfig> {
        let here = [PathSeg::from("notify"), PathSeg::from("chat")];
        match raw.format.as_str() {
            "slack" => {
                let url_env = self.chat_field(raw.url_env, "slack", "url_env", "the NAME of the variable holding the webhook URL, e.g. `url_env: SQUALL_CHAT_WEBHOOK`");
                Some(ChatConfig::Slack { url_env: url_env? })
            }
            "matrix" => {
                let homeserver = self.chat_field(
                    raw.homeserver,
                    "matrix",
                    "homeserver",
                    "the homeserver's base URL, e.g. `homeserver: https://matrix.acme.example`",
                );
                let room = self.chat_field(
                    raw.room,
                    "matrix",
                    "room",
                    "the room id, e.g. `room: \"!AbCdEf:acme.example\"`",
                );
                let token_env = self.chat_field(raw.token_env, "matrix", "token_env", "the NAME of the variable holding the bot's access token, e.g. `token_env: SQUALL_MATRIX_TOKEN`");
                let homeserver = homeserver.filter(|h| {
                    let ok = h.starts_with("https://") || h.starts_with("http://");
                    if !ok {
                        self.diags.push(
                            self.locator
                                .at_value(
                                    Severity::Error,
                                    CODES.invalid_value,
                                    &join(&here, [PathSeg::from("homeserver")]),
                                    format!("`{h}` is not an http(s) URL"),
                                )
                                .with_hint("write it as `https://matrix.acme.example`"),
                        );
                    }
                    ok
                });
                Some(ChatConfig::Matrix {
                    homeserver: homeserver?.trim_end_matches('/').to_owned(),
                    room: room?,
                    token_env: token_env?,
                })
            }
            other => {
                self.diags.push(
                    self.locator
                        .at_value(Severity::Error, CODES.invalid_value, &join(&here, [PathSeg::from("format")]), format!("unknown chat format `{other}`"))
                        .with_hint("write `format: slack` (a Slack-compatible incoming webhook) or `format: matrix`"),
                );
                None
            }
        }
    }

    /// A setting `notify.chat` needs for `format`, or a diagnostic saying so.
    fn chat_field(
        &mut self,
        value: Option<String>,
        format: &str,
        key: &str,
        hint: &str,
    ) -> Option<String> {
        match value {
            Some(v) if !v.trim().is_empty() => Some(v),
            _ => {
                self.diags.push(
                    self.locator
                        .at_key(
                            Severity::Error,
                            CODES.missing_key,
                            &[PathSeg::from("notify"), PathSeg::from("chat")],
                            format!("notify.chat with `format: {format}` needs `{key}`"),
                        )
                        .with_hint(format!("add `{key}:`: {hint}")),
                );
                None
            }
        }
    }

    /// `server:`: addresses, limits and tokens. Token secrets are never
    /// echoed in a diagnostic.
    fn server(&mut self, raw: RawServer) -> ServerConfig {
        let mut out = ServerConfig::default();
        let at = |key: &str| vec![PathSeg::from("server"), PathSeg::from(key)];
        if let Some(listen) = &raw.listen {
            match listen.parse() {
                Ok(addr) => out.listen = addr,
                Err(_) => self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Error,
                            CODES.invalid_value,
                            &at("listen"),
                            format!("`{listen}` is not an address with a port"),
                        )
                        .with_hint("write it as `127.0.0.1:8080`"),
                ),
            }
        }
        if let Some(t) = &raw.request_timeout {
            // Bounded like every duration: a timeout of centuries is a typo,
            // and one past ten minutes only keeps a stuck request's
            // connection (one of the 4,096) for nothing.
            let refusal = match check_duration(t, Floor::Positive) {
                Ok(d) if d <= LONGEST_REQUEST_TIMEOUT => {
                    out.request_timeout = d;
                    None
                }
                Ok(_) => Some((
                    format!("`{t}` is longer than ten minutes, the longest a request may take"),
                    "write it as `10s` or `1m`: every request squall answers takes far less"
                        .to_owned(),
                )),
                Err(r) => Some((r.message, r.hint)),
            };
            if let Some((message, hint)) = refusal {
                self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Error,
                            CODES.invalid_value,
                            &at("request_timeout"),
                            message,
                        )
                        .with_hint(hint),
                );
            }
        }
        for (value, key, slot) in [
            (
                raw.max_body_bytes,
                "max_body_bytes",
                &mut out.max_body_bytes,
            ),
            (raw.max_batch, "max_batch", &mut out.max_batch),
            (raw.queue, "queue", &mut out.queue),
        ] {
            match value {
                Some(0) => self.diags.push(self.locator.at_value(
                    Severity::Error,
                    CODES.invalid_value,
                    &at(key),
                    format!("`{key}` must be at least 1"),
                )),
                Some(v) => *slot = v,
                None => {}
            }
        }
        for (name, token) in raw.tokens {
            let path = |key: &str| {
                vec![
                    PathSeg::from("server"),
                    PathSeg::from("tokens"),
                    PathSeg::from(name.as_str()),
                    PathSeg::from(key),
                ]
            };
            let secret = match (&token.sha256, &token.env) {
                (Some(hex), None) => match parse_sha256(hex) {
                    Some(h) => Some(TokenSecret::Sha256(h)),
                    None => {
                        self.diags.push(
                            self.locator
                                .at_value(Severity::Error, SECRET_CODE, &path("sha256"), format!("`sha256` of token `{name}` is not 64 hex digits (the value is not shown: it may be a secret)"))
                                .with_hint("give the SHA-256 of the token: printf %s \"$TOKEN\" | sha256sum"),
                        );
                        None
                    }
                },
                (None, Some(var)) if is_env_var_name(var) => Some(TokenSecret::Env(var.clone())),
                (None, Some(_)) => {
                    self.diags.push(
                        self.locator
                            .at_value(Severity::Error, SECRET_CODE, &path("env"), format!("`env` of token `{name}` is not an environment variable name (the value is not shown: it may be a secret)"))
                            .with_hint(CREDENTIAL_HINT),
                    );
                    None
                }
                _ => {
                    self.diags.push(
                        self.locator
                            .at_value(
                                Severity::Error,
                                CODES.missing_key,
                                &[
                                    PathSeg::from("server"),
                                    PathSeg::from("tokens"),
                                    PathSeg::from(name.as_str()),
                                ],
                                format!("token `{name}` needs exactly one of `sha256` or `env`"),
                            )
                            .with_hint("the token itself is never written in the config"),
                    );
                    None
                }
            };
            let actor = match &token.staff {
                Some(staff) => self.reference("staff", staff, &path("staff")),
                None => Some(name.clone()),
            };
            if let (Some(secret), Some(actor)) = (secret, actor) {
                out.tokens.push(ApiToken {
                    name,
                    roles: token.roles,
                    secret,
                    actor,
                });
            }
        }
        out
    }

    /// Builds every schedule; each problem is placed inside its schedule.
    fn schedules(&mut self, raw: &RawConfig) -> BTreeMap<String, Schedule> {
        let mut built = BTreeMap::new();
        for (name, raw_schedule) in &raw.schedules {
            match Schedule::build(name, raw_schedule) {
                Ok(schedule) => {
                    built.insert(name.clone(), schedule);
                }
                Err(problems) => {
                    for problem in problems {
                        let path = self.locator.index.resolve_loose(
                            &[PathSeg::from("schedules"), PathSeg::from(name.as_str())],
                            &problem.path,
                        );
                        let diag = self.locator.at_value(
                            Severity::Error,
                            "config::schedule",
                            &path,
                            problem.message,
                        );
                        self.diags.push(match problem.hint {
                            Some(hint) => diag.with_hint(hint),
                            None => diag,
                        });
                    }
                }
            }
        }
        self.valid
            .insert("schedules", built.keys().cloned().collect());
        built
    }

    fn account(&mut self, name: &str, raw: &RawAccount) -> Account {
        let mut credentials = BTreeMap::new();
        for (field, variable) in &raw.credentials {
            if is_env_var_name(variable) {
                credentials.insert(field.clone(), variable.clone());
            } else {
                let path = section_path("accounts", name, ["credentials", field.as_str()]);
                let message = format!("credential `{field}` of account `{name}` is not an environment variable name (the value is not shown: it may be a secret)");
                self.diags.push(
                    self.locator
                        .at_value(Severity::Error, SECRET_CODE, &path, message)
                        .with_hint(CREDENTIAL_HINT),
                );
            }
        }
        let off_hours = raw.off_hours.as_ref().and_then(|off| {
            let schedule = self.reference(
                "schedules",
                &off.schedule,
                &section_path("accounts", name, ["off_hours", "schedule"]),
            )?;
            Some(OffHours {
                schedule,
                template: off.template.clone(),
                note: off.note.clone(),
                public_mentions: off.public_mentions,
            })
        });
        if let Some(url) = &raw.base_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Error,
                            CODES.invalid_value,
                            &section_path("accounts", name, ["base_url"]),
                            format!("`base_url` of account `{name}` is not an http(s) URL"),
                        )
                        .with_hint("write the API root, such as `https://mastodon.social`"),
                );
            }
        } else if raw.platform == PlatformKind::Statuspage {
            self.diags.push(
                self.locator
                    .at_key(
                        Severity::Error,
                        CODES.missing_key,
                        &section_path("accounts", name, []),
                        format!("statuspage account `{name}` has no `base_url`"),
                    )
                    .with_hint("give the URL the status page receives webhooks on"),
            );
        }
        if let Some(language) = &raw.language {
            if !is_language_code(language) {
                self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Error,
                            CODES.invalid_value,
                            &section_path("accounts", name, ["language"]),
                            format!("`{language}` is not an ISO 639-1 language code"),
                        )
                        .with_hint("use a two-letter code such as `en`, `pl` or `ja`"),
                );
            }
        }
        Account {
            name: name.to_owned(),
            platform: raw.platform,
            handle: raw.handle.clone(),
            credentials,
            base_url: raw.base_url.clone(),
            language: raw.language.clone(),
            off_hours,
        }
    }

    fn staff(&mut self, id: &str, raw: &RawStaff, default_language: &str) -> Staff {
        let schedule = raw
            .schedule
            .as_ref()
            .and_then(|s| self.reference("schedules", s, &section_path("staff", id, ["schedule"])));
        let capacity = raw.capacity.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 {
            let message = format!("`{id}` has a capacity of 0 and could never be given a draft");
            self.diags.push(
                self.locator
                    .at_value(
                        Severity::Error,
                        CODES.invalid_value,
                        &section_path("staff", id, ["capacity"]),
                        message,
                    )
                    .with_hint("give at least 1, or leave `capacity` out for the default of 10"),
            );
        }
        for (i, language) in raw.languages.iter().enumerate() {
            if !is_language_code(language) {
                let path = join(
                    &section_path("staff", id, ["languages"]),
                    [PathSeg::Index(i)],
                );
                self.diags.push(
                    self.locator
                        .at_value(
                            Severity::Error,
                            CODES.invalid_value,
                            &path,
                            format!("`{language}` is not an ISO 639-1 language code"),
                        )
                        .with_hint("use two-letter codes such as `en`, `pl` or `ja`"),
                );
            }
        }
        let languages = if raw.languages.is_empty() {
            vec![default_language.to_owned()]
        } else {
            raw.languages.clone()
        };
        Staff {
            id: id.to_owned(),
            name: raw.name.clone(),
            email: raw.email.clone(),
            languages,
            skills: raw.skills.clone(),
            schedule,
            capacity: capacity.max(1),
        }
    }

    /// The staff ids of a team or role that exist; the rest reported.
    fn members(&mut self, section: &'static str, name: &str, members: &[String]) -> Vec<String> {
        if members.is_empty() {
            let kind = if section == "teams" { "team" } else { "role" };
            let message = format!("{kind} `{name}` has no members");
            self.diags.push(
                self.locator
                    .at_key(
                        Severity::Warning,
                        "config::no-members",
                        &section_path(section, name, []),
                        message,
                    )
                    .with_hint("nobody will receive what is sent to it"),
            );
        }
        let base = if section == "teams" {
            section_path(section, name, ["members"])
        } else {
            section_path(section, name, [])
        };
        members
            .iter()
            .enumerate()
            .filter_map(|(i, member)| {
                self.reference("staff", member, &join(&base, [PathSeg::Index(i)]))
            })
            .collect()
    }

    /// `name` if it is a valid entry of `section`; reported if it was never
    /// written there; silently `None` if it was written but is invalid
    /// (that entry has its own diagnostic).
    fn reference(&mut self, section: &'static str, name: &str, path: &[PathSeg]) -> Option<String> {
        if self
            .valid
            .get(section)
            .is_some_and(|names| names.contains(name))
        {
            return Some(name.to_owned());
        }
        let defined = self.defined.get(section).cloned().unwrap_or_default();
        if defined.contains(name) || name.is_empty() {
            return None;
        }
        let (code, kind) = match section {
            "schedules" => ("config::unknown-schedule", "schedule"),
            _ => ("config::unknown-staff", "staff member"),
        };
        let message = format!("no {kind} named `{name}` in `{section}`");
        let hint = match closest(name, defined.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`?"),
            None if defined.is_empty() => {
                format!("`{section}` is empty: define `{name}` there first")
            }
            None => format!(
                "defined: {}",
                defined
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.diags.push(
            self.locator
                .at_value(Severity::Error, code, path, message)
                .with_hint(hint),
        );
        None
    }
}

/// 64 hex digits → 32 bytes.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn is_language_code(code: &str) -> bool {
    (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_lowercase())
}

/// `examples/../playbooks` → `playbooks`: paths shown in diagnostics read as
/// people would write them. Purely lexical (no file system access).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// `localhost` or a loopback address: traffic that never leaves this host.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn codes_at(src: &str) -> Vec<(usize, usize, &'static str)> {
        let (_, diags) = parse(src, Path::new("squall.yaml"), &no_env);
        diags.iter().map(|d| (d.line, d.column, d.code)).collect()
    }

    #[test]
    fn an_smtp_password_sent_unencrypted_off_this_host_is_warned_about() {
        let smtp = |host: &str, tls: &str, creds: &str| {
            format!(
                "notify:\n  smtp: {{host: {host}, tls: {tls}, from: ops@acme.example{creds}}}\n"
            )
        };
        let creds = ", username_env: SMTP_USER, password_env: SMTP_PASSWORD";
        assert_eq!(
            codes_at(&smtp("mail.acme.example", "none", creds)),
            [(2, 40, "config::cleartext-credentials")]
        );
        for quiet in [
            smtp("mail.acme.example", "starttls", creds),
            smtp("mail.acme.example", "none", ""),
            smtp("localhost", "none", creds),
            smtp("127.0.0.1", "none", creds),
            smtp("'[::1]'", "none", creds),
        ] {
            assert_eq!(codes_at(&quiet), [], "{quiet}");
        }
    }

    #[test]
    fn only_an_accounts_credentials_are_redacted_not_a_name_that_says_credentials() {
        // An account called `credentials` with no body: an ordinary error
        // about the account, which may name it.
        let (_, diags) = parse(
            "accounts:\n  credentials:\n",
            Path::new("squall.yaml"),
            &no_env,
        );
        assert!(!diags.is_empty());
        assert!(diags.iter().all(|d| d.code != SECRET_CODE), "{diags:?}");
        // A real account's credentials of the wrong shape: redacted.
        let (_, diags) = parse(
            "accounts:\n  main:\n    platform: mastodon\n    handle: '@acme'\n    credentials: sk-live-123\n",
            Path::new("squall.yaml"),
            &no_env,
        );
        let secret: Vec<_> = diags.iter().filter(|d| d.code == SECRET_CODE).collect();
        assert_eq!(secret.len(), 1, "{diags:?}");
        assert!(!format!("{diags:?}").contains("sk-live-123"));
    }

    #[test]
    fn a_request_timeout_is_a_duration_of_at_most_ten_minutes() {
        let timeout = |t: &str| {
            let src = format!("server: {{request_timeout: {t}}}\n");
            let (config, diags) = parse(&src, Path::new("squall.yaml"), &no_env);
            let messages: Vec<String> = diags.into_iter().map(|d| d.message).collect();
            (config.map(|c| c.server.request_timeout), messages)
        };
        assert_eq!(
            timeout("30s"),
            (Some(std::time::Duration::from_secs(30)), vec![])
        );
        assert_eq!(timeout("10m").1, Vec::<String>::new());
        for (t, says) in [
            ("11m", "longer than ten minutes"),
            ("300000y", "longer than a year"),
            ("0s", "not longer than zero"),
            ("soon", "is not a duration"),
        ] {
            let (_, messages) = timeout(t);
            assert!(
                matches!(messages.as_slice(), [m] if m.contains(says)),
                "{t}: {messages:?}"
            );
        }
    }

    #[test]
    fn credential_values_must_be_environment_variable_names() {
        for name in ["ACME_TOKEN", "_X", "A1_B2"] {
            assert!(is_env_var_name(name), "{name}");
        }
        for value in [
            "",
            "acme_token",
            "1ABC",
            "sk-live-123",
            "ACME TOKEN",
            "TOKEN=",
        ] {
            assert!(!is_env_var_name(value), "{value}");
        }
    }

    #[test]
    fn server_tokens_are_hashes_or_variable_names_and_never_echoed() {
        let src = "staff: {ana: {name: Ana}}\nserver:\n  listen: 127.0.0.1:9000\n  request_timeout: 5s\n  tokens:\n    ana: {roles: [commander], sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}\n    feed: {roles: [ingest], env: FEED_TOKEN, staff: ana}\n    leaked: {roles: [viewer], sha256: hunter2}\n    inline: {roles: [viewer], env: sk-live-secret}\n    both: {roles: [viewer]}\n    ghost: {roles: [viewer], env: GHOST_TOKEN, staff: nobody}\n";
        let (config, diags) = parse(src, Path::new("squall.yaml"), &no_env);
        let config = config.expect("config");
        let names: Vec<&str> = config
            .server
            .tokens
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["ana", "feed"]);
        assert_eq!(config.server.tokens[1].actor, "ana");
        assert_eq!(config.server.listen.port(), 9000);
        assert_eq!(
            config.server.request_timeout,
            std::time::Duration::from_secs(5)
        );
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [8, 9, 10, 11], "{diags:#?}");
        for d in &diags {
            let shown = format!("{d:?}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("sk-live-secret"),
                "{shown}"
            );
        }
    }

    #[test]
    fn one_broken_account_does_not_hide_problems_in_the_others() {
        let src = "accounts:\n  a: {platform: myspace, handle: h}\n  b: {platform: x, handel: h}\n";
        assert_eq!(
            codes_at(src),
            [
                (2, 17, "config::invalid-value"),
                (3, 20, "config::unknown-key")
            ]
        );
    }

    #[test]
    fn a_misspelt_top_level_key_gets_a_did_you_mean() {
        let (_, diags) = parse("stroe: x\n", Path::new("squall.yaml"), &no_env);
        assert_eq!(diags[0].code, "config::unknown-key");
        assert!(diags[0]
            .hint
            .as_deref()
            .unwrap_or_default()
            .starts_with("did you mean `store`?"));
    }

    #[test]
    fn an_empty_file_is_the_default_configuration() {
        let (config, diags) = parse("", Path::new("conf/squall.yaml"), &no_env);
        assert!(diags.is_empty());
        let config = config.unwrap_or_else(Config::embedded_default);
        assert_eq!(config.brand.name, DEFAULT_BRAND);
        assert_eq!(config.playbooks_dir, Path::new("conf/playbooks"));
    }

    #[test]
    fn text_that_is_not_yaml_is_one_syntax_error_and_no_config() {
        let (config, diags) = parse("brand: {name: [Acme}\n", Path::new("squall.yaml"), &no_env);
        assert!(config.is_none());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "config::syntax");
    }
}
