//! Every cluster instance's outbox worker (a `postgres://` store).
//!
//! The engine leader only decides: it enqueues intents and moves on. Each
//! instance, the leader included, runs this loop, which claims what is due
//! (`FOR UPDATE SKIP LOCKED`, one account's rows in order, see
//! `store::sql::CLAIM_NEXT`), carries it out through the adapters, and ends
//! each row together with a journal entry of its outcome, which is how the
//! leader's engine learns that a reply went out. A slow platform therefore
//! never holds up the engine, and the work spreads over the instances.
//!
//! The loop wakes when a commit enqueued something (Postgres `NOTIFY` on
//! [`crate::store::OUTBOX_CHANNEL`]), when a retry it scheduled is due, and
//! at least every [`POLL`] (retries other instances scheduled, leases of
//! instances that are gone: [`crate::cluster::reap`]).

use crate::actions::executor::{Done, Executor};
use crate::clock::Timestamp;
use crate::cluster::{reap, Membership};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

/// Longest sleep between two looks at the outbox.
const POLL: Duration = Duration::from_millis(250);

/// How often the worker checks its own liveness lock and looks for the
/// leases of instances that are gone.
const REAP_EVERY: Duration = Duration::from_millis(500);

/// Works the shared outbox until shutdown. `executor` must journal outcomes
/// ([`Executor::journaling_outcomes`]) and carry this instance's name.
pub async fn work(executor: Executor, pool: PgPool, mut shutdown: watch::Receiver<bool>) {
    let instance = executor.worker().to_owned();
    while !*shutdown.borrow() {
        match Membership::join(&pool, &instance).await {
            Ok(membership) => {
                tracing::info!(instance, "outbox worker started");
                serve(&executor, &pool, membership, &mut shutdown).await;
            }
            Err(e) => {
                tracing::error!(error = %crate::diagnostics::chain(&e), "outbox worker cannot join the cluster")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One membership's worth of work: returns at shutdown, or when the
/// liveness lock is lost (the caller joins again).
async fn serve(
    executor: &Executor,
    pool: &PgPool,
    mut membership: Membership,
    shutdown: &mut watch::Receiver<bool>,
) {
    let mut listener = match listen(pool).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %crate::diagnostics::chain(&e), "no outbox notifications: polling only");
            None
        }
    };
    let mut retry_at: Option<Timestamp> = None;
    let mut last_reap: Option<tokio::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if last_reap.is_none_or(|t| t.elapsed() >= REAP_EVERY) {
            if !membership.alive().await {
                tracing::error!(
                    instance = membership.instance(),
                    "liveness lock lost: the outbox worker stops claiming and joins again"
                );
                return;
            }
            if let Err(e) = reap(pool, membership.instance()).await {
                tracing::warn!(error = %crate::diagnostics::chain(&e), "leases of departed instances not checked");
            }
            last_reap = Some(tokio::time::Instant::now());
        }
        let now = chrono::Utc::now();
        if retry_at.is_some_and(|t| t <= now) {
            retry_at = None;
        }
        match executor.run_due(now).await {
            Ok(batch) if !batch.is_empty() => {
                for done in batch {
                    if let Some(at) = done.retry_at {
                        retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
                    }
                    record(&done);
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %crate::diagnostics::chain(&e), "outbox not worked this round")
            }
        }
        let wait = retry_at
            .and_then(|t| (t - chrono::Utc::now()).to_std().ok())
            .map_or(POLL, |d| d.min(POLL));
        match listener.as_mut() {
            Some(l) => tokio::select! {
                n = l.recv() => if let Err(e) = n {
                    tracing::warn!(error = %crate::diagnostics::chain(&e), "outbox notifications interrupted");
                    tokio::time::sleep(wait).await;
                },
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            },
            None => tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            },
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen(crate::store::OUTBOX_CHANNEL).await?;
    Ok(l)
}

/// Counts what an action did. Its events are already on the timeline
/// (every instance's live stream reads them from there): the executor wrote
/// them with the row's end.
fn record(done: &Done) {
    done.count();
}
