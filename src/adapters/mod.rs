//! Platforms behind one trait.
//!
//! Every adapter declares what its platform can do ([`Capabilities`]), so that
//! `validate` can warn before a crisis and the engine never asks for the
//! impossible during one. This issue ships [`sim::SimPlatform`]; real
//! adapters slot in behind the same [`Platform`] trait.

pub mod sim;

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
    /// Longest post, in characters (graphemes on Bluesky).
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
    /// Private message to an author.
    async fn direct_message(
        &self,
        author_id: &str,
        text: &str,
        idempotency_key: &str,
    ) -> Result<PostRef, AdapterError>;
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
    pub notifier: std::sync::Arc<dyn Notifier>,
    pub webhooks: std::sync::Arc<dyn WebhookSender>,
}
