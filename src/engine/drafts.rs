//! Reply drafts: one conversation per author per incident, one pending draft
//! per conversation, routed to staff on duty.
//!
//! Fairness (BRIEF lesson 9) is structural here: the queue is a map ordered
//! by `(mention time, draft id)`, and nothing else can reorder it. Follower
//! counts only ever become a flag.

use crate::clock::Timestamp;
use crate::config::Config;
use serde::Serialize;
use std::collections::BTreeMap;

/// Authors with at least this many followers are flagged (never moved ahead).
pub const INFLUENTIAL_FOLLOWERS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DraftState {
    Pending,
    /// A sent or approved draft always has its approver.
    Approved {
        by: String,
        at: Timestamp,
    },
    Sent {
        by: String,
        at: Timestamp,
    },
    Discarded {
        by: String,
        reason: String,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    pub id: u64,
    pub incident: String,
    pub platform: String,
    pub account: String,
    pub mention_id: String,
    /// When the customer wrote: the queue's only order.
    pub mention_at: Timestamp,
    pub author_id: String,
    pub author_handle: String,
    pub author_name: String,
    /// Shown as the `influential` flag; never a sort key.
    pub author_followers: u64,
    pub mention_text: String,
    pub mention_url: Option<String>,
    pub lang: String,
    pub text: String,
    /// Who last rewrote the text by hand; a customer's follow-up then no
    /// longer re-renders it over their words.
    pub edited_by: Option<String>,
    pub private: bool,
    pub flags: Vec<&'static str>,
    pub state: DraftState,
    pub assignee: Option<String>,
    /// The assignee took it with a claim (not just routed to them): nobody
    /// else but a commander works it until it is sent, discarded or
    /// reassigned by its SLA.
    pub claimed: bool,
    /// Times it was approved for sending (a reply the platform refused
    /// comes back pending and may be approved again).
    pub sends: u32,
    pub created_at: Timestamp,
    pub sla_deadline: Timestamp,
    pub previous_contacts: u32,
    /// Mentions folded into this draft (a follow-up updates, never duplicates).
    pub mentions: u32,
    /// Times it was escalated for waiting past its SLA.
    pub escalations: u32,
    pub team: String,
    pub escalate_to: Option<String>,
    pub skills: Vec<String>,
    pub match_language: bool,
}

impl Draft {
    pub fn is_pending(&self) -> bool {
        matches!(self.state, DraftState::Pending)
    }
}

/// Why a draft could not be assigned.
#[derive(Debug, Clone, PartialEq)]
pub enum Unassigned {
    NobodyOnDuty,
    AllAtCapacity,
}

/// All drafts and the load of each staff member.
#[derive(Debug, Default)]
pub struct DraftBook {
    pub drafts: BTreeMap<u64, Draft>,
    /// (incident, platform, author id) → draft id of the conversation's latest draft.
    conversations: BTreeMap<(String, String, String), u64>,
    /// Earlier contacts per (platform, author) across incidents.
    contacts: BTreeMap<(String, String), u32>,
    next_id: u64,
    /// Round-robin cursor per team.
    cursor: BTreeMap<String, usize>,
    /// Staff id → drafts assigned since their last digest e-mail.
    pub digests: BTreeMap<String, Vec<u64>>,
    /// (incident, FNV hash of a rendered text) → the draft that has it.
    texts: BTreeMap<(String, u64), u64>,
    /// Staff id → drafts given to them (some since answered or moved on:
    /// [`Self::load`] checks, routing prunes). Keeps load O(capacity)
    /// rather than O(all drafts) during a surge.
    held: BTreeMap<String, std::collections::BTreeSet<u64>>,
    /// Abusive mentions per (incident, platform, author).
    abuse: BTreeMap<(String, String, String), u32>,
}

/// From this many abusive mentions in one incident, an author's further
/// mentions get no new draft (the conversation stays flagged for people).
pub const ABUSE_LIMIT: u32 = 2;

impl DraftBook {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The pending draft of this author's conversation in this incident.
    pub fn pending_for(&self, incident: &str, platform: &str, author: &str) -> Option<u64> {
        let id = self.conversations.get(&(
            incident.to_string(),
            platform.to_string(),
            author.to_string(),
        ))?;
        self.drafts.get(id).filter(|d| d.is_pending()).map(|d| d.id)
    }

    /// Whether another draft of this incident already has this text.
    pub fn text_taken(&self, incident: &str, text: &str, draft: u64) -> bool {
        self.texts
            .get(&(incident.to_string(), fnv(text)))
            .is_some_and(|owner| *owner != draft)
    }

    /// Records that `draft` has this text in its incident.
    pub fn take_text(&mut self, incident: &str, text: &str, draft: u64) {
        self.texts.insert((incident.to_string(), fnv(text)), draft);
    }

    /// Counts one more abusive mention by this author in this incident;
    /// returns how many there have been, this one included.
    pub fn count_abuse(&mut self, incident: &str, platform: &str, author: &str) -> u32 {
        let n = self
            .abuse
            .entry((
                incident.to_string(),
                platform.to_string(),
                author.to_string(),
            ))
            .or_insert(0);
        *n += 1;
        *n
    }

    /// Records one more contact by this author; returns how many came before.
    pub fn count_contact(&mut self, platform: &str, author: &str) -> u32 {
        let n = self
            .contacts
            .entry((platform.to_string(), author.to_string()))
            .or_insert(0);
        let before = *n;
        *n += 1;
        before
    }

    pub fn insert(&mut self, d: Draft) {
        self.conversations.insert(
            (d.incident.clone(), d.platform.clone(), d.author_id.clone()),
            d.id,
        );
        self.drafts.insert(d.id, d);
    }

    /// Gives draft `did` to `staff`.
    /// Routes `did` to `staff`; a claim someone else had on it ends.
    pub fn set_assignee(&mut self, did: u64, staff: &str) {
        if let Some(d) = self.drafts.get_mut(&did) {
            d.claimed = d.claimed && d.assignee.as_deref() == Some(staff);
            d.assignee = Some(staff.to_string());
            self.held.entry(staff.to_string()).or_default().insert(did);
        }
    }

    /// `staff` takes `did` with a claim: it is theirs to work.
    pub fn claim(&mut self, did: u64, staff: &str) {
        self.set_assignee(did, staff);
        if let Some(d) = self.drafts.get_mut(&did) {
            d.claimed = true;
        }
    }

    fn holds(&self, staff: &str, did: u64) -> bool {
        self.drafts
            .get(&did)
            .is_some_and(|d| d.is_pending() && d.assignee.as_deref() == Some(staff))
    }

    /// Pending drafts held by `staff`.
    pub fn load(&self, staff: &str) -> u32 {
        self.held.get(staff).map_or(0, |ids| {
            ids.iter().filter(|id| self.holds(staff, **id)).count() as u32
        })
    }

    /// Forgets drafts `staff` no longer holds.
    fn prune(&mut self, staff: &str) {
        let Some(ids) = self.held.get(staff) else {
            return;
        };
        let keep: std::collections::BTreeSet<u64> = ids
            .iter()
            .copied()
            .filter(|id| self.holds(staff, *id))
            .collect();
        self.held.insert(staff.to_string(), keep);
    }

    /// Pending drafts in queue order: by when the customer wrote, then id.
    pub fn queue(&self) -> Vec<&Draft> {
        let mut q: Vec<&Draft> = self.drafts.values().filter(|d| d.is_pending()).collect();
        q.sort_by_key(|d| (d.mention_at, d.id));
        q
    }

    /// Picks who should answer a draft: on duty, in the team, speaking the
    /// language (when asked), with the skills, under capacity; least loaded
    /// first, round robin among equals. `exclude` skips the current assignee
    /// when reassigning after an SLA breach.
    pub fn route(
        &mut self,
        config: &Config,
        d: &Draft,
        now: Timestamp,
        exclude: Option<&str>,
    ) -> Result<String, Unassigned> {
        let Some(team) = config.teams.get(&d.team) else {
            return Err(Unassigned::NobodyOnDuty);
        };
        let on_duty: Vec<&str> = team
            .members
            .iter()
            .filter_map(|id| config.staff.get(id))
            .filter(|s| Some(s.id.as_str()) != exclude)
            .filter(|s| match &s.schedule {
                None => true,
                Some(name) => config
                    .schedules
                    .get(name)
                    .map(|sch| sch.is_open(now))
                    .unwrap_or(true),
            })
            .filter(|s| d.skills.iter().all(|k| s.skills.contains(k)))
            .map(|s| s.id.as_str())
            .collect();
        if on_duty.is_empty() {
            return Err(Unassigned::NobodyOnDuty);
        }
        let speakers: Vec<&str> = on_duty
            .iter()
            .copied()
            .filter(|id| {
                config
                    .staff
                    .get(*id)
                    .map(|s| s.languages.iter().any(|l| l == &d.lang))
                    .unwrap_or(false)
            })
            .collect();
        // Nobody speaks the language: better a colleague with a translator
        // than a customer left waiting.
        let pool = if d.match_language && !speakers.is_empty() {
            speakers
        } else {
            on_duty
        };
        for id in &pool {
            self.prune(id);
        }
        let with_room: Vec<(&str, u32)> = pool
            .iter()
            .map(|id| (*id, self.load(id)))
            .filter(|(id, load)| {
                config
                    .staff
                    .get(*id)
                    .map(|s| *load < s.capacity)
                    .unwrap_or(false)
            })
            .collect();
        let Some(min) = with_room.iter().map(|(_, l)| *l).min() else {
            return Err(Unassigned::AllAtCapacity);
        };
        let least: Vec<&str> = with_room
            .iter()
            .filter(|(_, l)| *l == min)
            .map(|(id, _)| *id)
            .collect();
        let cursor = self.cursor.entry(d.team.clone()).or_insert(0);
        // Round robin over the team's member order among the least loaded.
        let members = &team.members;
        let start = *cursor % members.len().max(1);
        let pick = (0..members.len())
            .map(|i| members[(start + i) % members.len()].as_str())
            .find(|m| least.contains(m))
            .unwrap_or(least[0]);
        if let Some(pos) = members.iter().position(|m| m == pick) {
            *cursor = pos + 1;
        }
        Ok(pick.to_string())
    }
}

fn fnv(text: &str) -> u64 {
    fnv1a(text.bytes())
}

/// FNV-1a: std's DefaultHasher is not guaranteed stable across releases,
/// and `simulate` must print the same bytes every run.
pub(super) fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
