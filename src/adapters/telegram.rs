//! A Telegram channel, through the Bot API (`https://api.telegram.org/bot<token>/<method>`).
//!
//! For status broadcast to a community or staff channel: `sendMessage`,
//! `editMessageText`, `pinChatMessage`, `unpinChatMessage`. Every answer is
//! `{"ok": ..., "result" | "description", "error_code"}`; a 429 says how long
//! to wait in `parameters.retry_after`. The token is part of the URL path, so
//! URLs are never logged (transport errors are reported without them).
//! The Bot API takes no idempotency key: see [`Posted`].

use super::http::{field, url, ApiError, Http, Posted, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef};
use crate::config::PlatformKind;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;

pub struct Telegram {
    http: Http,
    base: String,
    token: Secret,
    /// `@channelusername` or the numeric chat id.
    chat: String,
    posted: Posted,
}

impl Telegram {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        base: &str,
        chat: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("telegram", RateHeaders::RetryAfterOnly, timeout)?,
            base: base.to_owned(),
            token,
            chat: chat.to_owned(),
            posted: Posted::default(),
        })
    }

    async fn call(&self, method: &str, mut body: Value) -> Result<Value, ApiError> {
        body["chat_id"] = json!(self.chat);
        let u = url(&self.base, &format!("/bot{}/{method}", self.token.expose()));
        let answer = self
            .http
            .send(self.http.client().post(u).json(&body))
            .await?;
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    async fn send(&self, body: Value, key: &str) -> Result<PostRef, AdapterError> {
        self.posted
            .once(key, async {
                let m = self.call("sendMessage", body).await?;
                Ok(PostRef {
                    id: field(&m, "/message_id", "telegram")?,
                    url: None,
                })
            })
            .await
    }
}

fn message_id(post: &PostRef) -> Value {
    post.id
        .parse::<i64>()
        .map_or_else(|_| json!(post.id), |n| json!(n))
}

#[async_trait]
impl Platform for Telegram {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::Telegram)
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.send(json!({"text": text}), key).await
    }

    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError> {
        match self
            .call(
                "editMessageText",
                json!({"message_id": message_id(post), "text": text}),
            )
            .await
        {
            Ok(_) => Ok(()),
            // A retried edit finds the text already there.
            Err(e)
                if e.status == Some(400)
                    && e.error.to_string().contains("message is not modified") =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The Bot API shows only the latest pinned message (`getChat`).
    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        let chat = self.call("getChat", json!({})).await?;
        Ok(chat
            .pointer("/pinned_message/message_id")
            .map(|id| PostRef {
                id: id.to_string(),
                url: None,
            })
            .into_iter()
            .collect())
    }

    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.call(
            "pinChatMessage",
            json!({"message_id": message_id(post), "disable_notification": true}),
        )
        .await?;
        Ok(())
    }

    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.call("unpinChatMessage", json!({"message_id": message_id(post)}))
            .await?;
        Ok(())
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        let parent = PostRef {
            id: in_reply_to.to_owned(),
            url: None,
        };
        self.send(
            json!({"text": text, "reply_parameters": {"message_id": message_id(&parent)}}),
            key,
        )
        .await
    }
}
