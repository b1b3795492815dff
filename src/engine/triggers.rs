//! The live state of each playbook trigger: a surge detector, a keyword
//! counter, or the next cron instant.

use crate::clock::Timestamp;
use crate::detect::baseline::{BaselineDetector, DetectorParams};
use crate::detect::keyword::KeywordCounter;
use crate::detect::SurgeDetector;
use crate::mention::Mention;
use crate::playbook::{Playbook, Trigger};
use std::sync::Arc;

#[derive(Debug)]
pub enum TriggerState {
    Surge(Box<BaselineDetector>),
    Keyword(KeywordCounter),
    Schedule {
        next: Option<Timestamp>,
    },
    /// Alert and manual triggers keep no state.
    Stateless,
}

/// One trigger of one playbook, with its state.
#[derive(Debug)]
pub struct TriggerRuntime {
    pub playbook: Arc<Playbook>,
    pub index: usize,
    pub state: TriggerState,
}

impl TriggerRuntime {
    pub fn new(playbook: Arc<Playbook>, index: usize, start: Timestamp) -> Self {
        let state = match &playbook.triggers[index] {
            Trigger::Surge(s) => TriggerState::Surge(Box::new(
                BaselineDetector::new(
                    DetectorParams::from_sensitivity(s.window, s.sensitivity, s.thresholds, s.hold)
                        .with_debounce(s.debounce),
                )
                .start_at(start),
            )),
            Trigger::Keyword(k) => {
                TriggerState::Keyword(KeywordCounter::new(k.min_mentions, k.within))
            }
            Trigger::Schedule(s) => TriggerState::Schedule {
                next: next_cron(s, start),
            },
            Trigger::Alert(_) | Trigger::Manual => TriggerState::Stateless,
        };
        Self {
            playbook,
            index,
            state,
        }
    }

    pub fn trigger(&self) -> &Trigger {
        &self.playbook.triggers[self.index]
    }

    /// Whether this trigger counts `m` (matcher and account filter).
    pub fn counts(&self, m: &Mention) -> bool {
        match self.trigger() {
            Trigger::Surge(s) => account_ok(&s.accounts, &m.account) && s.matcher.matches(&m.text),
            Trigger::Keyword(k) => {
                account_ok(&k.accounts, &m.account) && k.matcher.matches(&m.text)
            }
            _ => false,
        }
    }

    /// The earliest instant this trigger needs time to reach.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match &self.state {
            TriggerState::Surge(d) => d.next_boundary(),
            TriggerState::Schedule { next } => *next,
            _ => None,
        }
    }
}

fn account_ok(accounts: &[String], account: &str) -> bool {
    accounts.is_empty() || accounts.iter().any(|a| a == account)
}

/// Next cron instant strictly after `after`, evaluated in the trigger's time zone.
pub fn next_cron(s: &crate::playbook::ScheduleTrigger, after: Timestamp) -> Option<Timestamp> {
    let local = after.with_timezone(&s.timezone);
    s.cron
        .after(&local)
        .next()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Whether a mention belongs to incidents of this playbook (drafts, report):
/// it matches one of the playbook's mention triggers, or the playbook has none.
pub fn belongs(playbook: &Playbook, m: &Mention) -> bool {
    let mut has_mention_trigger = false;
    for t in &playbook.triggers {
        match t {
            Trigger::Surge(s) => {
                has_mention_trigger = true;
                if account_ok(&s.accounts, &m.account) && s.matcher.matches(&m.text) {
                    return true;
                }
            }
            Trigger::Keyword(k) => {
                has_mention_trigger = true;
                if account_ok(&k.accounts, &m.account) && k.matcher.matches(&m.text) {
                    return true;
                }
            }
            _ => {}
        }
    }
    !has_mention_trigger
}

/// How far before an incident opened its mentions still belong to it: the
/// span a trigger looked at to decide (window and hold, or keyword span).
pub fn lookback(playbook: &Playbook) -> chrono::Duration {
    playbook
        .triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::Surge(s) => Some(s.window + s.hold + std::time::Duration::from_secs(60)),
            Trigger::Keyword(k) => Some(k.within),
            _ => None,
        })
        .max()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or_else(chrono::Duration::zero)
}
