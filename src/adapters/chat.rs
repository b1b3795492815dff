//! Chat notifications to staff: a Slack-compatible incoming webhook or a
//! Matrix room (`notify.chat`).
//!
//! Slack-compatible: `POST {url}` with `{"text": ...}`; the URL itself is the
//! secret, read from the variable `url_env` names. The answer is `200 ok`,
//! a 4xx with a plain-text reason (`invalid_payload`, `no_text`), or 429
//! with `Retry-After`. Incoming webhooks take no idempotency key, so a
//! message whose answer was lost can repeat after a retry.
//!
//! Matrix: `PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}`
//! with a bearer token from `token_env`. The transaction id is derived from
//! the outbox key, so the homeserver itself recognises a retry as the same
//! event. Errors are `{"errcode", "error", "retry_after_ms"}`.
//!
//! Both answers are mapped by [`super::http`] like every platform's, so a
//! 429 or a 5xx is retried through the outbox and a refusal is reported.
//! E-mail is not chat: it goes to the notifier this one wraps.

use super::http::{url, Http, RateHeaders, Secret};
use super::{AdapterError, Notifier};
use crate::config::{ChatConfig, EnvLookup, Staff};
use crate::engine::escape_html;
use crate::playbook::Channel;
use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Why chat could not be set up at start-up: names, never values.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ChatSetupError {
    #[error("environment variable {0} (named by notify.chat) is not set")]
    MissingVariable(String),
    #[error("notify.chat: {0}")]
    Client(AdapterError),
}

/// Where messages go, with the secret each format needs.
enum Target {
    Slack {
        webhook: Secret,
    },
    Matrix {
        homeserver: String,
        room: String,
        token: Secret,
    },
}

/// Sends `via: chat` notifications; other channels go to `email`.
pub struct ChatNotifier {
    http: Http,
    target: Target,
    email: Arc<dyn Notifier>,
}

impl ChatNotifier {
    /// Reads the secret now, so that an unset variable stops start-up.
    ///
    /// # Errors
    /// The unset variable by name, or an HTTP client that cannot be built.
    pub fn new(
        cfg: &ChatConfig,
        env: EnvLookup<'_>,
        email: Arc<dyn Notifier>,
        timeout: Duration,
    ) -> Result<Self, ChatSetupError> {
        let read = |name: &String| {
            env(name)
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .ok_or_else(|| ChatSetupError::MissingVariable(name.clone()))
        };
        let (platform, target) = match cfg {
            ChatConfig::Slack { url_env } => (
                "chat (slack)",
                Target::Slack {
                    webhook: read(url_env)?,
                },
            ),
            ChatConfig::Matrix {
                homeserver,
                room,
                token_env,
            } => (
                "chat (matrix)",
                Target::Matrix {
                    homeserver: homeserver.clone(),
                    room: room.clone(),
                    token: read(token_env)?,
                },
            ),
        };
        Ok(Self {
            http: Http::new(platform, RateHeaders::RetryAfterOnly, timeout)
                .map_err(ChatSetupError::Client)?,
            target,
            email,
        })
    }

    async fn chat(
        &self,
        staff: &Staff,
        subject: &str,
        text: &str,
        key: &str,
    ) -> Result<(), AdapterError> {
        let client = self.http.client();
        let request = match &self.target {
            Target::Slack { webhook } => client
                .post(webhook.expose())
                .json(&json!({ "text": slack_text(staff, subject, text) })),
            Target::Matrix {
                homeserver,
                room,
                token,
            } => {
                let path = format!(
                    "/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
                    percent_encode(room),
                    txn_id(key)
                );
                client
                    .put(url(homeserver, &path))
                    .bearer_auth(token.expose())
                    .json(&matrix_content(staff, subject, text))
            }
        };
        self.http.send(request).await?;
        Ok(())
    }
}

/// The first line names who the message is for; Slack reads `<`, `>` and
/// `&` as markup (`<!channel>` pings everyone), so customer words are escaped.
pub fn slack_text(staff: &Staff, subject: &str, text: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "@{} ({})\n*{}*\n{}",
        esc(&staff.id),
        esc(&staff.name),
        esc(subject),
        esc(text)
    )
}

/// An `m.room.message` addressed by display name, with an HTML body in
/// which every word from outside is escaped.
pub fn matrix_content(staff: &Staff, subject: &str, text: &str) -> serde_json::Value {
    json!({
        "msgtype": "m.text",
        "body": format!("{}: {subject}\n{text}", staff.name),
        "format": "org.matrix.custom.html",
        "formatted_body": format!(
            "<p><strong>{}</strong>: {}</p><p>{}</p>",
            escape_html(&staff.name),
            escape_html(subject),
            escape_html(text).replace('\n', "<br>")
        ),
    })
}

/// One transaction id per outbox key: a retry is the same Matrix event.
pub fn txn_id(key: &str) -> String {
    use sha2::Digest;
    format!(
        "squall-{}",
        &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..32]
    )
}

/// Room ids carry `!` and `:`, which go into the path escaped.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait]
impl Notifier for ChatNotifier {
    async fn send(
        &self,
        staff: &Staff,
        channel: Channel,
        subject: &str,
        text: &str,
        key: &str,
    ) -> Result<(), AdapterError> {
        match channel {
            Channel::Chat => self.chat(staff, subject, text, key).await,
            Channel::Email => self.email.send(staff, channel, subject, text, key).await,
        }
    }

    async fn send_digest(
        &self,
        staff: &Staff,
        subject: &str,
        text: &str,
        html: &str,
        key: &str,
    ) -> Result<(), AdapterError> {
        self.email
            .send_digest(staff, subject, text, html, key)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_id_is_one_path_segment() {
        assert_eq!(percent_encode("!AbC:acme.example"), "%21AbC%3Aacme.example");
    }

    #[test]
    fn the_same_key_is_the_same_transaction() {
        assert_eq!(txn_id("k/1"), txn_id("k/1"));
        assert_ne!(txn_id("k/1"), txn_id("k/2"));
    }
}
