//! Time as an input.
//!
//! The engine and the detectors never read the wall clock themselves: they are
//! handed "now" by their driver. Live mode drives them with [`SystemClock`];
//! simulation and tests drive them with [`ManualClock`], which is what makes a
//! replay byte-for-byte deterministic.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// A point in time. squall stores and compares UTC only; time zones matter
/// only at the edges (schedules, rendered text).
pub type Timestamp = DateTime<Utc>;

/// A source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock, for `squall serve`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Utc::now()
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward to `to`. Moving backwards is ignored, so that a
    /// late event in a replay cannot make time run backwards.
    pub fn advance_to(&self, to: Timestamp) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if to > *now {
            *now = to;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
