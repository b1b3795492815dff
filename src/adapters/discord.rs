//! A Discord channel, through the HTTP API v10 with a bot token.
//!
//! `POST /channels/{id}/messages` (with a `nonce` and `enforce_nonce`, so
//! that Discord itself drops a repeated post), `PATCH` to edit, and the pin
//! endpoints `GET /channels/{id}/messages/pins`, `PUT` and `DELETE
//! /channels/{id}/messages/pins/{message}`. Budgets come in
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset-After`; a 429 body has
//! `retry_after` in seconds.

use super::http::{field, url, ApiError, Http, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef};
use crate::config::PlatformKind;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

pub struct Discord {
    http: Http,
    base: String,
    token: Secret,
    channel: String,
}

impl Discord {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        base: &str,
        channel: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("discord", RateHeaders::Discord, timeout)?,
            base: base.to_owned(),
            token,
            channel: channel.to_owned(),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let u = url(&self.base, &format!("/channels/{}{path}", self.channel));
        let mut rb = self
            .http
            .client()
            .request(method, u)
            .header("Authorization", format!("Bot {}", self.token.expose()));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.http.send(rb).await
    }

    async fn send(&self, mut body: Value, key: &str) -> Result<PostRef, AdapterError> {
        body["nonce"] = json!(nonce(key));
        body["enforce_nonce"] = json!(true);
        let m = self.call(Method::POST, "/messages", Some(body)).await?;
        Ok(PostRef {
            id: field(&m, "/id", "discord")?,
            url: None,
        })
    }
}

/// Discord nonces are at most 25 characters: a hash of the key.
fn nonce(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))[..25].to_owned()
}

#[async_trait]
impl Platform for Discord {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::Discord)
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.send(json!({"content": text}), key).await
    }

    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError> {
        self.call(
            Method::PATCH,
            &format!("/messages/{}", post.id),
            Some(json!({"content": text})),
        )
        .await?;
        Ok(())
    }

    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        let page = self
            .call(Method::GET, "/messages/pins?limit=50", None)
            .await?;
        let mut pins = page
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|i| {
                Ok(PostRef {
                    id: field(i, "/message/id", "discord")?,
                    url: None,
                })
            })
            .collect::<Result<Vec<_>, AdapterError>>()?;
        pins.reverse(); // newest first on the wire
        Ok(pins)
    }

    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.call(Method::PUT, &format!("/messages/pins/{}", post.id), None)
            .await?;
        Ok(())
    }

    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError> {
        match self
            .call(Method::DELETE, &format!("/messages/pins/{}", post.id), None)
            .await
        {
            Err(e) if e.status == Some(404) => Ok(()), // not pinned (any more)
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.send(
            json!({"content": text, "message_reference": {"message_id": in_reply_to, "fail_if_not_exists": false}}),
            key,
        )
        .await
    }
}
