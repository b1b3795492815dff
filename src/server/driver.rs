//! The engine task: the one owner of the [`Runtime`], fed by HTTP handlers
//! through a bounded queue and by the wall clock.
//!
//! Handlers never touch the engine. They send a [`Job`] and wait for its
//! reply, which comes only once the job's inputs are durable in the store
//! (journaled) and its decisions committed. A full queue is answered at once
//! with 503 and `Retry-After` ([`EngineHandle::call`]): squall never accepts
//! work it has not stored. Between jobs the task sleeps until the engine's
//! next deadline (a bucket closing, a timer, a retry) and ticks it with
//! the wall-clock time.
//!
//! Shutdown: when every [`EngineHandle`] is dropped (the HTTP server has
//! stopped), the task finishes the jobs already queued, then returns; an
//! action being carried out completes first, anything not yet started stays
//! in the outbox for the next start.

use super::error::ApiError;
use crate::engine::events::{Event, EventKind};
use crate::engine::input::{Alert, Command, Input};
use crate::engine::off_hours::DeskStatus;
use crate::engine::triggers::RateSeries;
use crate::engine::StatusPreview;
use crate::mention::Mention;
use crate::playbook::IncidentState;
use crate::runtime::{Runtime, RuntimeError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// The longest the task sleeps without looking at the outbox (expired leases).
const IDLE: Duration = Duration::from_secs(30);

/// Work for the engine, with where to send the outcome.
pub enum Job {
    Mentions(
        Vec<Mention>,
        oneshot::Sender<Result<Vec<bool>, RuntimeError>>,
    ),
    Alerts(
        Vec<Alert>,
        oneshot::Sender<Result<Vec<Event>, RuntimeError>>,
    ),
    Command(Command, oneshot::Sender<Result<Vec<Event>, RuntimeError>>),
    /// Reads each account's off-hours as the engine holds it (nothing is
    /// journaled: the engine does not change).
    OffHours(oneshot::Sender<Result<Vec<DeskStatus>, RuntimeError>>),
    /// A read of state only the engine holds (detector rates, status texts
    /// per account), answered between inputs; nothing is journaled.
    Read(Read),
}

/// What a [`Job::Read`] asks the engine.
pub enum Read {
    /// The recent rate of every surge trigger.
    Rates(oneshot::Sender<Result<Vec<RateSeries>, RuntimeError>>),
    /// The status text of an incident as each of its accounts posts it.
    StatusPreviews(
        String,
        oneshot::Sender<Result<Vec<StatusPreview>, RuntimeError>>,
    ),
}

/// The handlers' side of the queue. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    route: Route,
}

/// Where jobs go: the local engine task, or (cluster mode) the shared
/// journal that the engine leader follows.
#[derive(Clone)]
enum Route {
    Local(mpsc::Sender<Job>),
    Cluster {
        ingress: Arc<super::cluster::Ingress>,
        stopping: tokio::sync::watch::Receiver<bool>,
    },
}

impl EngineHandle {
    /// A handle whose jobs are carried out on the shared journal.
    pub fn cluster(
        ingress: super::cluster::Ingress,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Self {
            route: Route::Cluster {
                ingress: Arc::new(ingress),
                stopping,
            },
        }
    }

    /// Whether the engine task has stopped taking jobs.
    pub fn is_closed(&self) -> bool {
        match &self.route {
            Route::Local(jobs) => jobs.is_closed(),
            Route::Cluster { stopping, .. } => *stopping.borrow(),
        }
    }

    /// Queues the job `make` builds and waits for its outcome.
    ///
    /// # Errors
    /// [`ApiError::Overloaded`] when the queue is full (nothing was
    /// accepted), [`ApiError::ShuttingDown`] when the engine task is gone,
    /// [`ApiError::Internal`] when the job failed in the store.
    pub async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, RuntimeError>>) -> Job,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        match &self.route {
            Route::Local(jobs) => match jobs.try_send(make(tx)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    metrics::counter!("squall_overload_rejections_total").increment(1);
                    return Err(ApiError::Overloaded);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(ApiError::ShuttingDown),
            },
            Route::Cluster { ingress, .. } => ingress.run(make(tx)).await,
        }
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            // No leader to ask right now (a take-over): try again shortly.
            Ok(Err(RuntimeError::Cluster(
                e @ (crate::cluster::ClusterError::NoView { .. }
                | crate::cluster::ClusterError::NoAnswer { .. }),
            ))) => Err(ApiError::Unavailable(e.to_string())),
            Ok(Err(e)) => Err(ApiError::internal(&e)),
            Err(_) => Err(ApiError::ShuttingDown),
        }
    }
}

/// Starts the engine task over `rt`; `queue` jobs may wait at once.
/// Returns the handle and the task, which ends after the last handle is
/// dropped and the queue is drained.
pub fn spawn(
    rt: Runtime,
    queue: usize,
    events: broadcast::Sender<Arc<Event>>,
) -> (EngineHandle, tokio::task::JoinHandle<Runtime>) {
    let (tx, rx) = mpsc::channel(queue);
    let task = tokio::spawn(run(rt, rx, Publisher::new(events)));
    (
        EngineHandle {
            route: Route::Local(tx),
        },
        task,
    )
}

async fn run(mut rt: Runtime, mut jobs: mpsc::Receiver<Job>, mut events: Publisher) -> Runtime {
    // Time passed while squall was down: catch up before taking work.
    let first = rt.tick(chrono::Utc::now()).await;
    events.publish(&rt, first).await;
    loop {
        let now = chrono::Utc::now();
        let wait = rt
            .next_deadline()
            .map(|d| (d - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(IDLE)
            .min(IDLE);
        tokio::select! {
            job = jobs.recv() => match job {
                Some(Job::Mentions(ms, reply)) => {
                    let mut group = Group::new(ms, reply);
                    let next = group.gather(&mut jobs);
                    if let Some(job) = mentions(&mut rt, &mut events, &mut jobs, group, next).await {
                        handle(&mut rt, &mut events, job).await;
                    }
                }
                Some(job) => handle(&mut rt, &mut events, job).await,
                None => break,
            },
            () = tokio::time::sleep(wait) => {
                let evs = rt.tick(chrono::Utc::now()).await;
                events.publish(&rt, evs).await;
            }
        }
    }
    tracing::info!("engine task stopped: queue drained");
    rt
}

/// The most mentions one group commit takes (see [`gather`]).
const GROUP_MENTIONS: usize = 20_000;

/// Mention batches written in one transaction, each with its waiter.
struct Group {
    mentions: Vec<Mention>,
    /// Each batch's size, in order, and where its reply goes.
    waiters: Vec<(usize, MentionsReply)>,
}

type MentionsReply = oneshot::Sender<Result<Vec<bool>, RuntimeError>>;

impl Group {
    fn new(mentions: Vec<Mention>, reply: MentionsReply) -> Self {
        Self {
            waiters: vec![(mentions.len(), reply)],
            mentions,
        }
    }

    /// Group commit: the mention batches already waiting behind the first
    /// are stored in the same transaction, up to [`GROUP_MENTIONS`]
    /// mentions. Under load, requests that would each have paid for a
    /// commit (and its `fsync`) share one, and none waits longer than it
    /// would have in the queue. Stops at the first job that is not mentions
    /// and hands it back, so that jobs keep their order.
    fn gather(&mut self, jobs: &mut mpsc::Receiver<Job>) -> Option<Job> {
        while self.mentions.len() < GROUP_MENTIONS {
            match jobs.try_recv() {
                Ok(Job::Mentions(ms, reply)) => {
                    self.waiters.push((ms.len(), reply));
                    self.mentions.extend(ms);
                }
                Ok(other) => return Some(other),
                Err(_) => break,
            }
        }
        None
    }

    /// Tells each waiter which of its mentions were new, or why none was
    /// accepted.
    fn answer(self, outcome: Result<&[bool], RuntimeError>) {
        match outcome {
            Ok(new) => {
                let mut rest = new;
                for (len, reply) in self.waiters {
                    let (mine, after) = rest.split_at(len.min(rest.len()));
                    let _ = reply.send(Ok(mine.to_vec()));
                    rest = after;
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for (_, reply) in self.waiters {
                    let _ = reply.send(Err(RuntimeError::Shared(e.clone())));
                }
            }
        }
    }
}

/// The group waiting in the queue, if mentions are next: another job next
/// comes back instead (it must wait for the groups before it).
fn next_group(jobs: &mut mpsc::Receiver<Job>) -> (Option<Group>, Option<Job>) {
    match jobs.try_recv() {
        Ok(Job::Mentions(ms, reply)) => {
            let mut group = Group::new(ms, reply);
            let other = group.gather(jobs);
            (Some(group), other)
        }
        Ok(other) => (None, Some(other)),
        Err(_) => (None, None),
    }
}

/// Stores, journals and hands to the engine `first` and the groups of
/// mention batches queued behind it, telling each waiter which of its
/// mentions were new once the engine's decisions about them are committed.
/// A failed write accepted nothing of any batch of its group, and each
/// waiter is told so.
///
/// The engine task is one chain (write the journal, run the engine, commit
/// its decisions), so while the engine handles one group the next group's
/// journal write already runs, on another thread: the groups reach the
/// engine in the order they were journaled, and nothing else is journaled
/// in between (a job that is not mentions waits until the groups before it
/// are done and comes back, with `next`, for the caller to handle).
async fn mentions(
    rt: &mut Runtime,
    events: &mut Publisher,
    jobs: &mut mpsc::Receiver<Job>,
    first: Group,
    mut next: Option<Job>,
) -> Option<Job> {
    let mut now = chrono::Utc::now();
    let mut group = first;
    let mut stored = rt
        .store_mentions(now, std::mem::take(&mut group.mentions))
        .await;
    loop {
        // Start storing the next group before the engine takes this one.
        let mut pending = None;
        if next.is_none() {
            let (queued, other) = next_group(jobs);
            next = other;
            if let Some(mut queued) = queued {
                let at = chrono::Utc::now();
                let write = rt.store_mentions(at, std::mem::take(&mut queued.mentions));
                pending = Some((at, queued, tokio::spawn(write)));
            }
        }
        handle_group(rt, events, now, group, stored).await;
        let Some((at, queued, write)) = pending else {
            return next;
        };
        match write.await {
            Ok(done) => (now, group, stored) = (at, queued, done),
            Err(e) => {
                // The write's task panicked: its waiters are told the engine
                // is unavailable (their replies are dropped).
                tracing::error!(error = %e, "a mention group's journal write failed to complete");
                return next;
            }
        }
    }
}

/// The engine's half of a group (see [`mentions`]): the mentions that
/// `stored` says are new go to the engine, its decisions are committed,
/// the waiters are answered and the events published.
async fn handle_group(
    rt: &mut Runtime,
    events: &mut Publisher,
    now: crate::clock::Timestamp,
    group: Group,
    stored: (Vec<Mention>, Result<Vec<bool>, RuntimeError>),
) {
    let (ms, new) = stored;
    let n = ms.len() as u64;
    if group.waiters.len() > 1 {
        metrics::counter!("squall_ingest_grouped_batches_total")
            .increment(group.waiters.len() as u64);
    }
    let new = match new {
        Ok(new) => new,
        Err(e) => return group.answer(Err(e)),
    };
    match rt.handle_stored(now, ms, &new).await {
        Ok(evs) => {
            let accepted = new.iter().filter(|n| **n).count() as u64;
            metrics::counter!("squall_mentions_ingested_total").increment(accepted);
            metrics::counter!("squall_mentions_duplicate_total").increment(n - accepted);
            group.answer(Ok(&new));
            let step = std::time::Instant::now();
            events.publish(rt, Ok(evs)).await;
            crate::runtime::record_step("publish", step);
        }
        Err(e) => group.answer(Err(e)),
    }
}

async fn handle(rt: &mut Runtime, events: &mut Publisher, job: Job) {
    let now = chrono::Utc::now();
    match job {
        Job::Mentions(ms, reply) => {
            let mut group = Group::new(ms, reply);
            let stored = rt
                .store_mentions(now, std::mem::take(&mut group.mentions))
                .await;
            handle_group(rt, events, now, group, stored).await;
        }
        Job::Alerts(alerts, reply) => {
            let mut all = Vec::new();
            let mut failed = None;
            for a in alerts {
                match rt.submit(now, Input::Alert(a)).await {
                    Ok(evs) => all.extend(evs),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let published = all.clone();
            let _ = reply.send(match failed {
                Some(e) => Err(e),
                None => Ok(all),
            });
            events.publish(rt, Ok(published)).await;
        }
        Job::Command(c, reply) => {
            let out = rt.submit(now, Input::Command(c)).await;
            let published = out.as_ref().map(|e| e.clone()).unwrap_or_default();
            let _ = reply.send(out);
            events.publish(rt, Ok(published)).await;
        }
        Job::Read(Read::Rates(reply)) => {
            let _ = reply.send(Ok(rt.engine.rates()));
        }
        Job::Read(Read::StatusPreviews(id, reply)) => {
            let _ = reply.send(Ok(rt.engine.status_previews(now, &id)));
        }
        Job::OffHours(reply) => {
            let _ = reply.send(Ok(rt.engine.off_hours_status(now)));
        }
    }
}

/// How long the gauges may lag when nothing but mentions arrives.
const GAUGES_EVERY: Duration = Duration::from_secs(1);

/// Where the engine task's events go: live subscribers, and the gauges.
struct Publisher {
    events: broadcast::Sender<Arc<Event>>,
    /// When the gauges were last read off the engine and the outbox.
    gauges_at: Option<std::time::Instant>,
}

impl Publisher {
    fn new(events: broadcast::Sender<Arc<Event>>) -> Self {
        Self {
            events,
            gauges_at: None,
        }
    }

    /// Sends events to live subscribers and refreshes the gauges: after any
    /// event that can change them, and otherwise at most every
    /// [`GAUGES_EVERY`]. Under steady ingest a group of mentions that
    /// changed nothing costs no outbox query.
    async fn publish(&mut self, rt: &Runtime, evs: Result<Vec<Event>, RuntimeError>) {
        let evs = match evs {
            Ok(evs) => evs,
            Err(e) => {
                tracing::error!(error = %crate::diagnostics::chain(&e), "engine step failed; it is retried from the store");
                Vec::new()
            }
        };
        let mut changed = false;
        for e in evs {
            if e.kind == EventKind::SurgeEvaluated {
                metrics::counter!("squall_surge_evaluations_total").increment(1);
                continue;
            }
            changed = true;
            count_auto_reply(&e);
            // No subscriber is fine: the timeline in the store is the record.
            let _ = self.events.send(Arc::new(e));
        }
        let due = self.gauges_at.is_none_or(|at| at.elapsed() >= GAUGES_EVERY);
        if changed || due {
            self.gauges_at = Some(std::time::Instant::now());
            refresh_gauges(rt).await;
        }
    }
}

/// Sets the incident, off-hours and outbox gauges from the engine and store.
async fn refresh_gauges(rt: &Runtime) {
    for state in [
        IncidentState::Open,
        IncidentState::Acknowledged,
        IncidentState::Mitigated,
        IncidentState::Resolved,
    ] {
        let n = rt.engine.incidents().filter(|i| i.state == state).count();
        metrics::gauge!("squall_incidents", "state" => state.as_str()).set(n as f64);
    }
    for desk in rt.engine.off_hours_status(chrono::Utc::now()) {
        let account = desk.account;
        metrics::gauge!("squall_off_hours_open", "account" => account.clone())
            .set(f64::from(u8::from(desk.open)));
        metrics::gauge!("squall_off_hours_note_pinned", "account" => account.clone())
            .set(f64::from(u8::from(desk.pinned_note)));
        metrics::gauge!("squall_off_hours_override", "account" => account)
            .set(f64::from(u8::from(desk.on_call_override)));
    }
    match rt.store.outbox_counts().await {
        Ok(counts) => {
            use crate::store::OutboxState as S;
            let mut depth = 0;
            for state in [S::Pending, S::Running, S::Done, S::Failed, S::Cancelled] {
                let n = counts
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| *n);
                if matches!(state, S::Pending | S::Running) {
                    depth += n;
                }
                metrics::gauge!("squall_outbox_rows", "state" => state.as_str()).set(n as f64);
            }
            metrics::gauge!("squall_outbox_depth").set(depth as f64);
        }
        Err(e) => {
            tracing::warn!(error = %crate::diagnostics::chain(&e), "outbox depth not measured")
        }
    }
}

/// `squall_autoreplies_total{outcome,reason}`: every auto-reply sent
/// (reason `closed` or `on_call`) or held back (reason `own_account`, `bot`,
/// `public_mention`, `same_thread`, `already_answered`, `staff_replied`);
/// `squall_off_hours_switches_total{account,to,source}`: every switch of a
/// standing desk or an incident's autoresponder to `closed` or `open`.
fn count_auto_reply(e: &Event) {
    let detail = |k: &str| {
        e.detail
            .get(k)
            .and_then(|r| r.as_str())
            .unwrap_or("unknown")
            .to_owned()
    };
    let (to, source) = match e.kind {
        EventKind::AutoReplySent | EventKind::AutoReplyHeld => {
            let outcome = if e.kind == EventKind::AutoReplySent {
                "sent"
            } else {
                "held"
            };
            metrics::counter!("squall_autoreplies_total", "outcome" => outcome, "reason" => detail("reason"))
                .increment(1);
            return;
        }
        EventKind::OffHoursOn => ("closed", "standing"),
        EventKind::OffHoursOff => ("open", "standing"),
        EventKind::AutoresponderEnabled => ("closed", "incident"),
        EventKind::AutoresponderDisabled => ("open", "incident"),
        _ => return,
    };
    metrics::counter!("squall_off_hours_switches_total", "account" => detail("account"), "to" => to, "source" => source)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mentions(ids: &[&str]) -> Vec<Mention> {
        ids.iter()
            .map(|id| {
                serde_json::from_value(serde_json::json!({
                    "id": id, "platform": "mastodon", "account": "acme-main",
                    "author": {"id": "u", "handle": "@u"}, "text": "down?",
                    "created_at": "2026-12-01T10:00:00Z"
                }))
                .unwrap()
            })
            .collect()
    }

    fn queue_mentions(jobs: &mpsc::Sender<Job>, ids: &[&str]) {
        let (reply, _) = oneshot::channel();
        assert!(jobs.try_send(Job::Mentions(mentions(ids), reply)).is_ok());
    }

    #[test]
    fn waiting_mention_batches_join_the_first_in_order_until_another_job() {
        let (jobs, mut rx) = mpsc::channel(8);
        queue_mentions(&jobs, &["b1", "b2"]);
        queue_mentions(&jobs, &["c1"]);
        let (off_hours, _) = oneshot::channel();
        assert!(jobs.try_send(Job::OffHours(off_hours)).is_ok());
        queue_mentions(&jobs, &["d1"]);
        let (first, _) = oneshot::channel();
        let mut group = Group::new(mentions(&["a1"]), first);
        let next = group.gather(&mut rx);
        let ids: Vec<&str> = group.mentions.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a1", "b1", "b2", "c1"]);
        let sizes: Vec<usize> = group.waiters.iter().map(|(n, _)| *n).collect();
        assert_eq!(sizes, [1, 2, 1]);
        assert!(
            matches!(next, Some(Job::OffHours(_))),
            "the read is handed back"
        );
        assert!(
            matches!(rx.try_recv(), Ok(Job::Mentions(..))),
            "d1 stays queued"
        );
    }

    #[test]
    fn a_group_stops_growing_at_its_size_limit() {
        let (jobs, mut rx) = mpsc::channel(4);
        let big: Vec<String> = (0..GROUP_MENTIONS).map(|i| format!("m{i}")).collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        queue_mentions(&jobs, &["late"]);
        let (first, _) = oneshot::channel();
        let mut group = Group::new(mentions(&big), first);
        let next = group.gather(&mut rx);
        assert_eq!(group.mentions.len(), GROUP_MENTIONS);
        assert!(next.is_none());
        assert!(
            matches!(rx.try_recv(), Ok(Job::Mentions(..))),
            "left for the next group"
        );
    }

    #[test]
    fn the_next_group_is_what_is_queued_up_to_another_job() {
        let (jobs, mut rx) = mpsc::channel(8);
        let (group, other) = next_group(&mut rx);
        assert!(group.is_none() && other.is_none(), "nothing queued");

        queue_mentions(&jobs, &["a1"]);
        queue_mentions(&jobs, &["b1", "b2"]);
        let (off_hours, _) = oneshot::channel();
        assert!(jobs.try_send(Job::OffHours(off_hours)).is_ok());
        let (group, other) = next_group(&mut rx);
        let ids: Vec<String> = group
            .map(|g| g.mentions.iter().map(|m| m.id.clone()).collect())
            .unwrap_or_default();
        assert_eq!(ids, ["a1", "b1", "b2"]);
        assert!(
            matches!(other, Some(Job::OffHours(_))),
            "handed back, in order"
        );

        let (off_hours, _) = oneshot::channel();
        assert!(jobs.try_send(Job::OffHours(off_hours)).is_ok());
        queue_mentions(&jobs, &["c1"]);
        let (group, other) = next_group(&mut rx);
        assert!(
            group.is_none() && matches!(other, Some(Job::OffHours(_))),
            "a job first in the queue comes before the mentions behind it"
        );
    }

    #[test]
    fn each_waiter_is_told_about_its_own_mentions() {
        let (a, mut a_rx) = oneshot::channel();
        let (b, mut b_rx) = oneshot::channel();
        let mut group = Group::new(mentions(&["a1", "a2"]), a);
        group.waiters.push((1, b));
        group.answer(Ok(&[true, false, true]));
        assert_eq!(
            a_rx.try_recv().ok().and_then(Result::ok),
            Some(vec![true, false])
        );
        assert_eq!(b_rx.try_recv().ok().and_then(Result::ok), Some(vec![true]));
    }
}
