//! Platforms behind one trait.
//!
//! Every adapter declares what its platform can do ([`Capabilities`]), so that
//! `validate` can warn before a crisis and the engine never asks for the
//! impossible during one. [`sim::SimPlatform`] rehearses; the real adapters
//! (one file per platform, sharing [`http`]) talk to the platforms'
//! published APIs and are built from the config by [`connect`].

pub mod bluesky;
pub mod chat;
pub mod discord;
pub mod email;
pub mod http;
pub mod ingest;
pub mod mastodon;
pub mod sim;
pub mod slack;
pub mod statuspage;
pub mod telegram;
pub mod x;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What a platform can do for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Most posts pinned at once on one account (0: no pinning).
    pub max_pins: usize,
    pub can_reply: bool,
    pub can_message_privately: bool,
    pub can_edit: bool,
    /// Longest post, as the platform counts it ([`post_length`]).
    pub max_chars: usize,
}

impl Capabilities {
    pub fn can_pin(&self) -> bool {
        self.max_pins > 0
    }
}

/// A post on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRef {
    pub id: String,
    pub url: Option<String>,
}

/// Errors a caller branches on.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AdapterError {
    #[error("rate limited, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("credentials were refused: {0}")]
    Unauthorized(String),
    #[error("the platform cannot do this: {0}")]
    Unsupported(&'static str),
    #[error("the platform refused the request: {0}")]
    Rejected(String),
    #[error("temporary failure: {0}")]
    Transient(String),
}

impl AdapterError {
    /// Whether the outbox should try again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AdapterError::RateLimited { .. } | AdapterError::Transient(_)
        )
    }
}

/// One brand account on one platform.
///
/// Every call that creates something takes an idempotency key, so that a
/// retried call after a crash cannot post twice.
#[async_trait]
pub trait Platform: Send + Sync {
    fn capabilities(&self) -> Capabilities;
    /// Posts a public status.
    async fn post(&self, text: &str, idempotency_key: &str) -> Result<PostRef, AdapterError>;
    /// Replaces the text of an earlier post.
    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError>;
    /// What is pinned now, oldest first.
    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError>;
    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError>;
    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError>;
    /// Public reply to a post.
    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<PostRef, AdapterError>;
    /// Private message to an author. The default is for platforms (and
    /// channels) that have none; the contract suite checks it agrees with
    /// `capabilities().can_message_privately`.
    async fn direct_message(
        &self,
        _author_id: &str,
        _text: &str,
        _idempotency_key: &str,
    ) -> Result<PostRef, AdapterError> {
        Err(AdapterError::Unsupported("private messages"))
    }
}

/// What each platform allows, from its published API documentation.
/// `validate` warns from this table and the executor obeys it.
pub fn capabilities_for(kind: crate::config::PlatformKind) -> Capabilities {
    use crate::config::PlatformKind as P;
    match kind {
        // Mastodon: up to 5 pinned statuses (422 beyond), 500 characters by default.
        P::Mastodon => Capabilities {
            max_pins: 5,
            can_reply: true,
            can_message_privately: true,
            can_edit: true,
            max_chars: 500,
        },
        // Bluesky: one `pinnedPost` on the profile record; 300 graphemes.
        P::Bluesky => Capabilities {
            max_pins: 1,
            can_reply: true,
            can_message_privately: false,
            can_edit: false,
            max_chars: 300,
        },
        // X: the API has no pin endpoint.
        P::X => Capabilities {
            max_pins: 0,
            can_reply: true,
            can_message_privately: true,
            can_edit: false,
            max_chars: 280,
        },
        P::Telegram => Capabilities {
            max_pins: 100,
            can_reply: true,
            can_message_privately: false,
            can_edit: true,
            max_chars: 4096,
        },
        P::Discord => Capabilities {
            max_pins: 50,
            can_reply: true,
            can_message_privately: false,
            can_edit: true,
            max_chars: 2000,
        },
        P::Slack => Capabilities {
            max_pins: 100,
            can_reply: true,
            can_message_privately: false,
            can_edit: true,
            max_chars: 40_000,
        },
        P::Statuspage => Capabilities {
            max_pins: 0,
            can_reply: false,
            can_message_privately: false,
            can_edit: true,
            max_chars: 100_000,
        },
        P::Sim => Capabilities {
            max_pins: 5,
            can_reply: true,
            can_message_privately: true,
            can_edit: true,
            max_chars: 10_000,
        },
    }
}

/// A link's length on platforms that shorten or weigh every link alike
/// (Mastodon's and X's documented 23 characters).
const LINK_LENGTH: usize = 23;

/// `text`'s length as `kind` counts it against [`Capabilities::max_chars`]:
/// - Mastodon: user-perceived characters (grapheme clusters), a link 23
///   whatever its length, and a mention `@user@server` as `@user`;
/// - X: weighted as X's `twitter-text` does: a character of Latin and
///   other light scripts (U+0000 to U+10FF, some punctuation) is 1, any
///   other (CJK, emoji, per cluster) 2, and a link 23, so 140 Japanese
///   characters fill a post;
/// - Bluesky: grapheme clusters, links as written;
/// - the others: characters.
pub fn post_length(kind: crate::config::PlatformKind, text: &str) -> usize {
    use crate::config::PlatformKind as P;
    use unicode_segmentation::UnicodeSegmentation;
    match kind {
        P::Mastodon | P::X => text
            .split_inclusive(char::is_whitespace)
            .map(|token| {
                let word = token.trim_end_matches(char::is_whitespace);
                let space = &token[word.len()..];
                let word = if word.starts_with("https://") || word.starts_with("http://") {
                    return LINK_LENGTH + weighed(kind, space);
                } else if kind == P::Mastodon {
                    local_part(word)
                } else {
                    word
                };
                weighed(kind, word) + weighed(kind, space)
            })
            .sum(),
        P::Bluesky => text.graphemes(true).count(),
        _ => text.chars().count(),
    }
}

/// Grapheme clusters, each weighing 1, or on X 1 or 2 by its first
/// character (`twitter-text`'s ranges of weight 100 out of 200).
fn weighed(kind: crate::config::PlatformKind, text: &str) -> usize {
    use unicode_segmentation::UnicodeSegmentation;
    let clusters = text.graphemes(true);
    if kind != crate::config::PlatformKind::X {
        return clusters.count();
    }
    clusters
        .map(|g| match g.chars().next().map(u32::from) {
            Some(0..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037) => 1,
            _ => 2,
        })
        .sum()
}

/// `@user` of a remote mention `@user@server` (Mastodon counts only that);
/// any other word as it is.
fn local_part(word: &str) -> &str {
    let Some(rest) = word.strip_prefix('@') else {
        return word;
    };
    match rest.split_once('@') {
        Some((user, server)) if !user.is_empty() && server.contains('.') => &word[..1 + user.len()],
        _ => word,
    }
}

/// Sends a notification to a staff member.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(
        &self,
        staff: &crate::config::Staff,
        channel: crate::playbook::Channel,
        subject: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<(), AdapterError>;

    /// A digest e-mail (plain text and HTML). Notifiers without e-mail of
    /// their own send the plain text as an ordinary e-mail notification.
    async fn send_digest(
        &self,
        staff: &crate::config::Staff,
        subject: &str,
        text: &str,
        _html: &str,
        idempotency_key: &str,
    ) -> Result<(), AdapterError> {
        self.send(
            staff,
            crate::playbook::Channel::Email,
            subject,
            text,
            idempotency_key,
        )
        .await
    }
}

/// POSTs a rendered body to a webhook URL.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn post(
        &self,
        url: &str,
        body: &str,
        secret_env: Option<&str>,
        idempotency_key: &str,
    ) -> Result<(), AdapterError>;
}

/// The adapters for every configured account, plus notifiers.
#[derive(Clone)]
pub struct Adapters {
    pub platforms: std::collections::BTreeMap<String, std::sync::Arc<dyn Platform>>,
    /// Accounts whose notifications can be read as mentions (Mastodon,
    /// Bluesky), for [`ingest::Ingest`].
    pub sources: std::collections::BTreeMap<String, std::sync::Arc<dyn ingest::MentionSource>>,
    pub notifier: std::sync::Arc<dyn Notifier>,
    pub webhooks: std::sync::Arc<dyn WebhookSender>,
}

/// Why the real adapters could not be built at start-up. Each names the
/// account and the variable, never a value.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConnectError {
    #[error("account `{account}` ({platform}) has no `{field}` credential: add `credentials: {{{field}: SOME_VARIABLE}}` to it and set SOME_VARIABLE in the environment")]
    NoCredential {
        account: String,
        platform: &'static str,
        field: &'static str,
    },
    #[error(
        "environment variable {variable} is not set (credential `{field}` of account `{account}`)"
    )]
    MissingVariable {
        account: String,
        field: String,
        variable: String,
    },
    #[error("environment variable {variable} is not set (webhook secret named in a playbook)")]
    MissingWebhookSecret { variable: String },
    #[error("account `{account}` ({platform}) needs `base_url`: {why}")]
    NoBaseUrl {
        account: String,
        platform: &'static str,
        why: &'static str,
    },
    #[error("account `{account}`: {source}")]
    Client {
        account: String,
        source: AdapterError,
    },
}

/// The credential fields each platform needs, and whether they are optional.
pub fn credential_fields(kind: crate::config::PlatformKind) -> &'static [(&'static str, bool)] {
    use crate::config::PlatformKind as P;
    match kind {
        // An app password; the identifier is the account's handle.
        P::Bluesky => &[("password", true)],
        P::Mastodon | P::Telegram | P::Discord | P::Slack | P::X => &[("token", true)],
        // Signs each call when given.
        P::Statuspage => &[("secret", false)],
        P::Sim => &[],
    }
}

/// Where each platform's API lives when the account gives no `base_url`.
fn default_base(account: &crate::config::Account) -> Result<String, &'static str> {
    use crate::config::PlatformKind as P;
    Ok(match account.platform {
        // `@acme@mastodon.social` → the instance.
        P::Mastodon => match account.handle.trim_start_matches('@').split_once('@') {
            Some((_, host)) if !host.is_empty() => format!("https://{host}"),
            _ => return Err("the handle does not name the instance (`@name@instance`)"),
        },
        P::Bluesky => "https://bsky.social".into(),
        P::Telegram => "https://api.telegram.org".into(),
        P::Discord => "https://discord.com/api/v10".into(),
        P::Slack => "https://slack.com/api".into(),
        P::X => "https://api.x.com".into(),
        P::Statuspage => return Err("the URL the status page receives webhooks on"),
        P::Sim => String::new(),
    })
}

/// Every environment variable the playbooks' `webhook` steps name as their
/// HMAC secret, once each, for [`connect`] to read at start-up.
pub fn webhook_secret_variables(playbooks: &[crate::playbook::Playbook]) -> Vec<String> {
    let mut names: Vec<String> = playbooks
        .iter()
        .flat_map(|p| {
            p.on_open
                .iter()
                .chain(&p.on_state_change)
                .chain(&p.on_resolve)
        })
        .filter_map(|s| match &s.action {
            crate::playbook::Action::Webhook(w) => w.secret_env.clone(),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Builds a real adapter for every configured account (`sim` accounts get
/// simulated ones in `world`) and the webhook sender, reading every secret
/// from the environment now, so that a missing variable stops start-up
/// with its name instead of failing the first pin of a crisis.
///
/// # Errors
/// Every problem at once, each naming the account and variable.
pub fn connect(
    config: &crate::config::Config,
    env: crate::config::EnvLookup<'_>,
    webhook_secrets: &[String],
    notifier: std::sync::Arc<dyn Notifier>,
    timeout: std::time::Duration,
    world: &sim::SimWorld,
) -> Result<Adapters, Vec<ConnectError>> {
    use crate::config::PlatformKind as P;
    use http::Secret;
    use std::sync::Arc;
    let mut errors = Vec::new();
    let mut platforms = std::collections::BTreeMap::new();
    let mut sources = std::collections::BTreeMap::new();
    for a in config.accounts.values() {
        let mut secrets = std::collections::BTreeMap::new();
        for (field, required) in credential_fields(a.platform) {
            match a.credentials.get(*field) {
                Some(variable) => match env(variable) {
                    Some(value) if !value.is_empty() => {
                        secrets.insert(*field, Secret::new(value));
                    }
                    _ => errors.push(ConnectError::MissingVariable {
                        account: a.name.clone(),
                        field: (*field).to_owned(),
                        variable: variable.clone(),
                    }),
                },
                None if *required => errors.push(ConnectError::NoCredential {
                    account: a.name.clone(),
                    platform: a.platform.as_str(),
                    field,
                }),
                None => {}
            }
        }
        let base = match a.base_url.clone().map_or_else(|| default_base(a), Ok) {
            Ok(b) => b,
            Err(why) => {
                errors.push(ConnectError::NoBaseUrl {
                    account: a.name.clone(),
                    platform: a.platform.as_str(),
                    why,
                });
                continue;
            }
        };
        let needed = credential_fields(a.platform)
            .iter()
            .filter(|(_, r)| *r)
            .count();
        if secrets.len() < needed {
            continue;
        }
        let secret = |f: &str| secrets.get(f).cloned().unwrap_or_else(|| Secret::new(""));
        let lang = a.language.clone();
        let built: Result<Arc<dyn Platform>, AdapterError> = match a.platform {
            // Both also read the account's mentions (`sources`).
            P::Mastodon => {
                mastodon::Mastodon::new(&base, secret("token"), lang, timeout).map(|p| {
                    let p = Arc::new(p);
                    sources.insert(a.name.clone(), p.clone() as Arc<dyn ingest::MentionSource>);
                    p as _
                })
            }
            P::Bluesky => {
                bluesky::Bluesky::new(&base, &a.handle, secret("password"), lang, timeout).map(
                    |p| {
                        let p = Arc::new(p);
                        sources.insert(a.name.clone(), p.clone() as Arc<dyn ingest::MentionSource>);
                        p as _
                    },
                )
            }
            P::Telegram => telegram::Telegram::new(&base, &a.handle, secret("token"), timeout)
                .map(|p| Arc::new(p) as _),
            P::Discord => discord::Discord::new(&base, &a.handle, secret("token"), timeout)
                .map(|p| Arc::new(p) as _),
            P::Slack => slack::Slack::new(&base, &a.handle, secret("token"), timeout)
                .map(|p| Arc::new(p) as _),
            P::X => x::X::new(&base, &a.handle, secret("token"), timeout).map(|p| Arc::new(p) as _),
            P::Statuspage => {
                statuspage::StatusPage::new(&base, &a.name, secrets.get("secret").cloned(), timeout)
                    .map(|p| Arc::new(p) as _)
            }
            P::Sim => Ok(Arc::new(sim::SimPlatform::new(&a.name, a.platform, world.clone())) as _),
        };
        match built {
            Ok(p) => {
                platforms.insert(a.name.clone(), p);
            }
            Err(source) => errors.push(ConnectError::Client {
                account: a.name.clone(),
                source,
            }),
        }
    }
    let mut hook_secrets = std::collections::BTreeMap::new();
    for variable in webhook_secrets {
        match env(variable) {
            Some(v) if !v.is_empty() => {
                hook_secrets.insert(variable.clone(), Secret::new(v));
            }
            _ => errors.push(ConnectError::MissingWebhookSecret {
                variable: variable.clone(),
            }),
        }
    }
    let webhooks = statuspage::HttpWebhooks::new(hook_secrets, timeout).map_err(|source| {
        vec![ConnectError::Client {
            account: "webhooks".into(),
            source,
        }]
    })?;
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Adapters {
        platforms,
        sources,
        notifier,
        webhooks: std::sync::Arc::new(webhooks),
    })
}

#[cfg(test)]
mod tests {
    use super::post_length;
    use crate::config::PlatformKind as P;

    #[test]
    fn each_platform_counts_a_post_the_way_it_documents() {
        let ja = "サイトがダウンしています".repeat(12); // 144 characters
        assert_eq!(post_length(P::Mastodon, &ja), 144);
        assert_eq!(post_length(P::Bluesky, &ja), 144);
        assert_eq!(post_length(P::X, &ja), 288, "CJK weighs 2 on X");
        assert_eq!(post_length(P::X, "Acme działa — już."), 18);

        let link = "Status: https://status.acme.example/incidents/2026-12-07-checkout-failures";
        assert_eq!(post_length(P::Mastodon, link), 8 + 23);
        assert_eq!(post_length(P::X, link), 8 + 23);
        assert_eq!(post_length(P::Bluesky, link), link.chars().count());

        // One family emoji is one character to a reader: one cluster.
        let family = "👨\u{200d}👩\u{200d}👧";
        assert_eq!(post_length(P::Bluesky, family), 1);
        assert_eq!(post_length(P::Mastodon, family), 1);
        assert_eq!(post_length(P::X, family), 2);
        assert_eq!(post_length(P::Slack, family), 5);

        assert_eq!(post_length(P::Mastodon, "hi @ana@acme.social !"), 9);
        assert_eq!(post_length(P::X, "hi @ana@acme.social !"), 21);
    }
}
