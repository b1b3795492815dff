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
use crate::actions::executor::Executor;
use crate::cluster::nats::Bus;
use crate::cluster::{ClusterError, Journal, Leadership, LEADER_POLL};
use crate::engine::events::{Event, EventKind};
use crate::engine::Engine;
use crate::runtime::{Runtime, RuntimeError};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Longest a request waits for the engine leader's answer (a take-over
/// included) before it is answered 500.
const PATIENCE: Duration = Duration::from_secs(30);

/// Journal entries applied per read while following.
const FOLLOW_BATCH: i64 = 512;

/// How often the leader looks for new journal entries when idle.
const FOLLOW_POLL: Duration = Duration::from_millis(5);

/// How handlers' jobs reach the shared journal.
pub struct Ingress {
    pub store: Store,
    pub journal: Journal,
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
                let _ = reply.send(Err(ClusterError::LeaderOnly("the off-hours view").into()));
            }
            Job::Read(Read::Rates(reply)) => {
                let _ = reply.send(Err(ClusterError::LeaderOnly("the trigger rates").into()));
            }
            Job::Read(Read::StatusPreviews(_, reply)) => {
                let _ = reply.send(Err(ClusterError::LeaderOnly("the status previews").into()));
            }
        }
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
    pub make_engine: Arc<dyn Fn(crate::clock::Timestamp) -> Engine + Send + Sync>,
    pub make_executor: Arc<dyn Fn() -> Executor + Send + Sync>,
    pub events: broadcast::Sender<Arc<Event>>,
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
                        tracing::error!(error = %e, "engine leadership lost; following again")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot try for the engine leadership"),
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
    let released = c.journal.release_leases_of(&leadership.previous).await?;
    let make_engine = c.make_engine.clone();
    let (mut rt, resumed) = Runtime::resume_fenced(
        move |t| make_engine(t),
        c.store.clone(),
        (c.make_executor)(),
        now,
        Some(epoch),
    )
    .await?;
    let mut seen = resumed.last_seq;
    c.journal.applied(epoch, seen).await?;
    let took = started.elapsed();
    metrics::gauge!("squall_leader_takeover_seconds").set(took.as_secs_f64());
    tracing::info!(
        epoch,
        replayed_inputs = resumed.inputs,
        interrupted_actions = released,
        took_ms = took.as_millis() as u64,
        "engine leader ready: journal replayed"
    );
    let mut last_check = std::time::Instant::now();
    // A first tick at once: it carries out what the previous leader left
    // unfinished without waiting for the next input or timer.
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
            publish(&c.events, published);
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
                publish(&c.events, evs);
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

fn publish(events: &broadcast::Sender<Arc<Event>>, evs: Vec<Event>) {
    for e in evs {
        if e.kind == EventKind::SurgeEvaluated {
            metrics::counter!("squall_surge_evaluations_total").increment(1);
            continue;
        }
        let _ = events.send(Arc::new(e));
    }
}
