//! The SQLite backend: opening, migrating, and what differs from Postgres.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, which takes SQLite's
//! single write lock up front: with several pooled connections a deferred
//! transaction that reads first could otherwise fail to upgrade with
//! `SQLITE_BUSY` instead of waiting for the busy timeout. The operations
//! themselves are shared with Postgres (`ops.rs`).

use super::{redact_url, Result, StoreError};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

type Conn = SqliteConnection;
type DbPool = SqlitePool;
type Db = Sqlite;

/// SQLite has a single writer, so the claim statement alone is atomic.
fn claim_next_sql() -> &'static str {
    super::sql::CLAIM_NEXT
}

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Page cache per connection, in KiB (SQLite's default is 2 MiB).
const CACHE_KIB: u32 = 32 * 1024;
/// Connections to a file database. SQLite has one writer at a time; a few
/// connections let readers (API, CLI) proceed alongside it under WAL.
const FILE_POOL_SIZE: u32 = 4;

/// The SQLite store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub(super) struct Backend {
    pool: SqlitePool,
    /// Whose turn it is to write (see [`Backend::begin_write`]); shared by
    /// clones.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// File databases only; stops when the last clone is dropped.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// WAL pages (4 KiB) past which a committing writer checkpoints itself.
const WAL_BACKSTOP_PAGES: u32 = 16_384;

/// Copies committed WAL pages into the database file on a connection of its
/// own, so that the writer does not. By default SQLite's writer checkpoints
/// in its own commit once the WAL passes 1,000 pages; under sustained
/// ingest that was an eighth of the writer's time, spent while every
/// request waited. A `PASSIVE` checkpoint never blocks the writer or the
/// readers; it stops at pages a reader still needs and goes on next time.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Checkpointer {
    fn spawn(pool: SqlitePool) -> Self {
        Self(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !pool.is_closed() {
                every.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    if !pool.is_closed() {
                        tracing::warn!(error = %crate::diagnostics::chain(&e), "WAL checkpoint failed; the next one retries");
                    }
                }
            }
        }))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `sqlite::memory:` and `mode=memory` databases live only as long as a
/// connection to them does.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Backend {
    /// Opens (creating if missing) the database at `url` and brings its schema
    /// up to date. `sqlite://path?mode=rwc` for a file, `sqlite::memory:` for
    /// a private in-memory database (one connection, kept open for the life of
    /// the store, so that every query sees the same data).
    pub async fn open(url: &str) -> Result<Self> {
        let shown = redact_url(url);
        let open_error = |source| StoreError::Open {
            url: shown.clone(),
            source,
        };
        let in_memory = is_in_memory(url);
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full)
            // A batch of mentions touches more index pages than SQLite's
            // default 2 MiB cache holds: the writer then spills pages to the
            // WAL mid-transaction and reads them back.
            .pragma("cache_size", format!("-{}", CACHE_KIB))
            // Multi-row inserts keep a statement journal (to undo one
            // statement alone); a temporary file for it costs a write per page.
            .pragma("temp_store", "memory");
        if !in_memory {
            // Checkpoints run beside the writer ([`Checkpointer`]); the
            // writer itself checkpoints only if the WAL grows past this
            // many pages (a backstop, should the checkpointer fall behind).
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .pragma("wal_autocheckpoint", WAL_BACKSTOP_PAGES.to_string());
        }
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(open_error)?;
        MIGRATOR.run(&pool).await.map_err(StoreError::Migrate)?;
        tracing::info!(url = %shown, in_memory, "store opened");
        let checkpointer = (!in_memory).then(|| Arc::new(Checkpointer::spawn(pool.clone())));
        Ok(Self {
            pool,
            turn: Arc::default(),
            _checkpointer: checkpointer,
        })
    }

    /// Closes every connection, waiting for running queries to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins a write transaction once this process's earlier writes are
    /// done. SQLite has one writer; a second `BEGIN IMMEDIATE` would wait in
    /// SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between looks,
    /// while the engine task overlaps the next group's journal with this
    /// group's commit ([`crate::server`]'s engine task). Writers queue on
    /// `turn` instead and start the moment the one before commits.
    async fn begin_write(&self, what: &'static str) -> Result<WriteTx> {
        // Never longer than SQLite itself would wait: a writer that could
        // not get its turn goes on and meets SQLite's own busy timeout.
        let turn = tokio::time::timeout(BUSY_TIMEOUT, self.turn.clone().lock_owned())
            .await
            .ok();
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query(what))?;
        Ok(WriteTx { tx, _turn: turn })
    }
}

/// A write transaction and this process's writer turn, released together.
pub(super) struct WriteTx {
    tx: Transaction<'static, Db>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}

/// One process works a SQLite outbox; it knows when it enqueued.
async fn announce_work(_conn: &mut Conn) -> Result<()> {
    Ok(())
}

/// `BEGIN IMMEDIATE` already serialises every write, journal appends included.
async fn lock_journal(_conn: &mut Conn, _what: &'static str) -> Result<()> {
    Ok(())
}

/// A SQLite store belongs to one process: there is no leadership to lose.
async fn check_fence(_conn: &mut Conn, _epoch: i64) -> Result<()> {
    Ok(())
}

include!("ops.rs");
