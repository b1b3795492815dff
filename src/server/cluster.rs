//! `squall serve` as one instance of a cluster on Postgres (the store URL is
//! `postgres://...`). See [`crate::cluster`] for the design.
//!
//! - [`Ingress`]: what a handler's [`super::driver::Job`] becomes here. A
//!   mention is journaled (or published to NATS) and answered at once; an
//!   alert or a command is journaled, then the handler waits until the
//!   engine leader (whichever instance it is) recorded its answer.
//! - [`lead`]: every instance runs it. It tries for the leadership; once it
//!   holds it, it rebuilds the engine from the journal and follows the
//!   journal, applying every entry in `seq` order and journaling ticks when
//!   timers are due. It steps down (and tries again) when its lock session
//!   dies or a batch is fenced.

use super::driver::{Job, Read};
use crate::cluster::nats::Bus;
use crate::cluster::views::{Question, View, Views};
use crate::cluster::{Journal, Leadership, LEADER_POLL};
use crate::engine::events::{Event, EventKind};
use crate::engine::Engine;
use crate::runtime::{Runtime, RuntimeError};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Longest a request waits for the engine leader's answer (a take-over
/// included) before it is answered 500.
const PATIENCE: Duration = Duration::from_secs(30);

/// Longest a read of the engine's memory waits for the leader; beyond it
/// the request is answered 503 (a take-over is under way).
const VIEW_PATIENCE: Duration = Duration::from_secs(5);

/// How often the leader looks for views asked by other instances.
const VIEWS_POLL: Duration = Duration::from_millis(20);

/// Journal entries applied per read while following.
const FOLLOW_BATCH: i64 = 512;

/// How often the leader looks for new journal entries when idle.
const FOLLOW_POLL: Duration = Duration::from_millis(5);

/// How handlers' jobs reach the shared journal.
pub struct Ingress {
    pub store: Store,
    pub journal: Journal,
    pub views: Views,
    pub bus: Option<Bus>,
}

impl Ingress {
    /// Carries out one job and sends its reply.
    pub async fn run(&self, job: Job) {
        let now = chrono::Utc::now();
        match job {
            Job::Mentions(ms, reply) => {
                let out = match &self.bus {
                    Some(bus) if bus.settings().publish_http => bus
                        .publish(&ms)
                        .await
                        .map(|()| vec![true; ms.len()])
                        .map_err(RuntimeError::from),
                    _ => self
                        .store
                        .journal_mentions(&ms, now)
                        .await
                        .map_err(RuntimeError::from),
                };
                if let Ok(new) = &out {
                    let accepted = new.iter().filter(|n| **n).count() as u64;
                    metrics::counter!("squall_mentions_ingested_total").increment(accepted);
                    metrics::counter!("squall_mentions_duplicate_total")
                        .increment(new.len() as u64 - accepted);
                }
                let _ = reply.send(out);
            }
            Job::Alerts(alerts, reply) => {
                let mut all = Vec::new();
                let mut failed = None;
                for a in alerts {
                    let payload = serde_json::to_value(&a).unwrap_or_default();
                    match self.ask(now, "alert", &payload).await {
                        Ok(evs) => all.extend(evs),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let _ = reply.send(failed.map_or(Ok(all), Err));
            }
            Job::Command(c, reply) => {
                let payload = serde_json::to_value(&c).unwrap_or_default();
                let _ = reply.send(self.ask(now, "command", &payload).await);
            }
            Job::OffHours(reply) => {
                let _ = reply.send(self.view(View::OffHours, None, now).await);
            }
            Job::Read(Read::Rates(reply)) => {
                let _ = reply.send(self.view(View::Rates, None, now).await);
            }
            Job::Read(Read::StatusPreviews(id, reply)) => {
                let _ = reply.send(self.view(View::StatusPreviews, Some(&id), now).await);
            }
        }
    }

    /// Asks the engine leader for a view of its engine's memory.
    async fn view<T: serde::de::DeserializeOwned>(
        &self,
        view: View,
        arg: Option<&str>,
        now: crate::clock::Timestamp,
    ) -> Result<T, RuntimeError> {
        Ok(self.views.ask(view, arg, now, VIEW_PATIENCE).await?)
    }

    async fn ask(
        &self,
        now: crate::clock::Timestamp,
        kind: &'static str,
        payload: &serde_json::Value,
    ) -> Result<Vec<Event>, RuntimeError> {
        let seq = self.store.journal(now, kind, payload).await?;
        Ok(self.journal.wait_answer(seq, PATIENCE).await?)
    }
}

/// What an instance needs to build an engine leader's runtime.
pub struct Candidate {
    pub instance: String,
    pub store: Store,
    pub journal: Journal,
    pub views: Views,
    pub make_engine: Arc<dyn Fn(crate::clock::Timestamp) -> Engine + Send + Sync>,
}

/// Tries for the leadership until shutdown; leads while it holds it.
pub async fn lead(candidate: Candidate, mut shutdown: watch::Receiver<bool>) {
    let Some(pool) = candidate.store.postgres_pool().cloned() else {
        tracing::error!("cluster mode needs a Postgres store");
        return;
    };
    while !*shutdown.borrow() {
        match Leadership::try_acquire(&pool, &candidate.instance, chrono::Utc::now()).await {
            Ok(Some(leadership)) => {
                let started = std::time::Instant::now();
                match term(&candidate, leadership, started, &mut shutdown).await {
                    Ok(()) => tracing::info!("engine leadership given up at shutdown"),
                    Err(e) => {
                        tracing::error!(error = %crate::diagnostics::chain(&e), "engine leadership lost; following again")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %crate::diagnostics::chain(&e), "cannot try for the engine leadership")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(LEADER_POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One term as engine leader.
async fn term(
    c: &Candidate,
    mut leadership: Leadership,
    started: std::time::Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), RuntimeError> {
    let epoch = leadership.epoch;
    let now = chrono::Utc::now();
    // The previous leader's outbox leases are its worker's, not its
    // engine's: they are voided when that instance is gone (`reap`), not
    // because it lost the leadership (its worker may still be sending).
    let make_engine = c.make_engine.clone();
    let (mut rt, resumed) =
        Runtime::resume_fenced(move |t| make_engine(t), c.store.clone(), now, epoch).await?;
    let mut seen = resumed.last_seq;
    c.journal.applied(epoch, seen).await?;
    let took = started.elapsed();
    metrics::gauge!("squall_leader_takeover_seconds").set(took.as_secs_f64());
    tracing::info!(
        epoch,
        replayed_inputs = resumed.inputs,
        previous = %leadership.previous,
        took_ms = took.as_millis() as u64,
        "engine leader ready: journal replayed"
    );
    let mut last_check = std::time::Instant::now();
    let mut last_views = std::time::Instant::now();
    // A first tick at once: timers that fell due while nobody led fire
    // without waiting for the next input.
    let mut tick_now = true;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        if last_check.elapsed() >= LEADER_POLL {
            if !leadership.alive().await {
                return Err(crate::cluster::ClusterError::Query {
                    what: "keep the leader lock",
                    source: sqlx::Error::PoolClosed,
                }
                .into());
            }
            last_check = std::time::Instant::now();
        }
        if last_views.elapsed() >= VIEWS_POLL {
            answer_views(c, &rt).await;
            last_views = std::time::Instant::now();
        }
        let entries = c.store.journal_after(seen, FOLLOW_BATCH).await?;
        if !entries.is_empty() {
            let mut published = Vec::new();
            for e in &entries {
                let evs = rt.apply_entry(e).await?;
                if matches!(e.kind.as_str(), "alert" | "command") {
                    c.journal.answer(e.seq, &evs).await?;
                }
                seen = e.seq;
                published.extend(evs);
            }
            c.journal.applied(epoch, seen).await?;
            count_evaluations(&published);
            continue;
        }
        let now = chrono::Utc::now();
        let due = rt.next_deadline().is_some_and(|d| d <= now);
        if due || tick_now {
            // Only if nothing arrived meanwhile: the journal's order must be
            // the order the engine saw things in.
            if let Some(seq) = c.store.journal_tick_if_caught_up(seen, now).await? {
                let tick = crate::store::JournalEntry {
                    seq,
                    at: now,
                    kind: "tick".to_owned(),
                    payload: serde_json::Value::Null,
                };
                let evs = rt.apply_entry(&tick).await?;
                seen = seq;
                tick_now = false;
                c.journal.applied(epoch, seen).await?;
                count_evaluations(&evs);
            }
            continue;
        }
        let wait = rt
            .next_deadline()
            .map(|d| (d - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(FOLLOW_POLL)
            .min(FOLLOW_POLL);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Answers the views other instances asked of this leader's engine.
async fn answer_views(c: &Candidate, rt: &Runtime) {
    let now = chrono::Utc::now();
    let questions = match c.views.open(now).await {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %crate::diagnostics::chain(&e), "view requests not read");
            return;
        }
    };
    for Question { id, view, arg } in questions {
        let answer = match view {
            View::OffHours => serde_json::to_value(rt.engine.off_hours_status(now)),
            View::Rates => serde_json::to_value(rt.engine.rates()),
            View::StatusPreviews => serde_json::to_value(
                rt.engine
                    .status_previews(now, arg.as_deref().unwrap_or_default()),
            ),
        }
        .map_err(|e| e.to_string());
        if let Err(e) = c.views.answer(id, answer).await {
            tracing::warn!(error = %crate::diagnostics::chain(&e), "view request not answered");
        }
    }
}

/// The engine's events reach subscribers through the shared timeline
/// (`events::tail_timeline`); evaluations, which are not stored, are counted.
fn count_evaluations(evs: &[Event]) {
    let n = evs
        .iter()
        .filter(|e| e.kind == EventKind::SurgeEvaluated)
        .count();
    metrics::counter!("squall_surge_evaluations_total").increment(n as u64);
}
