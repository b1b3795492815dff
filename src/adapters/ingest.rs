//! Ingest: a platform's notifications become squall mentions.
//!
//! Each connector reads what is new since its cursor (Mastodon: notification
//! ids via `since_id`; Bluesky: the newest `indexedAt` seen, reading
//! `listNotifications` pages back to it). The cursor lives in the store and
//! moves only after the mentions it covers are stored ([`Ingest::commit`]),
//! and a mention already stored is never handed out again
//! ([`Ingest::poll`]): a restart at any point leaves no gap and no duplicate.

use super::AdapterError;
use crate::clock::Timestamp;
use crate::mention::Mention;
use crate::store::{Store, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// Most pages read in one poll; the rest waits for the next poll (the
/// cursor only moves past what was read).
pub const MAX_PAGES: usize = 10;

/// A platform that can list the mentions of one account.
#[async_trait]
pub trait MentionSource: Send + Sync {
    /// Mentions newer than `cursor`, oldest first, and the cursor to keep
    /// once they are stored (`None`: nothing new, keep the old one).
    ///
    /// # Errors
    /// The platform's failure, as for any adapter call.
    async fn mentions_since(
        &self,
        account: &str,
        cursor: Option<&str>,
    ) -> Result<(Vec<Mention>, Option<String>), AdapterError>;
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// New mentions from one poll, and where the next poll starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Not seen before, oldest first.
    pub mentions: Vec<Mention>,
    cursor: Option<String>,
}

/// The connector of one account.
pub struct Ingest {
    source: Arc<dyn MentionSource>,
    account: String,
    platform: &'static str,
}

impl Ingest {
    pub fn new(
        source: Arc<dyn MentionSource>,
        account: &str,
        platform: crate::config::PlatformKind,
    ) -> Self {
        Self {
            source,
            account: account.to_owned(),
            platform: platform.as_str(),
        }
    }

    /// The cursor's key in the store: `mastodon/acme-main`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.platform, self.account)
    }

    /// Reads what is new since the stored cursor. Mentions already stored
    /// (read before a restart that came before the cursor moved) are left out.
    ///
    /// # Errors
    /// The platform's or the store's failure; nothing moves.
    pub async fn poll(&self, store: &Store) -> Result<Batch, IngestError> {
        let cursor = store.ingest_cursor(&self.key()).await?;
        let (read, next) = self
            .source
            .mentions_since(&self.account, cursor.as_deref())
            .await?;
        let mut mentions = Vec::with_capacity(read.len());
        for m in read {
            if !store.mention_known(&m.platform, &m.id).await? {
                mentions.push(m);
            }
        }
        Ok(Batch {
            mentions,
            cursor: next,
        })
    }

    /// Moves the cursor past `batch`. Call it once every mention of the
    /// batch is stored (the runtime stores each before deciding on it).
    ///
    /// # Errors
    /// The store's failure; the next poll then reads the batch again and
    /// leaves out what was stored.
    pub async fn commit(
        &self,
        store: &Store,
        batch: &Batch,
        now: Timestamp,
    ) -> Result<(), IngestError> {
        if let Some(c) = &batch.cursor {
            store.save_ingest_cursor(&self.key(), c, now).await?;
        }
        Ok(())
    }
}

/// Plain text of a Mastodon status's HTML `content`.
pub fn html_to_text(html: &str) -> String {
    let spaced = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p><p>", "\n\n");
    let mut out = String::with_capacity(spaced.len());
    let mut in_tag = false;
    for c in spaced.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_html_becomes_the_text_people_wrote() {
        let html = r#"<p><span class="h-card"><a href="https://m.example/@acme" class="u-url mention">@<span>acme</span></a></span> is the site down? &amp; why &lt;now&gt;</p><p>second<br />line</p>"#;
        assert_eq!(
            super::html_to_text(html),
            "@acme is the site down? & why <now>\n\nsecond\nline"
        );
    }
}
