//! A Slack channel, through the Web API with a bot token.
//!
//! `chat.postMessage`, `chat.update`, `pins.list`, `pins.add`,
//! `pins.remove`. Slack answers most failures with HTTP 200 and
//! `{"ok": false, "error": "channel_not_found"}`, so the `ok` flag is
//! checked on every answer; a 429 carries `Retry-After`. A message's id is
//! its `ts`. The Web API takes no idempotency key: see [`Posted`].

use super::http::{field, url, ApiError, Http, Posted, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef};
use crate::config::PlatformKind;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;

pub struct Slack {
    http: Http,
    base: String,
    token: Secret,
    channel: String,
    posted: Posted,
}

impl Slack {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        base: &str,
        channel: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("slack", RateHeaders::RetryAfterOnly, timeout)?,
            base: base.to_owned(),
            token,
            channel: channel.to_owned(),
            posted: Posted::default(),
        })
    }

    /// Calls a Web API method; `ok: false` becomes an error, except the
    /// codes in `fine` (an already-done pin or unpin).
    async fn call(
        &self,
        method: &str,
        mut body: Value,
        fine: &[&str],
    ) -> Result<Value, AdapterError> {
        body["channel"] = json!(self.channel);
        let rb = self
            .http
            .client()
            .post(url(&self.base, &format!("/{method}")))
            .bearer_auth(self.token.expose())
            .json(&body);
        let answer = self.http.send(rb).await.map_err(|e: ApiError| e.error)?;
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(answer);
        }
        let code = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error");
        if fine.contains(&code) {
            return Ok(answer);
        }
        let message = format!("slack: {method}: {code}");
        Err(match code {
            "not_authed" | "invalid_auth" | "account_inactive" | "token_revoked"
            | "token_expired" | "missing_scope" | "not_in_channel" => {
                AdapterError::Unauthorized(message)
            }
            "ratelimited" => AdapterError::RateLimited {
                retry_after_secs: 60,
            },
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                AdapterError::Transient(message)
            }
            _ => AdapterError::Rejected(message),
        })
    }

    async fn send(&self, body: Value, key: &str) -> Result<PostRef, AdapterError> {
        self.posted
            .once(key, async {
                let m = self.call("chat.postMessage", body, &[]).await?;
                Ok(PostRef {
                    id: field(&m, "/ts", "slack")?,
                    url: None,
                })
            })
            .await
    }
}

#[async_trait]
impl Platform for Slack {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::Slack)
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.send(json!({"text": text}), key).await
    }

    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError> {
        self.call("chat.update", json!({"ts": post.id, "text": text}), &[])
            .await?;
        Ok(())
    }

    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        let list = self.call("pins.list", json!({}), &[]).await?;
        let mut items: Vec<(i64, PostRef)> = list
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|i| {
                let ts = i.pointer("/message/ts")?.as_str()?;
                let created = i.get("created").and_then(Value::as_i64).unwrap_or(0);
                Some((
                    created,
                    PostRef {
                        id: ts.to_owned(),
                        url: None,
                    },
                ))
            })
            .collect();
        items.sort_by_key(|(created, _)| *created);
        Ok(items.into_iter().map(|(_, p)| p).collect())
    }

    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.call(
            "pins.add",
            json!({"timestamp": post.id}),
            &["already_pinned"],
        )
        .await?;
        Ok(())
    }

    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.call(
            "pins.remove",
            json!({"timestamp": post.id}),
            &["no_pin", "message_not_found"],
        )
        .await?;
        Ok(())
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.send(json!({"text": text, "thread_ts": in_reply_to}), key)
            .await
    }
}
