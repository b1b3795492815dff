//! Mentions through NATS JetStream: publishers put mentions (one NDJSON
//! mention per message) on a subject; the cluster consumes them with one
//! durable pull consumer shared by every instance, and acknowledges a
//! message only after its mention is in the input journal. A crash between
//! storing and acknowledging redelivers the message, and the journal stores
//! a mention once per `(platform, id)`: nothing is lost, nothing doubled.
//!
//! With `--nats-http`, the HTTP ingest publishes there too (and answers once
//! JetStream has stored the message), so every mention takes one path.

use crate::mention::Mention;
use crate::store::Store;
use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::watch;

/// Where mentions travel on NATS.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// Server URL (`nats://127.0.0.1:4222`).
    pub url: String,
    /// JetStream stream holding the mentions; created if missing.
    pub stream: String,
    /// Subject mentions are published on.
    pub subject: String,
    /// Durable consumer shared by the cluster's instances.
    pub consumer: String,
    /// HTTP ingest publishes to the stream instead of journaling directly.
    pub publish_http: bool,
}

/// Errors talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("JetStream {what} failed: {detail}")]
    JetStream { what: &'static str, detail: String },
}

fn js(what: &'static str) -> impl FnOnce(String) -> BusError {
    move |detail| BusError::JetStream { what, detail }
}

/// Most messages handled in one store transaction.
const BATCH: usize = 500;
/// How long one fetch waits for messages when the stream is idle.
const FETCH_WAIT: Duration = Duration::from_millis(500);
/// How long JetStream waits for an acknowledgement before redelivering.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// A connection to NATS with the mention stream ensured.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    context: jetstream::Context,
    settings: NatsSettings,
}

impl Bus {
    /// Connects and creates the stream if it does not exist.
    pub async fn connect(settings: NatsSettings) -> Result<Bus, BusError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(settings.url.as_str())
            .await
            .map_err(|e| BusError::Connect {
                url: settings.url.clone(),
                detail: e.to_string(),
            })?;
        let context = jetstream::new(client.clone());
        context
            .get_or_create_stream(jetstream::stream::Config {
                name: settings.stream.clone(),
                subjects: vec![settings.subject.clone()],
                storage: jetstream::stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|e| js("create stream")(e.to_string()))?;
        tracing::info!(stream = %settings.stream, subject = %settings.subject, "NATS JetStream ingest ready");
        Ok(Bus {
            client,
            context,
            settings,
        })
    }

    pub fn settings(&self) -> &NatsSettings {
        &self.settings
    }

    /// Whether the connection to the server is up (for `/readyz`).
    pub fn healthy(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Publishes mentions and waits until JetStream stored each one. The
    /// message id is the mention's `(platform, id)`, so a publisher's retry
    /// inside the stream's duplicate window is stored once.
    pub async fn publish(&self, mentions: &[Mention]) -> Result<(), BusError> {
        let mut acks = Vec::with_capacity(mentions.len());
        for m in mentions {
            let body = serde_json::to_vec(m).map_err(|e| js("encode")(e.to_string()))?;
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("{}/{}", m.platform, m.id).as_str());
            let ack = self
                .context
                .publish_with_headers(self.settings.subject.clone(), headers, body.into())
                .await
                .map_err(|e| js("publish")(e.to_string()))?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await
                .map_err(|e| js("publish acknowledgement")(e.to_string()))?;
        }
        Ok(())
    }

    /// Consumes the stream into the journal until `shutdown` is set: fetch a
    /// batch, journal its mentions in one transaction, then acknowledge.
    /// Messages that are not a mention are terminated (never redelivered)
    /// and counted; a store failure acknowledges nothing, so the batch is
    /// delivered again after [`ACK_WAIT`].
    pub async fn consume(
        self,
        store: Store,
        accounts: BTreeSet<String>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), BusError> {
        let stream = self
            .context
            .get_stream(&self.settings.stream)
            .await
            .map_err(|e| js("open stream")(e.to_string()))?;
        let consumer: jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                &self.settings.consumer,
                pull::Config {
                    durable_name: Some(self.settings.consumer.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| js("create consumer")(e.to_string()))?;
        while !*shutdown.borrow() {
            let fetched = consumer
                .fetch()
                .max_messages(BATCH)
                .expires(FETCH_WAIT)
                .messages()
                .await;
            let mut batch = match fetched {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %crate::diagnostics::chain(&e), "NATS fetch failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            };
            let mut messages = Vec::new();
            while let Some(m) = batch.next().await {
                match m {
                    Ok(m) => messages.push(m),
                    Err(e) => {
                        tracing::warn!(error = %crate::diagnostics::chain(&*e), "NATS message not received")
                    }
                }
            }
            if messages.is_empty() {
                continue;
            }
            let mut mentions = Vec::new();
            let mut good = Vec::new();
            for msg in messages {
                match parse(&msg.payload, &accounts) {
                    Ok(m) => {
                        mentions.push(m);
                        good.push(msg);
                    }
                    Err(reason) => {
                        metrics::counter!("squall_mentions_rejected_total").increment(1);
                        tracing::warn!(%reason, "NATS message is not a mention; terminated");
                        let _ = msg.ack_with(AckKind::Term).await;
                    }
                }
            }
            if mentions.is_empty() {
                continue;
            }
            match store.journal_mentions(&mentions, chrono::Utc::now()).await {
                Ok(new) => {
                    let accepted = new.iter().filter(|n| **n).count() as u64;
                    metrics::counter!("squall_mentions_ingested_total").increment(accepted);
                    metrics::counter!("squall_mentions_duplicate_total")
                        .increment(new.len() as u64 - accepted);
                    for msg in good {
                        if let Err(e) = msg.ack().await {
                            // Redelivered later; the journal stores it once.
                            tracing::warn!(error = %crate::diagnostics::chain(&*e), "NATS acknowledgement lost");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %crate::diagnostics::chain(&e), "mentions from NATS not stored; they will be redelivered");
                    for msg in good {
                        let _ = msg
                            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                            .await;
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse(payload: &[u8], accounts: &BTreeSet<String>) -> Result<Mention, String> {
    let text = std::str::from_utf8(payload).map_err(|_| "not UTF-8".to_owned())?;
    let m = crate::mention::parse_ndjson_line(text.trim()).map_err(|e| e.to_string())?;
    crate::mention::check_account(&m.account, accounts)?;
    Ok(m)
}
