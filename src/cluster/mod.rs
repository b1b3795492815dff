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
//! `FOR UPDATE SKIP LOCKED`, under a lease; one account's rows in order).
//! Each instance holds a liveness lock while it lives ([`Membership`]);
//! the leases of an instance whose lock is free are void ([`reap`]), so a
//! `kill -9` in the middle of an action is taken over within a second, not
//! when the lease runs out. Workers journal each action's outcome, which
//! is how the engine leader learns it. See ARCHITECTURE.md.

pub mod nats;
pub mod views;

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

/// Advisory lock class of the instances' liveness locks. These use the
/// two-key form (class, instance hash), a key space apart from the
/// single-key leader and journal locks.
const MEMBER_CLASS: i32 = 0x5351_4d31;

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
    #[error("another live instance is named {0:?}: give each instance its own name (--instance or SQUALL_INSTANCE)")]
    NameInUse(String),
    #[error("the engine leader did not handle input {seq} within {waited:?}")]
    NoAnswer { seq: i64, waited: Duration },
    /// The leader could not answer a view of its engine's memory.
    #[error("the engine leader could not answer: {0}")]
    View(String),
    #[error("the engine leader did not answer the {view} view within {waited:?}")]
    NoView {
        view: &'static str,
        waited: Duration,
    },
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
    /// The instance that led before.
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

/// The liveness lock key of an instance name (FNV-1a, 32 bits: stable
/// across releases and processes).
fn member_key(instance: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in instance.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h as i32
}

/// This instance's membership of the cluster: a session-level advisory lock
/// keyed by its name, held on a connection of its own for as long as the
/// process lives. Postgres frees it when the session ends, whether the
/// process stopped, crashed or was killed; [`reap`] reads that as death.
pub struct Membership {
    conn: PgConnection,
    instance: String,
}

/// How long [`Membership::join`] waits for a previous process of the same
/// name to be gone (its session ends a moment after it dies).
const JOIN_PATIENCE: Duration = Duration::from_secs(10);

impl Membership {
    /// Takes this instance's liveness lock, then voids the leases a
    /// previous process of the same name left (it is dead: it no longer
    /// holds the lock). Fails if another live process uses the name.
    pub async fn join(pool: &PgPool, instance: &str) -> Result<Membership, ClusterError> {
        let started = tokio::time::Instant::now();
        let conn = loop {
            let mut pooled = pool
                .acquire()
                .await
                .map_err(query("connect for membership"))?;
            let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(MEMBER_CLASS)
                .bind(member_key(instance))
                .fetch_one(&mut *pooled)
                .await
                .map_err(query("take the liveness lock"))?;
            if locked {
                break pooled.detach();
            }
            if started.elapsed() >= JOIN_PATIENCE {
                return Err(ClusterError::NameInUse(instance.to_owned()));
            }
            drop(pooled);
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let released = Journal::new(pool.clone())
            .release_leases_of(instance)
            .await?;
        if released > 0 {
            tracing::warn!(
                instance,
                actions = released,
                "actions this instance's previous process left unfinished will be retried"
            );
        }
        Ok(Membership {
            conn,
            instance: instance.to_owned(),
        })
    }

    /// Whether the lock session still answers. A worker that cannot tell
    /// must stop claiming: the others may already have voided its leases.
    pub async fn alive(&mut self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), self.conn.ping())
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }
}

/// Voids the outbox leases of every instance that is gone (its liveness
/// lock is free), so that their interrupted actions are taken over now.
/// Returns how many leases were voided. The adapters' idempotency keys and
/// the pin bookkeeping make a resumed action a no-op where it took effect.
pub async fn reap(pool: &PgPool, me: &str) -> Result<u64, ClusterError> {
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT lease_owner FROM outbox WHERE state = 'running' AND lease_owner <> $1",
    )
    .bind(me)
    .fetch_all(pool)
    .await
    .map_err(query("list lease owners"))?;
    let mut released = 0;
    for owner in owners {
        let mut conn = pool.acquire().await.map_err(query("connect to reap"))?;
        let key = member_key(&owner);
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(MEMBER_CLASS)
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .map_err(query("test a liveness lock"))?;
        if !free {
            continue; // alive
        }
        // Void the leases while holding the lock, so that an instance of
        // that name starting now cannot have claimed anything meanwhile.
        let voided = Journal::new(pool.clone()).release_leases_of(&owner).await;
        sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(MEMBER_CLASS)
            .bind(key)
            .execute(&mut *conn)
            .await
            .map_err(query("free a liveness lock"))?;
        let voided = voided?;
        if voided > 0 {
            tracing::warn!(
                instance = %owner,
                actions = voided,
                "instance gone: its interrupted actions are taken over"
            );
            metrics::counter!("squall_outbox_leases_reaped_total").increment(voided);
        }
        released += voided;
    }
    Ok(released)
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

    /// Ends the outbox leases of `worker` (an instance that is gone: see
    /// [`reap`]), so its interrupted actions resume now rather than when
    /// their leases run out. Idempotency keys make a repeat a no-op.
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
