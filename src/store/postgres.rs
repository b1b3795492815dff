//! The Postgres backend: several `squall serve` instances share one database.
//!
//! The operations are the SQLite ones (`ops.rs`), compiled against Postgres'
//! types. What differs: claiming an outbox row locks it and skips rows other
//! instances hold (`FOR UPDATE SKIP LOCKED`), and every append to the input
//! journal takes a transaction-scoped advisory lock first, so journal
//! sequence numbers become visible in the order they were assigned: a reader
//! that has seen `seq = n` can never later find a row with a smaller `seq`.

use super::{redact_url, Result, StoreError};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

type Conn = PgConnection;
type DbPool = PgPool;
type Db = Postgres;

/// Claims the oldest claimable row, skipping rows another instance is
/// claiming at this moment; see [`super::sql::CLAIM_NEXT`].
fn claim_next_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| super::sql::claim_next("FOR UPDATE OF o SKIP LOCKED"));
    &SQL
}

/// Advisory lock key serialising journal appends (`'squall.inputs'` as a
/// number; any constant works as long as every instance uses the same one).
pub(crate) const JOURNAL_LOCK: i64 = 0x5351_5541_4c4c_4a31;

/// Connections per instance: the engine, the outbox workers, API readers and
/// journal appends all draw from it.
const POOL_SIZE: u32 = 16;

/// The Postgres store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub(super) struct Backend {
    pool: PgPool,
}

impl Backend {
    /// Connects to the database at `url` (which must exist) and brings its
    /// schema up to date. Several instances may start at once: the migrator
    /// holds an advisory lock while it works.
    pub async fn open(url: &str) -> Result<Self> {
        let shown = redact_url(url);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                url: shown.clone(),
                source,
            })?;
        MIGRATOR.run(&pool).await.map_err(StoreError::Migrate)?;
        tracing::info!(url = %shown, "store opened");
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self, what: &'static str) -> Result<Transaction<'static, Db>> {
        self.pool.begin().await.map_err(query(what))
    }
}

/// Makes the journal appends of this transaction wait for the others'.
async fn lock_journal(conn: &mut Conn, what: &'static str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(JOURNAL_LOCK)
        .execute(conn)
        .await
        .map_err(query(what))?;
    Ok(())
}

/// The channel on which a commit that enqueued actions wakes every
/// instance's outbox worker (`NOTIFY` is delivered at commit, not before).
pub const OUTBOX_CHANNEL: &str = "squall_outbox";

/// Wakes the cluster's outbox workers once this transaction commits.
async fn announce_work(conn: &mut Conn) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(OUTBOX_CHANNEL)
        .execute(conn)
        .await
        .map_err(query("announce outbox work"))?;
    Ok(())
}

/// Fails the transaction unless `epoch` is still the cluster's leadership
/// epoch: a deposed leader's decisions are refused, not merged.
async fn check_fence(conn: &mut Conn, epoch: i64) -> Result<()> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT epoch FROM cluster_leader WHERE id = 1 FOR SHARE")
            .fetch_optional(conn)
            .await
            .map_err(query("check leadership epoch"))?;
    if current == Some(epoch) {
        Ok(())
    } else {
        Err(StoreError::Fenced {
            epoch,
            current: current.unwrap_or(0),
        })
    }
}

include!("ops.rs");
