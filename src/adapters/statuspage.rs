//! Status pages and webhooks: a JSON POST to any URL (Cachet, Statuspage or
//! home-grown), signed with HMAC-SHA256 when a secret is configured.
//!
//! Two users: [`StatusPage`], an account of platform `statuspage` that
//! receives the incident's status text as it is posted and edited, and
//! [`HttpWebhooks`], the real sender behind a playbook's `webhook` step
//! (whose body the playbook's template renders). Both send
//! `X-Squall-Signature: sha256=<hex HMAC of the body>` and an
//! `Idempotency-Key` header, so the receiver can check where a call came
//! from and drop a repeat.

use super::http::{url, Http, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef, WebhookSender};
use crate::config::PlatformKind;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Squall-Signature";

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_json(
    http: &Http,
    to: &str,
    body: &str,
    secret: Option<&Secret>,
    key: &str,
) -> Result<(), AdapterError> {
    let mut rb = http
        .client()
        .post(to)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", key)
        .body(body.to_owned());
    if let Some(s) = secret {
        rb = rb.header(SIGNATURE_HEADER, sign(s, body.as_bytes()));
    }
    http.send(rb).await?;
    Ok(())
}

/// A status page fed by webhook: `{"event": "status.posted" | "status.updated",
/// "id", "account", "text", "idempotency_key"}`.
pub struct StatusPage {
    http: Http,
    url: String,
    account: String,
    secret: Option<Secret>,
}

impl StatusPage {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        to: &str,
        account: &str,
        secret: Option<Secret>,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("statuspage", RateHeaders::RetryAfterOnly, timeout)?,
            url: url(to, ""),
            account: account.to_owned(),
            secret,
        })
    }

    async fn send(&self, event: &str, id: &str, text: &str, key: &str) -> Result<(), AdapterError> {
        let body = json!({"event": event, "id": id, "account": self.account, "text": text, "idempotency_key": key});
        post_json(
            &self.http,
            &self.url,
            &body.to_string(),
            self.secret.as_ref(),
            key,
        )
        .await
    }
}

#[async_trait]
impl Platform for StatusPage {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::Statuspage)
    }

    /// The post's id is its idempotency key: the page updates that entry.
    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.send("status.posted", key, text, key).await?;
        Ok(PostRef {
            id: key.to_owned(),
            url: None,
        })
    }

    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError> {
        use sha2::Digest;
        let key = format!(
            "{}/edit/{}",
            post.id,
            &hex::encode(sha2::Sha256::digest(text.as_bytes()))[..16]
        );
        self.send("status.updated", &post.id, text, &key).await
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

    async fn reply(&self, _to: &str, _text: &str, _key: &str) -> Result<PostRef, AdapterError> {
        Err(AdapterError::Unsupported("replies"))
    }
}

/// The real sender of a playbook's `webhook` steps. Secrets are read once,
/// at start-up, for every variable the playbooks name.
pub struct HttpWebhooks {
    http: Http,
    secrets: BTreeMap<String, Secret>,
}

impl HttpWebhooks {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(secrets: BTreeMap<String, Secret>, timeout: Duration) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("webhook", RateHeaders::RetryAfterOnly, timeout)?,
            secrets,
        })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhooks {
    async fn post(
        &self,
        to: &str,
        body: &str,
        secret_env: Option<&str>,
        key: &str,
    ) -> Result<(), AdapterError> {
        let secret = match secret_env {
            Some(name) => Some(self.secrets.get(name).ok_or_else(|| {
                AdapterError::Rejected(format!(
                    "the webhook secret variable {name} was not loaded at start-up"
                ))
            })?),
            None => None,
        };
        post_json(&self.http, to, body, secret, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_rfc_4231_hmac_of_the_body() {
        // RFC 4231 test case 2.
        let s = Secret::new("Jefe");
        assert_eq!(
            sign(&s, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
