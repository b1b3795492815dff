//! Reads of the engine leader's memory from any instance.
//!
//! Off-hours desks, trigger rates and status previews live in the engine,
//! which only the leader's process holds. The instance that takes such a
//! request asks through the database (`view_requests`), the leader answers
//! between journal entries, and the asking instance returns the answer: no
//! instance needs to know another's address, and a take-over only delays
//! the answer.

use super::{query, ClusterError};
use crate::clock::Timestamp;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use std::time::Duration;

/// How often an asking instance looks for the leader's answer.
const ANSWER_POLL: Duration = Duration::from_millis(10);

/// Questions older than this are deleted by the leader (their asker gave
/// up or died).
const STALE_SECS: i64 = 60;

/// A view of the engine's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    OffHours,
    Rates,
    StatusPreviews,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::OffHours => "off_hours",
            View::Rates => "rates",
            View::StatusPreviews => "status_previews",
        }
    }

    fn parse(s: &str) -> Option<View> {
        [View::OffHours, View::Rates, View::StatusPreviews]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A question waiting for the leader.
#[derive(Debug)]
pub struct Question {
    pub id: i64,
    pub view: View,
    pub arg: Option<String>,
}

#[derive(Clone)]
pub struct Views {
    pool: PgPool,
}

impl Views {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Asks the leader for `view` (with `arg`, e.g. an incident id) and
    /// waits for its answer.
    pub async fn ask<T: DeserializeOwned>(
        &self,
        view: View,
        arg: Option<&str>,
        now: Timestamp,
        patience: Duration,
    ) -> Result<T, ClusterError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO view_requests (view, arg, asked_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(view.as_str())
        .bind(arg)
        .bind(crate::store::ts_text(now))
        .fetch_one(&self.pool)
        .await
        .map_err(query("ask the leader for a view"))?;
        let started = tokio::time::Instant::now();
        let answer = loop {
            let row: Option<(Option<String>, Option<String>)> =
                sqlx::query_as("SELECT answer, error FROM view_requests WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(query("read the leader's view"))?;
            match row {
                Some((Some(answer), _)) => break Ok(answer),
                Some((None, Some(error))) => break Err(ClusterError::View(error)),
                _ if started.elapsed() >= patience => {
                    break Err(ClusterError::NoView {
                        view: view.as_str(),
                        waited: patience,
                    })
                }
                _ => tokio::time::sleep(ANSWER_POLL).await,
            }
        };
        let _ = sqlx::query("DELETE FROM view_requests WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await;
        serde_json::from_str(&answer?).map_err(|e| ClusterError::View(e.to_string()))
    }

    /// The questions the leader has not answered yet (and, by the way,
    /// forgets those whose askers are long gone).
    pub async fn open(&self, now: Timestamp) -> Result<Vec<Question>, ClusterError> {
        let stale = now - chrono::Duration::seconds(STALE_SECS);
        sqlx::query("DELETE FROM view_requests WHERE asked_at < $1")
            .bind(crate::store::ts_text(stale))
            .execute(&self.pool)
            .await
            .map_err(query("forget stale view requests"))?;
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT id, view, arg FROM view_requests \
             WHERE answer IS NULL AND error IS NULL ORDER BY id LIMIT 64",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query("read view requests"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, view, arg)| {
                Some(Question {
                    id,
                    view: View::parse(&view)?,
                    arg,
                })
            })
            .collect())
    }

    /// Records the leader's answer to question `id`.
    pub async fn answer(
        &self,
        id: i64,
        answer: Result<serde_json::Value, String>,
    ) -> Result<(), ClusterError> {
        let (answer, error) = match answer {
            Ok(v) => (Some(v.to_string()), None),
            Err(e) => (None, Some(e)),
        };
        sqlx::query("UPDATE view_requests SET answer = $2, error = $3 WHERE id = $1")
            .bind(id)
            .bind(answer)
            .bind(error)
            .execute(&self.pool)
            .await
            .map_err(query("answer a view request"))?;
        Ok(())
    }
}
