//! Mastodon client API (`/api/v1`), as documented at docs.joinmastodon.org.
//!
//! Posts carry an `Idempotency-Key` header (the server keeps it an hour), so
//! a retried post returns the first status instead of a second one. Pinning
//! a pinned status and unpinning an unpinned one both succeed, which is what
//! lets the executor resume a half-done pin. At most 5 statuses can be pinned:
//! the sixth answers 422. Pins are listed newest pin first; this adapter
//! returns them oldest first, as [`Platform::pinned`] promises.

use super::http::{field, url, ApiError, Http, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef};
use crate::config::PlatformKind;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::OnceCell;

pub struct Mastodon {
    http: Http,
    /// Instance root, `https://mastodon.social`.
    base: String,
    token: Secret,
    /// ISO 639-1 code sent with every status, so that readers' language
    /// filters and translation see it right.
    language: Option<String>,
    /// The account's own id (from `verify_credentials`), needed to list pins.
    me: OnceCell<String>,
}

impl Mastodon {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        base: &str,
        token: Secret,
        language: Option<String>,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("mastodon", RateHeaders::Mastodon, timeout)?,
            base: base.to_owned(),
            token,
            language,
            me: OnceCell::new(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut rb = self
            .http
            .client()
            .request(method, url(&self.base, path))
            .bearer_auth(self.token.expose());
        if let Some(key) = key {
            rb = rb.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        self.http.send(rb).await
    }

    async fn me(&self) -> Result<&str, AdapterError> {
        self.me
            .get_or_try_init(|| async {
                let me = self
                    .call(
                        reqwest::Method::GET,
                        "/api/v1/accounts/verify_credentials",
                        None,
                        None,
                    )
                    .await?;
                field(&me, "/id", "mastodon")
            })
            .await
            .map(String::as_str)
    }

    async fn status(&self, mut body: Value, key: &str) -> Result<PostRef, AdapterError> {
        if let (Some(lang), Some(map)) = (&self.language, body.as_object_mut()) {
            map.insert("language".into(), json!(lang));
        }
        let status = self
            .call(
                reqwest::Method::POST,
                "/api/v1/statuses",
                Some(body),
                Some(key),
            )
            .await?;
        post_ref(&status)
    }

    async fn pin_op(&self, post: &PostRef, verb: &str) -> Result<(), AdapterError> {
        let path = format!("/api/v1/statuses/{}/{verb}", post.id);
        match self.call(reqwest::Method::POST, &path, None, None).await {
            Ok(_) => Ok(()),
            // Unpinning a status that is gone leaves it unpinned: done.
            Err(e) if verb == "unpin" && e.status == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn post_ref(status: &Value) -> Result<PostRef, AdapterError> {
    Ok(PostRef {
        id: field(status, "/id", "mastodon")?,
        url: status.get("url").and_then(Value::as_str).map(str::to_owned),
    })
}

#[async_trait]
impl Platform for Mastodon {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::Mastodon)
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.status(json!({"status": text, "visibility": "public"}), key)
            .await
    }

    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError> {
        let path = format!("/api/v1/statuses/{}", post.id);
        let mut body = json!({"status": text});
        if let Some(lang) = &self.language {
            body["language"] = json!(lang);
        }
        self.call(reqwest::Method::PUT, &path, Some(body), None)
            .await?;
        Ok(())
    }

    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        let path = format!(
            "/api/v1/accounts/{}/statuses?pinned=true&limit=40",
            self.me().await?
        );
        let list = self.call(reqwest::Method::GET, &path, None, None).await?;
        let mut pins = list
            .as_array()
            .map(|a| a.iter().map(post_ref).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        pins.reverse(); // newest pin first on the wire; oldest first here
        Ok(pins)
    }

    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.pin_op(post, "pin").await
    }

    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.pin_op(post, "unpin").await
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.status(
            json!({"status": text, "in_reply_to_id": in_reply_to, "visibility": "public"}),
            key,
        )
        .await
    }

    /// A status with visibility `direct` that mentions the author, which is
    /// what a Mastodon private message is.
    async fn direct_message(
        &self,
        author_id: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        let path = format!("/api/v1/accounts/{author_id}");
        let author = self.call(reqwest::Method::GET, &path, None, None).await?;
        let acct = field(&author, "/acct", "mastodon")?;
        self.status(
            json!({"status": format!("@{acct} {text}"), "visibility": "direct"}),
            key,
        )
        .await
    }
}

/// Mentions from `GET /api/v1/notifications?types[]=mention`, newer than the
/// last notification id read (`since_id`), every page of them (`max_id`
/// walks back from the newest) so that a burst larger than a page leaves
/// no gap.
#[async_trait]
impl super::ingest::MentionSource for Mastodon {
    async fn mentions_since(
        &self,
        account: &str,
        cursor: Option<&str>,
    ) -> Result<(Vec<crate::mention::Mention>, Option<String>), AdapterError> {
        const LIMIT: usize = 40;
        let mut read = Vec::new();
        let mut newest: Option<String> = None;
        let mut max_id: Option<String> = None;
        for _ in 0..super::ingest::MAX_PAGES {
            let mut path = format!("/api/v1/notifications?types[]=mention&limit={LIMIT}");
            if let Some(c) = cursor {
                path.push_str(&format!("&since_id={c}"));
            }
            if let Some(m) = &max_id {
                path.push_str(&format!("&max_id={m}"));
            }
            let page = self.call(reqwest::Method::GET, &path, None, None).await?;
            let page = page.as_array().cloned().unwrap_or_default();
            for n in &page {
                let id = field(n, "/id", "mastodon")?;
                newest.get_or_insert_with(|| id.clone());
                max_id = Some(id);
                if n.get("type").and_then(Value::as_str) == Some("mention") {
                    read.push(mention_of(account, n)?);
                }
            }
            if page.len() < LIMIT {
                break;
            }
        }
        read.reverse(); // oldest first
        Ok((read, newest))
    }
}

fn mention_of(account: &str, n: &Value) -> Result<crate::mention::Mention, AdapterError> {
    use super::http::{opt_str, time};
    let status = n.get("status").cloned().unwrap_or(Value::Null);
    let author = n.get("account").cloned().unwrap_or(Value::Null);
    Ok(crate::mention::Mention {
        id: field(&status, "/id", "mastodon")?,
        platform: "mastodon".into(),
        account: account.to_owned(),
        author: crate::mention::Author {
            id: field(&author, "/id", "mastodon")?,
            handle: format!("@{}", field(&author, "/acct", "mastodon")?),
            name: opt_str(&author, "/display_name").filter(|s| !s.is_empty()),
            followers: author.get("followers_count").and_then(Value::as_u64),
            bot: author.get("bot").and_then(Value::as_bool).unwrap_or(false),
        },
        text: super::ingest::html_to_text(&opt_str(&status, "/content").unwrap_or_default()),
        lang: opt_str(&status, "/language"),
        created_at: time(&status, "/created_at", "mastodon")?,
        in_reply_to: opt_str(&status, "/in_reply_to_id"),
        url: opt_str(&status, "/url"),
        direct: opt_str(&status, "/visibility").as_deref() == Some("direct"),
    })
}
