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

mod codec;
mod rows;
mod sql;
mod sqlite;

pub use rows::*;
pub use sqlite::Store;

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
