//! X, through API v2 with an OAuth 2.0 user-context token.
//!
//! Post (`POST /2/tweets`), reply (`reply.in_reply_to_tweet_id`) and direct
//! message (`POST /2/dm_conversations/with/{participant_id}/messages`).
//! The API has no pin and no edit endpoint: the capabilities say so,
//! `validate` warns when a playbook asks to pin here, and the calls answer
//! `Unsupported`. Budgets come in `x-rate-limit-*` headers. The API takes no
//! idempotency key: see [`Posted`].

use super::http::{field, url, Http, Posted, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef};
use crate::config::PlatformKind;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;

pub struct X {
    http: Http,
    base: String,
    token: Secret,
    handle: String,
    posted: Posted,
}

impl X {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        base: &str,
        handle: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("x", RateHeaders::X, timeout)?,
            base: base.to_owned(),
            token,
            handle: handle.trim_start_matches('@').to_owned(),
            posted: Posted::default(),
        })
    }

    async fn create(
        &self,
        path: &str,
        body: Value,
        key: &str,
        id: &str,
    ) -> Result<PostRef, AdapterError> {
        self.posted
            .once(key, async {
                let rb = self
                    .http
                    .client()
                    .post(url(&self.base, path))
                    .bearer_auth(self.token.expose())
                    .json(&body);
                let made = self.http.send(rb).await?;
                let id = field(&made, id, "x")?;
                let url = (path == "/2/tweets")
                    .then(|| format!("https://x.com/{}/status/{id}", self.handle));
                Ok(PostRef { id, url })
            })
            .await
    }
}

#[async_trait]
impl Platform for X {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::X)
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.create("/2/tweets", json!({"text": text}), key, "/data/id")
            .await
    }

    async fn edit(&self, _post: &PostRef, _text: &str) -> Result<(), AdapterError> {
        Err(AdapterError::Unsupported("editing posts"))
    }

    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        Ok(Vec::new())
    }

    async fn pin(&self, _post: &PostRef) -> Result<(), AdapterError> {
        Err(AdapterError::Unsupported("pinning"))
    }

    async fn unpin(&self, _post: &PostRef) -> Result<(), AdapterError> {
        Err(AdapterError::Unsupported("pinning"))
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.create(
            "/2/tweets",
            json!({"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to}}),
            key,
            "/data/id",
        )
        .await
    }

    async fn direct_message(
        &self,
        author_id: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.create(
            &format!("/2/dm_conversations/with/{author_id}/messages"),
            json!({"text": text}),
            key,
            "/data/dm_event_id",
        )
        .await
    }
}
