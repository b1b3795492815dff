//! The runtime: drives the engine and makes its decisions durable.
//!
//! One step = input → [`Engine`] → one store transaction (incidents,
//! timeline, outbox intents, drafts) → the outbox worker carries out what is
//! due → outcomes go back to the engine. `squall simulate` and (later)
//! `squall serve` both run this loop; only the clock and adapters differ.
//!
//! A server also keeps an input journal ([`Runtime::journaled`]): every
//! mention, alert and command is written to the store *before* the engine
//! sees it, and [`Runtime::resume`] replays that journal at start. Because
//! the engine is deterministic and every action has an idempotency key, the
//! replay rebuilds the in-memory state (detectors, timers, open incidents,
//! drafts) without doing any side effect a second time.

use crate::actions::executor::{ExecError, Executor, Outcome};
use crate::clock::Timestamp;
use crate::engine::drafts::{Draft, DraftState as EngineDraftState};
use crate::engine::events::{Event, EventKind};
use crate::engine::incident::{Incident, StatusPost};
use crate::engine::input::Input;
use crate::engine::{Decisions, Engine};
use crate::store::{IncidentRow, NewOutbox, NewTimeline, Store, StoreError, Write};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error(transparent)]
    Bus(#[from] crate::cluster::nats::BusError),
    /// One failure that several waiters share (a group commit's).
    #[error(transparent)]
    Shared(std::sync::Arc<RuntimeError>),
}

pub struct Runtime {
    pub engine: Engine,
    pub store: Store,
    /// Carries out what the engine enqueued, feeding outcomes straight
    /// back. `None` for a cluster's engine leader: every instance's outbox
    /// worker runs the actions and journals their outcomes, which reach
    /// the engine as journal entries ([`Runtime::apply_entry`]).
    executor: Option<Executor>,
    /// Also persist per-bucket evaluations (noisy; only for `--explain`).
    persist_evaluations: bool,
    /// When failed actions are due to be tried again: time must reach them
    /// even if the engine has nothing to do then.
    retries: std::collections::BTreeSet<Timestamp>,
    /// When the outbox was last asked for due work.
    last_sweep: Option<Timestamp>,
    /// Journal every input before the engine sees it (`squall serve`), so a
    /// restart can replay it. Off for simulation, whose inputs are a file.
    journal: bool,
    /// The leadership epoch every batch is checked against (cluster mode).
    fence: Option<i64>,
    /// The engine time of the last journal entry applied: entries appended
    /// by several instances may carry slightly out-of-order clocks, and the
    /// engine's time only moves forward.
    last_at: Option<Timestamp>,
}

/// What [`Runtime::resume`] found in the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resumed {
    /// Inputs replayed into the engine.
    pub inputs: usize,
    /// The engine's start time (the first boot of this store).
    pub started: Option<Timestamp>,
    /// Intents still waiting in the outbox.
    pub pending_actions: usize,
    /// The last journal entry replayed (0 for an empty journal).
    pub last_seq: i64,
}

/// How often the outbox is swept even when nothing new was enqueued, to
/// take over leases of workers that died.
const SWEEP_SECS: i64 = 60;

impl Runtime {
    pub fn new(engine: Engine, store: Store, executor: Executor) -> Self {
        Self::with_executor(engine, store, Some(executor))
    }

    fn with_executor(engine: Engine, store: Store, executor: Option<Executor>) -> Self {
        Self {
            engine,
            store,
            executor,
            persist_evaluations: false,
            retries: Default::default(),
            last_sweep: None,
            journal: false,
            fence: None,
            last_at: None,
        }
    }

    /// Starts a journaled runtime on `store`: replays every journaled input
    /// into a fresh engine (first boot: journals the start time `now`),
    /// re-applies the state those inputs produce (idempotently: incidents
    /// and drafts are upserts, intents are keyed), and remembers when
    /// waiting intents are due. `make_engine` builds the engine for a start
    /// time. Nothing is sent during the replay: an intent already done is
    /// reported to the engine as done, one still pending stays in the outbox
    /// for the executor.
    ///
    /// # Errors
    /// Store failures, or a journal entry that cannot be decoded.
    pub async fn resume(
        make_engine: impl FnOnce(Timestamp) -> Engine,
        store: Store,
        executor: Executor,
        now: Timestamp,
    ) -> Result<(Self, Resumed), RuntimeError> {
        Self::resume_with(make_engine, store, Some(executor), now, None).await
    }

    /// [`Runtime::resume`] for a cluster's engine leader: every batch it
    /// commits, from the replay on, is refused once `fence` is no longer the
    /// cluster's leadership epoch. It has no executor: the cluster's outbox
    /// workers run the actions and journal their outcomes.
    pub async fn resume_fenced(
        make_engine: impl FnOnce(Timestamp) -> Engine,
        store: Store,
        now: Timestamp,
        fence: i64,
    ) -> Result<(Self, Resumed), RuntimeError> {
        Self::resume_with(make_engine, store, None, now, Some(fence)).await
    }

    async fn resume_with(
        make_engine: impl FnOnce(Timestamp) -> Engine,
        store: Store,
        executor: Option<Executor>,
        now: Timestamp,
        fence: Option<i64>,
    ) -> Result<(Self, Resumed), RuntimeError> {
        let entries = store.journal_entries().await?;
        let last_seq = entries.last().map_or(0, |e| e.seq);
        let started = match entries.iter().find(|e| e.kind == "boot") {
            Some(boot) => boot.at,
            None => {
                // The store keeps microseconds: the first run starts where a
                // replay will, so keys and "since" times derived from the
                // start are the same after a restart.
                let now = chrono::SubsecRound::trunc_subsecs(now, 6);
                store.journal(now, "boot", &serde_json::Value::Null).await?;
                now
            }
        };
        let mut rt = Self::with_executor(make_engine(started), store, executor);
        rt.journal = true;
        rt.fence = fence;
        let done = rt.store.outbox_states().await?;
        let mut actions = Vec::new();
        let mut attached = Vec::new();
        let mut replayed = 0;
        for mut e in entries.into_iter().filter(|e| e.kind != "boot") {
            e.at = rt.monotonic(e.at);
            let mut d = rt.decide(e.at, decode_entry(&e)?);
            replayed += 1;
            // Feed back outcomes already recorded, as the executor did live.
            loop {
                let mut next = Decisions::default();
                for a in &d.actions {
                    let ok = match done.get(&a.key) {
                        Some(crate::store::OutboxState::Done) => true,
                        Some(crate::store::OutboxState::Failed) => false,
                        _ => continue,
                    };
                    next.extend(rt.engine.action_done(e.at, &a.intent, ok));
                }
                actions.append(&mut d.actions);
                attached.append(&mut d.attached);
                if next.actions.is_empty() && next.attached.is_empty() {
                    break;
                }
                d = next;
            }
        }
        // Re-apply what the inputs produced: a no-op except for the last
        // inputs of a process that died between journaling and committing.
        let mut writes: Vec<Write> = rt
            .engine
            .incidents()
            .map(|i| Write::UpsertIncident(incident_row(i)))
            .collect();
        writes.extend(attached.into_iter().map(attach_write));
        let d = Decisions {
            actions,
            ..Decisions::default()
        };
        writes.extend(rt.writes_for(started, &d));
        rt.apply(&writes).await?;
        for d in rt.engine.drafts().drafts.values() {
            // One by one: a draft the store already moved on stays as it is.
            if let Err(e) = rt
                .apply(&[Write::SaveDraft(Box::new(draft_snapshot(d)))])
                .await
            {
                tracing::warn!(draft = d.id, error = %e, "draft not re-applied after replay");
            }
        }
        let waiting = rt.store.outbox_waiting().await?;
        rt.retries.extend(waiting.iter().copied());
        Ok((
            rt,
            Resumed {
                inputs: replayed,
                started: Some(started),
                last_seq,
                pending_actions: waiting.len(),
            },
        ))
    }

    /// Stores (and, in `serve`, journals) a group of mentions received at
    /// `now` in one transaction, durable when the future completes, and says
    /// which are new; [`handle_stored`](Self::handle_stored) then hands them
    /// to the engine. The future borrows nothing from the runtime,
    /// so the engine task runs the next group's write while the engine
    /// handles this one; the group comes back with the answer.
    ///
    /// The engine must then be handed the groups in the order they were
    /// stored, with nothing journaled in between: the journal's order is the
    /// order the engine sees things in.
    pub fn store_mentions(
        &self,
        now: Timestamp,
        mentions: Vec<crate::mention::Mention>,
    ) -> impl std::future::Future<
        Output = (
            Vec<crate::mention::Mention>,
            Result<Vec<bool>, RuntimeError>,
        ),
    > + Send
           + 'static {
        let store = self.store.clone();
        let journal = self.journal;
        async move {
            let step = std::time::Instant::now();
            let new = if journal {
                store.journal_mentions(&mentions, now).await
            } else {
                store.insert_mentions(&mentions, now).await
            };
            record_step("journal", step);
            (mentions, new.map_err(RuntimeError::from))
        }
    }

    /// Lets the engine see the new mentions of a group stored at `now` by
    /// [`store_mentions`](Self::store_mentions) and commits everything they
    /// caused at once.
    ///
    /// # Errors
    /// Store failures while committing; the mentions stay journaled, and a
    /// restart replays them.
    pub async fn handle_stored(
        &mut self,
        now: Timestamp,
        mentions: Vec<crate::mention::Mention>,
        new: &[bool],
    ) -> Result<Vec<Event>, RuntimeError> {
        let step = std::time::Instant::now();
        let mut d = self.engine.tick(now);
        for (m, is_new) in mentions.into_iter().zip(new) {
            if *is_new {
                d.extend(self.engine.handle(now, Input::Mention(Box::new(m))));
            }
        }
        let step = record_step("decide", step);
        let events = self.commit(now, d).await?;
        record_step("commit", step);
        Ok(events)
    }

    /// Handles one input at `now`; returns every timeline event it caused,
    /// including those of the actions it carried out.
    pub async fn submit(
        &mut self,
        now: Timestamp,
        input: Input,
    ) -> Result<Vec<Event>, RuntimeError> {
        // Durable before anything is decided about it.
        match &input {
            Input::Mention(m) if self.journal => {
                let new = self
                    .store
                    .journal_mentions(std::slice::from_ref(m.as_ref()), now)
                    .await?;
                if new.first() == Some(&false) {
                    return Ok(Vec::new()); // already handled
                }
            }
            Input::Mention(m) => {
                self.store
                    .insert_mentions(std::slice::from_ref(m.as_ref()), now)
                    .await?;
            }
            Input::Alert(a) if self.journal => {
                let payload = serde_json::to_value(a).unwrap_or_default();
                self.store.journal(now, "alert", &payload).await?;
            }
            Input::Command(c) if self.journal => {
                let payload = serde_json::to_value(c).unwrap_or_default();
                self.store.journal(now, "command", &payload).await?;
            }
            _ => {}
        }
        let d = self.engine.handle(now, input);
        self.commit(now, d).await
    }

    /// Lets time pass to `now`: buckets close, timers fire, due actions run.
    pub async fn tick(&mut self, now: Timestamp) -> Result<Vec<Event>, RuntimeError> {
        self.due_retries(now);
        let d = self.engine.tick(now);
        let acted =
            !d.actions.is_empty() || d.events.iter().any(|e| e.kind != EventKind::SurgeEvaluated);
        if self.journal && acted {
            // Timers that fired are part of the history a replay must
            // repeat at the same instant (a replay only ticks as far as the
            // next input otherwise).
            self.store
                .journal(now, "tick", &serde_json::Value::Null)
                .await?;
        }
        self.commit(now, d).await
    }

    /// The earliest instant at which [`tick`](Self::tick) has work: an engine
    /// deadline or an action waiting to be retried.
    /// Forgets the retry times up to `now`; if one was due, the outbox must
    /// be asked at the next commit.
    fn due_retries(&mut self, now: Timestamp) {
        let kept = self
            .retries
            .split_off(&(now + chrono::Duration::microseconds(1)));
        if kept.len() < self.retries.len() {
            self.last_sweep = None;
        }
        self.retries = kept;
    }

    /// Applies one journal entry appended by any instance of a cluster (the
    /// engine leader follows the shared journal in `seq` order): exactly
    /// what [`Runtime::resume`] will replay for it, then committed and the
    /// outbox worked as for a local input.
    pub async fn apply_entry(
        &mut self,
        entry: &crate::store::JournalEntry,
    ) -> Result<Vec<Event>, RuntimeError> {
        if entry.kind == "boot" {
            return Ok(Vec::new()); // the engine's start time, read by resume
        }
        let at = self.monotonic(entry.at);
        let entry = decode_entry(entry)?;
        if matches!(entry, Entry::Tick) {
            self.due_retries(at);
        }
        let d = self.decide(at, entry);
        self.commit(at, d).await
    }

    /// What the engine decides about one journal entry at `at`. An outcome
    /// may repeat one the replay already fed back from the outbox: the
    /// engine's `action_done` is idempotent.
    fn decide(&mut self, at: Timestamp, entry: Entry) -> Decisions {
        match entry {
            Entry::Input(input) => self.engine.handle(at, input),
            Entry::Tick => self.engine.tick(at),
            Entry::Outcome(o) => {
                let mut d = self.engine.tick(at);
                d.extend(self.engine.action_done(at, &o.intent, o.ok));
                d
            }
        }
    }

    /// `at`, or the last time the engine was given if that is later.
    fn monotonic(&mut self, at: Timestamp) -> Timestamp {
        let at = self.last_at.map_or(at, |last| last.max(at));
        self.last_at = Some(at);
        at
    }

    async fn apply(&self, writes: &[Write]) -> Result<crate::store::ApplyOutcome, StoreError> {
        self.store.apply_fenced(self.fence, writes).await
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        let retry = self.retries.iter().next().copied();
        match (self.engine.next_deadline(), retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn commit(
        &mut self,
        now: Timestamp,
        first: Decisions,
    ) -> Result<Vec<Event>, RuntimeError> {
        let mut all = Vec::new();
        let mut pending = Some(first);
        while let Some(d) = pending.take() {
            let writes = self.writes_for(now, &d);
            if !writes.is_empty() {
                self.apply(&writes).await?;
            }
            all.extend(d.events);
            let Some(executor) = &self.executor else {
                break; // the cluster's outbox workers take it from here
            };
            if !self.outbox_may_have_work(now, !d.actions.is_empty()) {
                break;
            }
            self.last_sweep = Some(now);
            // Carry out whatever is due; feed outcomes back to the engine.
            let mut next = Decisions::default();
            loop {
                let batch = executor.run_due(now).await?;
                if batch.is_empty() {
                    break;
                }
                for mut done in batch {
                    done.count();
                    // Already on the timeline: written with the row's end.
                    all.append(&mut done.events);
                    if let Some(at) = done.retry_at {
                        self.retries.insert(at);
                    }
                    // Only final outcomes, as a replay sees them (done or
                    // failed); a retry is still in the outbox's hands.
                    if let (Some(intent), None) = (&done.intent, done.retry_at) {
                        next.extend(self.engine.action_done(now, intent, done.ok));
                    }
                }
            }
            if !next.events.is_empty() || !next.actions.is_empty() || !next.drafts.is_empty() {
                pending = Some(next);
            }
        }
        Ok(all)
    }

    /// Whether to ask the outbox for due work: new intents, a retry that is
    /// due, or (at least once a minute) leases left by a worker that died.
    fn outbox_may_have_work(&self, now: Timestamp, enqueued: bool) -> bool {
        enqueued
            || self.retries.iter().next().is_some_and(|t| *t <= now)
            || self
                .last_sweep
                .is_none_or(|last| now - last >= chrono::Duration::seconds(SWEEP_SECS))
    }

    fn writes_for(&self, now: Timestamp, d: &Decisions) -> Vec<Write> {
        let mut w = Vec::new();
        for id in &d.incidents {
            if let Some(inc) = self.engine.incident(id) {
                w.push(Write::UpsertIncident(incident_row(inc)));
            }
        }
        w.extend(d.attached.iter().cloned().map(attach_write));
        for id in &d.drafts {
            if let Some(draft) = self.engine.drafts().drafts.get(id) {
                w.push(Write::SaveDraft(Box::new(draft_snapshot(draft))));
            }
        }
        for e in &d.events {
            if e.kind != EventKind::SurgeEvaluated || self.persist_evaluations {
                w.push(timeline_write(e));
            }
        }
        for a in &d.actions {
            let payload = serde_json::to_value(&a.intent).unwrap_or_default();
            w.push(Write::Enqueue(NewOutbox {
                idem_key: a.key.clone(),
                incident_id: a.intent.incident().map(str::to_string),
                kind: a.intent.kind().to_string(),
                account: a.intent.account().map(str::to_string),
                payload,
                not_before: now,
                created_at: now,
            }));
        }
        w
    }
}

/// Records how long one step of handling a group of mentions took
/// (`squall_ingest_step_seconds{step}`: `journal`, `decide`, `commit`; the
/// engine task adds `publish`), and returns when the next step starts. The
/// steps run one after the other on the engine task, so their sums say
/// where ingest's time goes.
pub(crate) fn record_step(step: &'static str, since: std::time::Instant) -> std::time::Instant {
    let now = std::time::Instant::now();
    metrics::histogram!("squall_ingest_step_seconds", "step" => step)
        .record(now.duration_since(since).as_secs_f64());
    now
}

/// A journal entry, decoded.
enum Entry {
    /// A mention, alert or command, as the engine saw it.
    Input(Input),
    /// Time passing with effects (a timer fired).
    Tick,
    /// What became of an action a cluster's outbox worker carried out.
    Outcome(Box<Outcome>),
}

/// Decodes a journal entry back into what the engine saw.
fn decode_entry(e: &crate::store::JournalEntry) -> Result<Entry, RuntimeError> {
    let corrupt = |err: serde_json::Error| {
        RuntimeError::Store(StoreError::Corrupt {
            what: "inputs.payload",
            detail: format!("entry {} ({}): {err}", e.seq, e.kind),
        })
    };
    let payload = e.payload.clone();
    Ok(Entry::Input(match e.kind.as_str() {
        "tick" => return Ok(Entry::Tick),
        "outcome" => {
            return Ok(Entry::Outcome(
                serde_json::from_value(payload).map_err(corrupt)?,
            ))
        }
        "mention" => Input::Mention(Box::new(serde_json::from_value(payload).map_err(corrupt)?)),
        "alert" => Input::Alert(serde_json::from_value(payload).map_err(corrupt)?),
        _ => Input::Command(serde_json::from_value(payload).map_err(corrupt)?),
    }))
}

fn attach_write(a: crate::engine::Attached) -> Write {
    Write::AttachMention {
        mention: a.mention,
        received_at: a.at,
        incident_id: a.incident,
    }
}

pub(crate) fn timeline_write(e: &Event) -> Write {
    Write::Timeline(NewTimeline::from(e))
}

/// An event as the timeline keeps it (the runtime writes the engine's, the
/// executor the outbox's).
impl From<&Event> for NewTimeline {
    fn from(e: &Event) -> Self {
        NewTimeline {
            incident_id: e.incident.clone(),
            at: e.at,
            kind: e.kind.as_str().to_string(),
            actor: e.actor.clone(),
            message: e.message.clone(),
            detail: serde_json::Value::Object(e.detail.clone()),
        }
    }
}

fn incident_row(i: &Incident) -> IncidentRow {
    let (status_text, approved_by) = match &i.status {
        StatusPost::Posted {
            text, approved_by, ..
        } => (Some(text.clone()), Some(approved_by.clone())),
        StatusPost::AwaitingApproval { text, .. } => (Some(text.clone()), None),
        StatusPost::None => (None, None),
    };
    IncidentRow {
        id: i.id.clone(),
        playbook: i.playbook.clone(),
        group_key: i.group_key.clone(),
        state: i.state,
        title: i.title.clone(),
        trigger_kind: i.trigger_kind.to_string(),
        opened_at: i.opened_at,
        acknowledged_at: i.acknowledged_at,
        mitigated_at: i.mitigated_at,
        resolved_at: i.resolution.as_ref().map(|r| r.at),
        status_text,
        status_approved_by: approved_by,
        detail: serde_json::to_value(i).unwrap_or_default(),
    }
}

/// The store's view of an engine draft (the engine assigns draft ids).
fn draft_snapshot(d: &Draft) -> crate::store::DraftSnapshot {
    let (state, approved_by, approved_at, sent_at, discarded_reason) = match &d.state {
        EngineDraftState::Pending => (crate::store::DraftState::Pending, None, None, None, None),
        EngineDraftState::Approved { by, at } => (
            crate::store::DraftState::Approved,
            Some(by.clone()),
            Some(*at),
            None,
            None,
        ),
        EngineDraftState::Sent { by, at } => (
            crate::store::DraftState::Sent,
            Some(by.clone()),
            Some(*at),
            Some(*at),
            None,
        ),
        EngineDraftState::Discarded { reason, .. } => (
            crate::store::DraftState::Discarded,
            None,
            None,
            None,
            Some(reason.clone()),
        ),
    };
    crate::store::DraftSnapshot {
        id: d.id as i64,
        incident_id: d.incident.clone(),
        platform: d.platform.clone(),
        author_id: d.author_id.clone(),
        author_handle: d.author_handle.clone(),
        mention_id: d.mention_id.clone(),
        mention_at: d.mention_at,
        lang: Some(d.lang.clone()),
        text: d.text.clone(),
        private: d.private,
        flags: d.flags.iter().map(|f| f.to_string()).collect(),
        state,
        assignee: d.assignee.clone(),
        approved_by,
        approved_at,
        sent_at,
        discarded_reason,
        created_at: d.created_at,
        sla_deadline: d.sla_deadline,
        detail: crate::store::DraftDetail {
            account: d.account.clone(),
            author: crate::store::DraftAuthor {
                id: d.author_id.clone(),
                handle: d.author_handle.clone(),
                name: d.author_name.clone(),
                followers: d.author_followers,
            },
            // Staff read the customer's words, never their personal data.
            mention_text: crate::engine::guard::mask(&d.mention_text),
            previous_contacts: d.previous_contacts,
            mentions: d.mentions,
            escalations: d.escalations,
            discarded_by: match &d.state {
                EngineDraftState::Discarded { by, .. } => Some(by.clone()),
                _ => None,
            },
            edited_by: d.edited_by.clone(),
        },
    }
}
