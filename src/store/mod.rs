//! Persistence: everything squall must remember across a crash.
//!
//! Incidents, their timeline, the outbox of action intents, pins and what
//! they displaced, conversations, reply drafts, mentions and the keys of
//! inputs already processed. The engine decides in memory and hands the
//! store a batch of [`Write`]s that commit together ([`Store::apply`]), so a
//! state change and the outbox intent it causes can never be split by a
//! crash.
//!
//! SQLite is the default backend (WAL, `synchronous=FULL`: an accepted
//! mention is on disk before ingest answers 2xx). The SQL in `sql.rs` and the
//! encodings in `codec.rs` are portable so that a Postgres store can sit behind
//! the same API with its own migrations directory; see `codec` for the
//! timestamp format (fixed-width RFC 3339 text in UTC).

mod api;
mod codec;
mod postgres;
mod rows;
mod sql;
mod sqlite;

pub(crate) use codec::ts as ts_text;
pub use postgres::OUTBOX_CHANNEL;
pub use rows::*;

/// Longest outbox lease granted; longer requests are shortened to it, which
/// keeps `lease_until` in the fixed-width timestamp range.
pub const MAX_LEASE: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// The store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

/// Which database the store is on; chosen by the URL's scheme.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::Backend),
    Postgres(postgres::Backend),
}

/// The database kinds a store URL may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    /// The kind a URL names by its scheme: `postgres://` or `postgresql://`
    /// is Postgres, anything else SQLite (`sqlite:` URLs and bare paths).
    pub fn of(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            StoreKind::Postgres
        } else {
            StoreKind::Sqlite
        }
    }
}

impl Store {
    /// Opens the store at `url` and brings its schema up to date.
    /// `sqlite://path?mode=rwc` for a file, `sqlite::memory:` for a private
    /// in-memory database (one connection, kept open for the life of the
    /// store), `postgres://user@host/db` for a Postgres database shared by
    /// several `squall serve` instances.
    pub async fn open(url: &str) -> Result<Self> {
        let backend = match StoreKind::of(url) {
            StoreKind::Sqlite => Backend::Sqlite(sqlite::Backend::open(url).await?),
            StoreKind::Postgres => Backend::Postgres(postgres::Backend::open(url).await?),
        };
        Ok(Self { backend })
    }

    /// Which database this store is on.
    pub fn kind(&self) -> StoreKind {
        match self.backend {
            Backend::Sqlite(_) => StoreKind::Sqlite,
            Backend::Postgres(_) => StoreKind::Postgres,
        }
    }

    /// Closes every connection, waiting for running queries to finish.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(b) => b.close().await,
            Backend::Postgres(b) => b.close().await,
        }
    }

    /// The latest migration applied to this database.
    pub async fn schema_version(&self) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        let what = "read schema version";
        let map = |source| StoreError::Query { what, source };
        match &self.backend {
            Backend::Sqlite(b) => sqlx::query_scalar(sql)
                .fetch_one(b.pool())
                .await
                .map_err(map),
            Backend::Postgres(b) => sqlx::query_scalar(sql)
                .fetch_one(b.pool())
                .await
                .map_err(map),
        }
    }

    /// The Postgres pool, for the cluster coordination that only Postgres
    /// offers (advisory locks, `LISTEN`); `None` on SQLite.
    pub(crate) fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(b) => Some(b.pool()),
        }
    }
}

/// Errors a caller of the store branches on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened. `url` has any credentials removed.
    #[error("cannot open the store at {url}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot bring the store schema up to date")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("store query failed: {what}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A stored value could not be decoded (or a value could not be encoded).
    #[error("corrupt value in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The account already holds an active squall pin of that purpose.
    #[error("account {account} already holds an active squall pin of that purpose")]
    AlreadyPinned { account: String },
    /// A write in an [`Store::apply`] batch found its record missing or in a
    /// state that forbids it (e.g. approving a discarded draft); nothing in the
    /// batch was applied.
    #[error("{what} {id} is missing or no longer in a state that allows this")]
    Stale { what: &'static str, id: String },
    /// This instance is no longer the cluster's engine leader: another one
    /// took over (epoch `current`), so nothing of this batch was applied.
    #[error("leadership lost: this instance holds epoch {epoch}, the cluster is at {current}")]
    Fenced { epoch: i64, current: i64 },
}

impl StoreError {
    /// Whether the database refused the write because of a constraint
    /// (unique, check, foreign key, not null).
    pub fn is_constraint_violation(&self) -> bool {
        match self {
            StoreError::AlreadyPinned { .. } => true,
            StoreError::Query {
                source: sqlx::Error::Database(e),
                ..
            } => !matches!(e.kind(), sqlx::error::ErrorKind::Other),
            _ => false,
        }
    }
}

/// Results of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The URL as it may be shown in errors and logs: user info and any
/// `password` query parameter removed (Postgres URLs may carry both).
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = strip_userinfo(base);
    match query {
        None => base,
        Some(query) => format!("{base}?{}", redact_password_params(query)),
    }
}

fn strip_userinfo(base: &str) -> String {
    let Some(scheme_end) = base.find("://") else {
        return base.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &base[authority_start..];
    let authority_end = rest.find(['/', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &base[..authority_start], &rest[at + 1..]),
        None => base.to_owned(),
    }
}

fn redact_password_params(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_credentials() {
        let cases = [
            (
                "sqlite://data/squall.db?mode=rwc",
                "sqlite://data/squall.db?mode=rwc",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            (
                "postgres://squall:s3cret@db.internal:5432/squall",
                "postgres://db.internal:5432/squall",
            ),
            ("postgres://squall@db/squall", "postgres://db/squall"),
            (
                "postgres://db/squall?user=squall&password=s3cret&sslmode=require",
                "postgres://db/squall?user=squall&password=***&sslmode=require",
            ),
            ("postgres://a:b@c@host/db", "postgres://host/db"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "for {url}");
        }
    }

    #[test]
    fn an_open_error_never_displays_the_password() {
        let err = StoreError::Open {
            url: redact_url("postgres://u:hunter2@h/db"),
            source: sqlx::Error::PoolClosed,
        };
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
