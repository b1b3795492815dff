//! Mention ingest from the platforms themselves (`squall serve --live`):
//! one task per account whose notifications can be read (Mastodon,
//! Bluesky), polling past a cursor kept in the store.
//!
//! Each poll hands its new mentions to the engine task exactly like
//! `POST /v1/mentions` does, and moves the cursor only once the engine has
//! stored them, so a crash between the two reads the batch again and the
//! store's uniqueness leaves out what was already taken: no gap, no
//! duplicate.

use super::driver::{EngineHandle, Job};
use crate::adapters::ingest::Ingest;
use crate::store::Store;
use std::time::Duration;
use tokio::sync::watch;

/// Longest wait after a failed poll (platform down, rate limited).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Polls `ingest` every `every` until shutdown.
pub async fn run(
    ingest: Ingest,
    store: Store,
    engine: EngineHandle,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = match poll_once(&ingest, &store, &engine).await {
            Ok(taken) => {
                if taken > 0 {
                    tracing::info!(source = %ingest.key(), mentions = taken, "mentions read from the platform");
                }
                every
            }
            Err(error) => {
                // Back off up to MAX_BACKOFF, never below the polling period.
                let next = (wait * 2).clamp(every, MAX_BACKOFF.max(every));
                tracing::warn!(source = %ingest.key(), %error, retry_in = ?next, "polling mentions failed");
                next
            }
        };
    }
}

/// One poll: read, hand to the engine, then move the cursor.
async fn poll_once(ingest: &Ingest, store: &Store, engine: &EngineHandle) -> anyhow::Result<usize> {
    let batch = ingest.poll(store).await?;
    let taken = batch.mentions.len();
    if taken > 0 {
        let mentions = batch.mentions.clone();
        engine
            .call(|reply| Job::Mentions(mentions, reply))
            .await
            .map_err(|e| anyhow::anyhow!("the engine did not take the mentions: {e:?}"))?;
    }
    ingest.commit(store, &batch, chrono::Utc::now()).await?;
    Ok(taken)
}
