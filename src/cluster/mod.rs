//! Several `squall serve` instances on one Postgres database.
//!
//! The input journal is the shared state. Every instance takes API traffic
//! and appends what it receives to the journal ([`Follower`]); exactly one
//! instance at a time, the engine leader, holds a session-level advisory
//! lock ([`Leadership`]), applies the journal in `seq` order to the one
//! engine, and runs the timers. Surge detection therefore sees the whole
//! mention stream whichever instance received each mention, and a timer
//! fires once. When the leader dies its database session ends, the lock is
//! released, another instance takes it, bumps the leadership epoch and
//! rebuilds the engine from the journal ([`crate::runtime::Runtime::resume`]).
//! A deposed leader that still runs cannot write: every batch it commits
//! checks the epoch in its transaction (fencing).
//!
//! The outbox is worked by every instance (claims take the row with
//! `FOR UPDATE SKIP LOCKED`, under a lease). See ARCHITECTURE.md.

pub mod nats;

use crate::clock::Timestamp;
use crate::engine::events::Event;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, PgPool};

use std::time::Duration;

/// Advisory lock key held by the engine leader for as long as it leads.
const LEADER_LOCK: i64 = 0x5351_5541_4c4c_4c31;

/// How often a follower tries to become leader, and how often the leader
/// checks that its lock session is still alive.
pub const LEADER_POLL: Duration = Duration::from_millis(200);

/// How often a waiting request checks whether the leader answered it.
const RESULT_POLL: Duration = Duration::from_millis(10);

/// Errors of the cluster coordination.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster coordination query failed: {what}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("the engine leader did not handle input {seq} within {waited:?}")]
    NoAnswer { seq: i64, waited: Duration },
    /// A view of the engine's live state (off-hours desks, trigger rates)
    /// that only the leader's process holds; followers do not forward reads.
    #[error("{0} is a view of the engine leader's memory and is not served in cluster mode yet")]
    LeaderOnly(&'static str),
}

fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> ClusterError {
    move |source| ClusterError::Query { what, source }
}

/// The engine leadership of this instance: the advisory lock lives in this
/// connection's session, so it ends when the process or its connection does.
pub struct Leadership {
    conn: PgConnection,
    /// This leadership's fencing token.
    pub epoch: i64,
    /// The instance that led before (its outbox leases are void).
    pub previous: String,
}

impl Leadership {
    /// Tries once to become the engine leader. On success the epoch is
    /// bumped and this instance recorded as the holder.
    pub async fn try_acquire(
        pool: &PgPool,
        instance: &str,
        now: Timestamp,
    ) -> Result<Option<Leadership>, ClusterError> {
        let mut pooled = pool
            .acquire()
            .await
            .map_err(query("connect for leadership"))?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *pooled)
            .await
            .map_err(query("take the leader lock"))?;
        if !locked {
            return Ok(None); // the connection goes back to the pool
        }
        // The lock lives in this session: it leaves the pool for good.
        let mut conn = pooled.detach();
        let previous: String = sqlx::query_scalar("SELECT holder FROM cluster_leader WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .map_err(query("read the leader row"))?;
        let epoch: i64 = sqlx::query_scalar(
            "UPDATE cluster_leader SET epoch = epoch + 1, holder = $1, since = $2 \
             WHERE id = 1 RETURNING epoch",
        )
        .bind(instance)
        .bind(crate::store::ts_text(now))
        .fetch_one(&mut conn)
        .await
        .map_err(query("bump the leadership epoch"))?;
        tracing::info!(instance, epoch, previous = %previous, "this instance is now the engine leader");
        Ok(Some(Leadership {
            conn,
            epoch,
            previous,
        }))
    }

    /// Whether the lock session still answers. A leader that cannot tell
    /// must stop leading: its lock may already be someone else's.
    pub async fn alive(&mut self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), self.conn.ping())
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// The leader's record of what it applied, and its answers to the requests
/// other instances wait on.
#[derive(Clone)]
pub struct Journal {
    pool: PgPool,
}

impl Journal {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records the engine's answer to journal entry `seq` (an alert or a
    /// command) for the instance whose caller waits for it.
    pub async fn answer(&self, seq: i64, events: &[Event]) -> Result<(), ClusterError> {
        let events = serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned());
        sqlx::query(
            "INSERT INTO input_results (seq, events) VALUES ($1, $2) ON CONFLICT (seq) DO NOTHING",
        )
        .bind(seq)
        .bind(events)
        .execute(&self.pool)
        .await
        .map_err(query("record an answer"))?;
        Ok(())
    }

    /// Records how far the leader's engine has applied the journal.
    pub async fn applied(&self, epoch: i64, seq: i64) -> Result<(), ClusterError> {
        sqlx::query("UPDATE cluster_leader SET applied_seq = $1 WHERE id = 1 AND epoch = $2")
            .bind(seq)
            .bind(epoch)
            .execute(&self.pool)
            .await
            .map_err(query("record applied seq"))?;
        Ok(())
    }

    /// Waits until the leader answered journal entry `seq` (whichever
    /// instance leads, including one that takes over meanwhile).
    pub async fn wait_answer(
        &self,
        seq: i64,
        patience: Duration,
    ) -> Result<Vec<Event>, ClusterError> {
        let started = tokio::time::Instant::now();
        loop {
            let found: Option<String> =
                sqlx::query_scalar("SELECT events FROM input_results WHERE seq = $1")
                    .bind(seq)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(query("read an answer"))?;
            if let Some(events) = found {
                return Ok(serde_json::from_str(&events).unwrap_or_default());
            }
            if started.elapsed() >= patience {
                return Err(ClusterError::NoAnswer {
                    seq,
                    waited: patience,
                });
            }
            tokio::time::sleep(RESULT_POLL).await;
        }
    }

    /// The current leader and how far it applied the journal.
    pub async fn leader(&self) -> Result<(String, i64, i64), ClusterError> {
        sqlx::query_as("SELECT holder, epoch, applied_seq FROM cluster_leader WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(query("read the leader row"))
    }

    /// Ends the outbox leases of `worker` (a leader that lost its lock: its
    /// session is gone), so its interrupted actions resume now rather than
    /// when their leases run out. Idempotency keys make a repeat a no-op.
    /// The lease is moved to the epoch, not to now: the new leader claims at
    /// the engine time of the entries it applies, which may be earlier.
    pub async fn release_leases_of(&self, worker: &str) -> Result<u64, ClusterError> {
        if worker.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = $2 WHERE state = 'running' AND lease_owner = $1",
        )
        .bind(worker)
        .bind(crate::store::ts_text(Timestamp::UNIX_EPOCH))
        .execute(&self.pool)
        .await
        .map_err(query("release leases"))?;
        Ok(done.rows_affected())
    }
}
