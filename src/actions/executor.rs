//! The outbox worker: claims what is due, carries it out through the
//! adapters, and records what happened.
//!
//! Intents for different accounts run concurrently ([`Executor::run_due`]):
//! a status fan-out to twenty accounts takes about as long as the slowest
//! account, not the sum of all. Intents for one account run one after the
//! other, in outbox order, so that a pin and its restore never race; each
//! adapter keeps to its own account's rate limit.
//!
//! **Architecture Invariant:** a pin is recorded in the store *before* the
//! platform is touched (the pin row names the post and what it displaces),
//! and every platform operation is idempotent (post by idempotency key, pin
//! of a pinned post, unpin of an unpinned one). A worker that dies midway
//! leaves a lease that expires; the next worker resumes from the recorded pin
//! and can neither pin twice nor forget what it displaced.

use super::ActionIntent;
use crate::adapters::{AdapterError, Adapters, Platform, PostRef};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::engine::events::{Event, EventKind};
use crate::playbook::AtPinLimit;
use crate::store::{NewPin, NewTimeline, OutboxRow, PinPurpose, RowEnd, Store, StoreError, Write};
use std::sync::Arc;
use std::time::Duration;

/// Give up on an intent after this many attempts; it then stays in the
/// outbox as `failed` (the dead-letter state), visible to people and metrics.
pub const MAX_ATTEMPTS: i64 = 8;

/// Longest wait between two attempts, in seconds.
const MAX_BACKOFF_SECS: u64 = 300;

/// Seconds to wait after failed attempt number `attempts` (1-based):
/// exponential (2, 4, 8, ... capped at [`MAX_BACKOFF_SECS`]) with "equal
/// jitter", so that actions that failed together (a platform outage) do not
/// all retry in the same second. The jitter is derived from the idempotency
/// key rather than a random source, so simulations stay reproducible.
pub fn backoff_secs(idem_key: &str, attempts: i64) -> u64 {
    let base = 2u64
        .saturating_pow(attempts.clamp(1, 32) as u32)
        .min(MAX_BACKOFF_SECS);
    let half = base / 2;
    let mut h: u64 = 0xcbf29ce484222325; // FNV-1a: stable across releases
    for b in idem_key.bytes().chain(attempts.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    half + h % (half + 1)
}

fn outcome(row: &OutboxRow, intent: &ActionIntent, ok: bool) -> serde_json::Value {
    serde_json::to_value(Outcome {
        key: row.idem_key.clone(),
        ok,
        intent: intent.clone(),
    })
    .unwrap_or_default()
}

/// The timeline rows of `events`.
fn timeline(events: &[Event]) -> Vec<NewTimeline> {
    events.iter().map(NewTimeline::from).collect()
}

/// How an attempt at an outbox row ended.
enum Ending<'a> {
    /// Done, with the row's result.
    Done(&'a serde_json::Value),
    /// Failed for now; tried again at `at`.
    Retry { error: &'a str, at: Timestamp },
    /// Failed for good.
    Failed(&'a str),
}

/// Most outbox rows claimed in one [`Executor::run_due`] round.
const MAX_BATCH: usize = 64;

/// Accounts served at once unless told otherwise: a crisis fan-out to every
/// brand account fits in one round.
const DEFAULT_CONCURRENCY: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one intent could not be carried out.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no adapter for account {0}")]
    NoAccount(String),
    #[error("the outbox payload cannot be read: {0}")]
    Corrupt(String),
    /// The off-hours note waits until the incident's status pin on the
    /// account is restored (an earlier restore is being retried).
    #[error("the status of incident {incident} is still pinned on {account}; the off-hours note waits for its restore")]
    StatusStillPinned { account: String, incident: String },
    #[error("{account} already has {pinned} pinned posts, the most {platform} allows, and the playbook says `at_pin_limit: fail`")]
    PinLimit {
        account: String,
        platform: &'static str,
        pinned: usize,
    },
}

/// One intent carried out (or given up on).
#[derive(Debug)]
pub struct Done {
    pub intent: Option<ActionIntent>,
    pub ok: bool,
    /// What the attempt did. Already on the timeline: the executor writes
    /// them with the row's end, in one transaction; callers only pass them
    /// on (live stream, simulation output).
    pub events: Vec<Event>,
    /// When it will be tried again, if it failed for now.
    pub retry_at: Option<Timestamp>,
}

impl Done {
    /// Counts it in `squall_actions_total` by kind and result.
    pub fn count(&self) {
        if let Some(intent) = &self.intent {
            let result = match (self.ok, self.retry_at) {
                (true, _) => "ok",
                (false, Some(_)) => "retry",
                (false, None) => "failed",
            };
            metrics::counter!("squall_actions_total", "kind" => intent.kind(), "result" => result)
                .increment(1);
        }
    }
}

pub struct Executor {
    store: Store,
    adapters: Adapters,
    config: Arc<Config>,
    /// Lease owner name; unique per process so leases can be told apart.
    worker: String,
    lease: Duration,
    /// Most accounts served at once by [`Executor::run_due`].
    concurrency: usize,
    /// Journal every final outcome with the row's end (cluster workers: the
    /// engine leader learns outcomes from the journal, see [`Outcome`]).
    journal_outcomes: bool,
}

/// What became of an action, as a cluster's outbox worker journals it (kind
/// `outcome`) for the engine leader, which feeds it to the engine like a
/// local executor's [`Done`]. Only final outcomes are journaled: a retry is
/// the worker's business.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub key: String,
    pub ok: bool,
    pub intent: ActionIntent,
}

impl Executor {
    pub fn new(
        store: Store,
        adapters: Adapters,
        config: Arc<Config>,
        worker: impl Into<String>,
    ) -> Self {
        Self {
            store,
            adapters,
            config,
            worker: worker.into(),
            lease: Duration::from_secs(60),
            concurrency: DEFAULT_CONCURRENCY,
            journal_outcomes: false,
        }
    }

    /// Journals each final outcome in the transaction that ends its row
    /// ([`RowEnd::outcome`]): for workers whose outcomes the engine, in
    /// another process, must learn.
    pub fn journaling_outcomes(mut self) -> Self {
        self.journal_outcomes = true;
        self
    }

    /// Ends `row`'s attempt as `end` says, writing `events` to the timeline
    /// and (a final end, when outcomes are journaled) the outcome of
    /// `intent`, all in one transaction ([`RowEnd`]).
    async fn end_row(
        &self,
        row: &OutboxRow,
        intent: &ActionIntent,
        end: Ending<'_>,
        events: &[Event],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let ok = matches!(end, Ending::Done(_));
        let outcome = (self.journal_outcomes && !matches!(end, Ending::Retry { .. }))
            .then(|| outcome(row, intent, ok));
        let with = RowEnd {
            outcome: outcome.as_ref(),
            timeline: &timeline(events),
        };
        let (id, worker) = (row.id, &self.worker);
        match end {
            Ending::Done(result) => {
                self.store
                    .complete_with(id, worker, result, now, with)
                    .await
            }
            Ending::Retry { error, at } => {
                self.store
                    .retry_later_with(id, worker, error, at, now, with)
                    .await
            }
            Ending::Failed(error) => self.store.fail_with(id, worker, error, now, with).await,
        }
    }

    /// Serves at most `n` accounts at once (at least 1; 1 is one at a time).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Claims and runs the next due intent. `Ok(None)` when there is none.
    ///
    /// # Errors
    /// Only store failures; platform failures become retries or `ok: false`.
    pub async fn run_once(&self, now: Timestamp) -> Result<Option<Done>, ExecError> {
        let Some(row) = self.store.claim_next(&self.worker, now, self.lease).await? else {
            return Ok(None);
        };
        self.run_row(row, now).await.map(Some)
    }

    /// Claims every due intent (up to a batch) and runs them: one account's
    /// intents in outbox order, different accounts concurrently. Returns
    /// what was done in outbox order, so that what follows (timeline,
    /// engine) does not depend on which platform answered first. Empty when
    /// nothing is due.
    ///
    /// # Errors
    /// Only store failures; platform failures become retries or `ok: false`.
    pub async fn run_due(&self, now: Timestamp) -> Result<Vec<Done>, ExecError> {
        let mut lanes: Vec<Vec<OutboxRow>> = Vec::new();
        let mut lane_of: std::collections::HashMap<String, usize> = Default::default();
        for _ in 0..MAX_BATCH {
            let Some(row) = self.store.claim_next(&self.worker, now, self.lease).await? else {
                break;
            };
            match row.account.clone() {
                Some(account) => {
                    let i = *lane_of.entry(account).or_insert_with(|| {
                        lanes.push(Vec::new());
                        lanes.len() - 1
                    });
                    lanes[i].push(row);
                }
                None => lanes.push(vec![row]),
            }
        }
        let runs = lanes.into_iter().map(|lane| async move {
            let mut done = Vec::with_capacity(lane.len());
            for row in lane {
                let id = row.id;
                done.push((id, self.run_row(row, now).await));
            }
            done
        });
        use futures::StreamExt;
        let mut all: Vec<(i64, Result<Done, ExecError>)> = futures::stream::iter(runs)
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all.into_iter().map(|(_, d)| d).collect()
    }

    async fn run_row(&self, row: OutboxRow, now: Timestamp) -> Result<Done, ExecError> {
        let intent: Result<ActionIntent, _> = serde_json::from_value(row.payload.clone());
        let intent = match intent {
            Ok(i) => i,
            Err(e) => {
                let events = vec![Event::new(
                    now,
                    EventKind::ActionFailed,
                    "outbox",
                    format!(
                        "Action {} could not be read and was dropped from the queue: {e}.",
                        row.idem_key
                    ),
                )];
                let with = RowEnd {
                    outcome: None,
                    timeline: &timeline(&events),
                };
                let error = format!("unreadable payload: {e}");
                self.store
                    .fail_with(row.id, &self.worker, &error, now, with)
                    .await?;
                return Ok(Done {
                    intent: None,
                    ok: false,
                    events,
                    retry_at: None,
                });
            }
        };
        let mut events = Vec::new();
        match self.perform(&intent, &row, now, &mut events).await {
            Ok(post) => {
                // The status post is kept with the row, so that an update
                // can find a post that was never pinned (status pages).
                let result = match post {
                    Some(post) => serde_json::json!({"ok": true, "post": post}),
                    None => serde_json::json!({"ok": true}),
                };
                self.end_row(&row, &intent, Ending::Done(&result), &events, now)
                    .await?;
                Ok(Done {
                    intent: Some(intent),
                    ok: true,
                    events,
                    retry_at: None,
                })
            }
            Err(e) => {
                let retryable = match &e {
                    StepError::Adapter(a) => a.is_retryable(),
                    StepError::Store(_) | StepError::StatusStillPinned { .. } => true,
                    _ => false,
                };
                let mut ev = |kind, msg: String| {
                    let mut ev = Event::new(now, kind, "outbox", msg).with("key", &row.idem_key);
                    if let Some(i) = intent.incident() {
                        ev = ev.incident(i);
                    }
                    events.push(ev);
                };
                let error = e.to_string();
                if retryable && row.attempts < MAX_ATTEMPTS {
                    let wait = match &e {
                        StepError::Adapter(AdapterError::RateLimited { retry_after_secs }) => {
                            *retry_after_secs
                        }
                        _ => backoff_secs(&row.idem_key, row.attempts),
                    };
                    let at = now + chrono::Duration::seconds(wait as i64);
                    ev(
                        EventKind::ActionRetry,
                        format!(
                            "{} on {} failed ({e}); retrying at {}.",
                            intent.kind(),
                            intent.account().unwrap_or("-"),
                            at.to_rfc3339()
                        ),
                    );
                    // A retry is still the outbox's business: no outcome yet.
                    let end = Ending::Retry { error: &error, at };
                    self.end_row(&row, &intent, end, &events, now).await?;
                    Ok(Done {
                        intent: Some(intent),
                        ok: false,
                        events,
                        retry_at: Some(at),
                    })
                } else {
                    ev(
                        EventKind::ActionFailed,
                        format!(
                            "{} on {} failed for good: {e}.",
                            intent.kind(),
                            intent.account().unwrap_or("-")
                        ),
                    );
                    self.end_row(&row, &intent, Ending::Failed(&error), &events, now)
                        .await?;
                    Ok(Done {
                        intent: Some(intent),
                        ok: false,
                        events,
                        retry_at: None,
                    })
                }
            }
        }
    }

    /// The worker name its leases carry.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    fn platform(&self, account: &str) -> Result<&Arc<dyn Platform>, StepError> {
        self.adapters
            .platforms
            .get(account)
            .ok_or_else(|| StepError::NoAccount(account.to_string()))
    }

    async fn perform(
        &self,
        intent: &ActionIntent,
        row: &OutboxRow,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<Option<PostRef>, StepError> {
        let key = &row.idem_key;
        match intent {
            ActionIntent::PostStatus {
                incident,
                account,
                text,
                pin,
                at_pin_limit,
            } => {
                let plan = StatusPlan {
                    owner: PinOwner::status(incident),
                    account,
                    text,
                    pin: *pin,
                    at_pin_limit: *at_pin_limit,
                    key,
                };
                self.post_status(plan, now, events).await.map(Some)
            }
            ActionIntent::EditStatus {
                incident,
                account,
                text,
            } => {
                let p = self.platform(account)?;
                let ours = self
                    .store
                    .active_pin(account, PinPurpose::Status)
                    .await?
                    .filter(|r| r.incident_id.as_deref() == Some(incident));
                match ours {
                    Some(pin) if p.capabilities().can_edit => {
                        p.edit(
                            &PostRef {
                                id: pin.post_id.clone(),
                                url: pin.post_url.clone(),
                            },
                            text,
                        )
                        .await?;
                        events.push(status_updated(
                            now,
                            incident,
                            account,
                            &pin.post_id,
                            format!("Status post on {account} edited."),
                        ));
                    }
                    Some(pin) => {
                        // No editing (Bluesky): the update is a new post, pinned
                        // in place of the old one so the pin tells the truth.
                        // Pin the new post before unpinning the old one, so
                        // the account is never without its status (on Bluesky
                        // the pin replaces the old one and the unpin finds
                        // nothing left to do). A retry finds the pin row
                        // already repointed, so the old post is then known
                        // only as `old`, from the first attempt's record.
                        let old = PostRef {
                            id: pin.post_id.clone(),
                            url: pin.post_url.clone(),
                        };
                        let new = p.post(text, key).await?;
                        if new.id != old.id {
                            self.store
                                .apply(&[Write::RepointPin {
                                    pin_id: pin.id,
                                    post_id: new.id.clone(),
                                    post_url: new.url.clone(),
                                }])
                                .await?;
                            p.pin(&new).await?;
                            p.unpin(&old).await?;
                        } else {
                            p.pin(&new).await?;
                        }
                        events.push(status_updated(now, incident, account, &new.id, format!("Status update posted on {account} and pinned in place of the previous one (the platform cannot edit posts).")));
                    }
                    // Never pinned (status pages): edit the post itself
                    // where the platform can, found in the outbox record.
                    None if p.capabilities().can_edit => {
                        let Some(post) = self.store.status_post(incident, account).await? else {
                            let post = p.post(text, key).await?;
                            events.push(status_updated(now, incident, account, &post.id, format!("Status update posted on {account} as a new post (no status post of this incident was found there).")));
                            return Ok(None);
                        };
                        p.edit(&post, text).await?;
                        events.push(status_updated(
                            now,
                            incident,
                            account,
                            &post.id,
                            format!("Status post on {account} edited."),
                        ));
                    }
                    None => {
                        let post = p.post(text, key).await?;
                        events.push(status_updated(now, incident, account, &post.id, format!("Status update posted on {account} as a new post (nothing of this incident is pinned there).")));
                    }
                }
                Ok(None)
            }
            ActionIntent::RestorePins { incident, account } => self
                .restore(PinOwner::status(incident), account, now, events)
                .await
                .map(|()| None),
            ActionIntent::PinNote { account, text } => {
                // Normally the incident's restore ran just before, in outbox
                // order; if it is being retried, the note waits for it.
                if let Some(status) = self.store.active_pin(account, PinPurpose::Status).await? {
                    return Err(StepError::StatusStillPinned {
                        account: account.clone(),
                        incident: status.incident_id.unwrap_or_default(),
                    });
                }
                let plan = StatusPlan {
                    owner: PinOwner::NOTE,
                    account,
                    text,
                    pin: true,
                    at_pin_limit: AtPinLimit::UnpinOldest,
                    key,
                };
                self.post_status(plan, now, events).await.map(Some)
            }
            ActionIntent::UnpinNote { account } => self
                .restore(PinOwner::NOTE, account, now, events)
                .await
                .map(|()| None),
            ActionIntent::PostFinal {
                incident,
                account,
                text,
            } => {
                let post = self.platform(account)?.post(text, key).await?;
                events.push(
                    Event::new(
                        now,
                        EventKind::FinalPosted,
                        "outbox",
                        format!("Resolution posted on {account}."),
                    )
                    .incident(incident)
                    .with("account", account)
                    .with("post", &post.id),
                );
                Ok(None)
            }
            ActionIntent::SendReply {
                account,
                in_reply_to,
                author_id,
                text,
                private,
                ..
            } => {
                // The engine already put the decision on the timeline; the
                // outcome reaches it through `Engine::action_done`.
                let p = self.platform(account)?;
                if *private {
                    p.direct_message(author_id, text, key).await?;
                } else {
                    p.reply(in_reply_to, text, key).await?;
                }
                Ok(None)
            }
            ActionIntent::Digest {
                staff,
                subject,
                text,
                html,
                drafts,
            } => {
                let Some(person) = self.config.staff.get(staff) else {
                    return Err(StepError::Corrupt(format!("no staff {staff}")));
                };
                self.adapters
                    .notifier
                    .send_digest(person, subject, text, html, key)
                    .await?;
                let ev = Event::new(
                    now,
                    EventKind::Notified,
                    "outbox",
                    format!(
                        "{} e-mailed a digest of {}.",
                        person.name,
                        crate::engine::plural(drafts.len() as u32, "draft")
                    ),
                )
                .with("staff", staff);
                events.push(ev);
                Ok(None)
            }
            ActionIntent::Notify {
                incident,
                staff,
                channel,
                subject,
                text,
            } => {
                let Some(person) = self.config.staff.get(staff) else {
                    return Err(StepError::Corrupt(format!("no staff {staff}")));
                };
                self.adapters
                    .notifier
                    .send(person, *channel, subject, text, key)
                    .await?;
                let mut ev = Event::new(
                    now,
                    EventKind::Notified,
                    "outbox",
                    format!(
                        "{} notified by {}: {subject}",
                        person.name,
                        match channel {
                            crate::playbook::Channel::Email => "email",
                            crate::playbook::Channel::Chat => "chat",
                        }
                    ),
                )
                .with("staff", staff);
                if let Some(i) = incident {
                    ev = ev.incident(i);
                }
                events.push(ev);
                Ok(None)
            }
            ActionIntent::Webhook {
                incident,
                url,
                body,
                secret_env,
            } => {
                self.adapters
                    .webhooks
                    .post(url, body, secret_env.as_deref(), key)
                    .await?;
                let mut ev = Event::new(
                    now,
                    EventKind::WebhookSent,
                    "outbox",
                    format!("Webhook {url} called."),
                )
                .with("url", url);
                if let Some(i) = incident {
                    ev = ev.incident(i);
                }
                events.push(ev);
                Ok(None)
            }
        }
    }

    async fn post_status(
        &self,
        plan: StatusPlan<'_>,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<PostRef, StepError> {
        let StatusPlan {
            owner,
            account,
            text,
            pin,
            at_pin_limit,
            key,
        } = plan;
        let p = self.platform(account)?;
        let caps = p.capabilities();
        let what = owner.what();
        let ev = |kind, msg: String| owner.event(now, kind, account, msg);
        if owner.purpose == PinPurpose::Status {
            // The status wins the pin. The engine unpinned the note just
            // before (in outbox order); if that unpin is being retried, lift
            // the note here, so that it is never counted as a displaced
            // post of the incident and pinned back by its restore.
            self.restore(PinOwner::NOTE, account, now, events).await?;
        }
        let existing = self.store.active_pin(account, owner.purpose).await?;
        let (post, displaced) = match existing {
            // Resuming after a crash: the pin row is the plan; finish it.
            Some(row) if row.incident_id.as_deref() == owner.incident => (
                PostRef {
                    id: row.post_id.clone(),
                    url: row.post_url.clone(),
                },
                row.displaced.clone(),
            ),
            other => {
                let skip = match other {
                    Some(row) => Some(format!(
                        "Not pinned on {account}: it already shows the status of incident {}; squall never holds two pins on one account.",
                        row.incident_id.unwrap_or_default()
                    )),
                    None if !pin || !caps.can_pin() => Some(format!("Not pinned on {account}: the platform has no pinning.")),
                    None => None,
                };
                if let Some(why) = skip {
                    let post = p.post(text, key).await?;
                    events.push(
                        ev(
                            EventKind::StatusPosted,
                            format!("{what} posted on {account}."),
                        )
                        .with("post", &post.id),
                    );
                    events.push(ev(EventKind::PinSkipped, why));
                    return Ok(post);
                }
                // What is pinned is read before posting, so that an account
                // at its limit under `at_pin_limit: fail` gets no post at all.
                let current = p.pinned().await?;
                let excess = (current.len() + 1).saturating_sub(caps.max_pins);
                if excess > 0 && at_pin_limit == AtPinLimit::Fail {
                    return Err(StepError::PinLimit {
                        account: account.to_string(),
                        platform: self
                            .config
                            .accounts
                            .get(account)
                            .map_or("the platform", |a| a.platform.as_str()),
                        pinned: current.len(),
                    });
                }
                let post = p.post(text, key).await?;
                events.push(
                    ev(
                        EventKind::StatusPosted,
                        format!("{what} posted on {account}."),
                    )
                    .with("post", &post.id),
                );
                let others: Vec<PostRef> =
                    current.into_iter().filter(|c| c.id != post.id).collect();
                let displaced: Vec<PostRef> = others.into_iter().take(excess).collect();
                let new = NewPin {
                    account: account.to_string(),
                    post_id: post.id.clone(),
                    post_url: post.url.clone(),
                    incident_id: owner.incident.map(str::to_string),
                    purpose: owner.purpose,
                    pinned_at: now,
                    displaced: displaced.clone(),
                };
                self.store.apply(&[Write::RecordPin(new)]).await?;
                (post, displaced)
            }
        };
        for d in &displaced {
            p.unpin(d).await?;
            events.push(
                ev(
                    EventKind::Unpinned,
                    format!(
                        "Unpinned {} on {account} to make room (it will be restored).",
                        d.id
                    ),
                )
                .with("post", &d.id),
            );
        }
        p.pin(&post).await?;
        events.push(
            ev(EventKind::Pinned, format!("{what} pinned on {account}.")).with("post", &post.id),
        );
        Ok(post)
    }

    async fn restore(
        &self,
        owner: PinOwner<'_>,
        account: &str,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<(), StepError> {
        let p = self.platform(account)?;
        let Some(row) = self
            .store
            .active_pin(account, owner.purpose)
            .await?
            .filter(|r| r.incident_id.as_deref() == owner.incident)
        else {
            return Ok(()); // nothing of ours pinned there (never pinned, or already restored)
        };
        p.unpin(&PostRef {
            id: row.post_id.clone(),
            url: row.post_url.clone(),
        })
        .await?;
        events.push(
            owner
                .event(
                    now,
                    EventKind::Unpinned,
                    account,
                    format!("{} unpinned on {account}.", owner.what()),
                )
                .with("post", &row.post_id),
        );
        let restored = self.restore_order(p.as_ref(), &row).await?;
        for d in &restored {
            events.push(
                owner
                    .event(
                        now,
                        EventKind::PinRestored,
                        account,
                        format!(
                            "Re-pinned {} on {account}, as it was before {}.",
                            d.id,
                            owner.before()
                        ),
                    )
                    .with("post", &d.id),
            );
        }
        let mut writes = vec![Write::MarkUnpinned {
            pin_id: row.id,
            at: now,
        }];
        if !row.displaced.is_empty() {
            writes.push(Write::MarkRestored {
                pin_id: row.id,
                at: now,
            });
        }
        self.store.apply(&writes).await?;
        Ok(())
    }

    /// Pins what squall displaced again, and puts the account's pins back in
    /// the order they had before the incident: the displaced posts were the
    /// oldest, and re-pinning them alone would show them newest. The full
    /// order is written to the store before the first unpin, and each run
    /// skips the part already in place, so a restore cut short resumes
    /// without losing a post. Returns the posts pinned again, in order.
    async fn restore_order(
        &self,
        p: &dyn Platform,
        row: &crate::store::PinRow,
    ) -> Result<Vec<PostRef>, StepError> {
        if row.displaced.is_empty() {
            return Ok(Vec::new());
        }
        let ours = &row.post_id;
        let current: Vec<PostRef> = p
            .pinned()
            .await?
            .into_iter()
            .filter(|c| &c.id != ours)
            .collect();
        // Previous order: the displaced (oldest) first, then what stayed
        // pinned (and anything people pinned since), without repeats.
        let mut order: Vec<PostRef> = Vec::new();
        for c in row.displaced.iter().chain(current.iter()) {
            if !order.iter().any(|o| o.id == c.id) {
                order.push(c.clone());
            }
        }
        if order != row.displaced {
            self.store
                .apply(&[Write::PlanRestore {
                    pin_id: row.id,
                    order: order.clone(),
                }])
                .await?;
        }
        // The longest head of `order` already pinned in that order stays.
        let pinned_in_order: Vec<&PostRef> = current
            .iter()
            .filter(|c| order.iter().any(|o| o.id == c.id))
            .collect();
        let keep = order
            .iter()
            .zip(pinned_in_order.iter())
            .take_while(|(o, c)| o.id == c.id)
            .count();
        let rest = &order[keep..];
        if p.capabilities().max_pins > 1 {
            for c in rest.iter().filter(|r| current.iter().any(|c| c.id == r.id)) {
                p.unpin(c).await?;
            }
        }
        for r in rest {
            p.pin(r).await?;
        }
        Ok(rest.to_vec())
    }
}

/// Whose pin an intent is about: an incident's status post, or the
/// account's standing off-hours note. Both use the same bookkeeping (the
/// pin row is written before the platform is touched, displaced posts are
/// restored); the store keeps at most one active pin per account and purpose.
#[derive(Debug, Clone, Copy)]
struct PinOwner<'a> {
    purpose: PinPurpose,
    incident: Option<&'a str>,
}

impl<'a> PinOwner<'a> {
    const NOTE: PinOwner<'static> = PinOwner {
        purpose: PinPurpose::OffHours,
        incident: None,
    };

    fn status(incident: &'a str) -> Self {
        Self {
            purpose: PinPurpose::Status,
            incident: Some(incident),
        }
    }

    /// The post, as a sentence starts with it.
    fn what(self) -> &'static str {
        match self.purpose {
            PinPurpose::Status => "Status",
            PinPurpose::OffHours => "Off-hours note",
        }
    }

    /// What displaced pins go back to being "as it was before".
    fn before(self) -> &'static str {
        match self.purpose {
            PinPurpose::Status => "the incident",
            PinPurpose::OffHours => "the off-hours note",
        }
    }

    /// A timeline event about this pin on `account`.
    fn event(self, now: Timestamp, kind: EventKind, account: &str, msg: String) -> Event {
        let mut ev = Event::new(now, kind, "outbox", msg).with("account", account);
        if let Some(incident) = self.incident {
            ev = ev.incident(incident);
        }
        if self.purpose == PinPurpose::OffHours {
            ev = ev.with("purpose", self.purpose);
        }
        ev
    }
}

/// One `PostStatus` or `PinNote` intent, unpacked.
struct StatusPlan<'a> {
    owner: PinOwner<'a>,
    account: &'a str,
    text: &'a str,
    pin: bool,
    at_pin_limit: AtPinLimit,
    key: &'a str,
}

/// A `status_updated` timeline event about one account's status post.
fn status_updated(
    now: Timestamp,
    incident: &str,
    account: &str,
    post: &str,
    message: String,
) -> Event {
    Event::new(now, EventKind::StatusUpdated, "outbox", message)
        .incident(incident)
        .with("account", account)
        .with("post", post)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_equal_jitter_and_is_capped() {
        for attempts in 1..=12 {
            let base = 2u64.pow(attempts as u32).min(MAX_BACKOFF_SECS);
            for key in ["post/acme-main", "post/acme-bsky", "notify/ana"] {
                let wait = backoff_secs(key, attempts);
                assert!(
                    (base / 2..=base).contains(&wait),
                    "{key} #{attempts}: {wait} not in {}..={base}",
                    base / 2
                );
                assert_eq!(wait, backoff_secs(key, attempts), "reproducible");
            }
        }
    }

    #[test]
    fn actions_that_failed_together_do_not_all_retry_together() {
        let waits: std::collections::BTreeSet<u64> = (0..20)
            .map(|i| backoff_secs(&format!("incident/post_status/acct-{i}"), 6))
            .collect();
        assert!(waits.len() > 5, "{waits:?}");
    }
}
