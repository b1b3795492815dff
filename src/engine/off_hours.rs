//! Off-hours honesty (BRIEF lesson 3): outside support hours customers
//! learn when people are back and where to go meanwhile.
//!
//! Two sources of off-hours behaviour meet here:
//! - the **standing desk** of an account with `off_hours:` in the config,
//!   every night: at closing the account's off-hours note is pinned, at
//!   opening it is unpinned, and direct messages (public mentions too, when
//!   configured) get one auto-reply per author per closed period;
//! - an incident's **autoresponder** step, which takes precedence on its
//!   accounts while its schedule is closed and may keep a team on call
//!   (the crisis override): drafts then go to that team and the auto-reply
//!   says a team is on it.
//!
//! Schedule boundaries are engine timers ([`Timer::OffHours`]), fired by
//! [`Engine::tick`] with the time the caller gives: the engine never reads a
//! clock. Pins go through the outbox as [`ActionIntent::PinNote`] and
//! [`ActionIntent::UnpinNote`], with the same pin bookkeeping as status
//! posts. An incident's status wins the pin: the note is unpinned before the
//! status is posted on that account, and pinned again after the incident's
//! pins are restored, if the account is still closed. Idempotency keys name
//! the closing instant and the how-manieth pin of that night, so a journal
//! replay after a restart enqueues nothing twice.

use super::events::{Event, EventKind};
use super::{context, normalize_handle, Decisions, Engine, RenderJob, Timer};
use crate::actions::ActionIntent;
use crate::clock::Timestamp;
use crate::config::OffHours;
use crate::mention::Mention;
use crate::templates::Escape;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// No auto-reply goes to an author a person from the brand answered this
/// recently: the customer is in a conversation, a robot cutting in would
/// contradict it.
pub const STAFF_REPLY_QUIET: chrono::Duration = chrono::Duration::minutes(10);

/// One account's standing off-hours, as configured and as it stands now.
#[derive(Debug, Clone)]
struct Desk {
    settings: OffHours,
    /// Open or closed, and since when; `None` before the first boundary.
    state: Option<(bool, Timestamp)>,
    /// The note is pinned, or its pin is queued in the outbox.
    note_pinned: bool,
    /// Pins of the note in the current closed period (idempotency keys).
    pins: u32,
}

impl Desk {
    fn closed_since(&self) -> Option<Timestamp> {
        match self.state {
            Some((false, since)) => Some(since),
            _ => None,
        }
    }
}

/// A closed period, named by its schedule and the instant it ends (when
/// the schedule opens again): two responders on one schedule share it, so
/// an author answered by the standing desk at 23:00 is not answered again by
/// an incident's autoresponder at 02:00.
type Period = (String, Timestamp);

/// What the engine remembers about off-hours.
#[derive(Debug, Default)]
pub struct OffHoursBook {
    desks: BTreeMap<String, Desk>,
    /// (account, platform/author) → the closed period of their auto-reply.
    answered: BTreeMap<(String, String), Period>,
    /// (account, post id) of mentions auto-replied to, and of the posts they
    /// answered (their thread), → when the closed period ends.
    threads: BTreeMap<(String, String), Timestamp>,
    /// platform/author → when staff last sent them a reply.
    staff_replied: BTreeMap<String, Timestamp>,
}

impl OffHoursBook {
    /// Desks for every account with `off_hours:` in the config.
    pub(super) fn new(config: &crate::config::Config) -> Self {
        let desks = config
            .accounts
            .values()
            .filter_map(|a| {
                let settings = a.off_hours.clone()?;
                Some((
                    a.name.clone(),
                    Desk {
                        settings,
                        state: None,
                        note_pinned: false,
                        pins: 0,
                    },
                ))
            })
            .collect();
        Self {
            desks,
            ..Default::default()
        }
    }

    pub(super) fn accounts(&self) -> impl Iterator<Item = &String> {
        self.desks.keys()
    }

    /// A person from the brand sent `author` a reply at `at`.
    pub(super) fn staff_replied(&mut self, author: String, at: Timestamp) {
        self.staff_replied.insert(author, at);
    }

    /// Forgets what can no longer matter at `now`: answers and threads of
    /// closed periods that are over, staff replies older than the quiet time.
    pub(super) fn prune(&mut self, now: Timestamp) {
        self.answered.retain(|_, (_, ends)| *ends > now);
        self.threads.retain(|_, ends| *ends > now);
        self.staff_replied
            .retain(|_, at| *at + STAFF_REPLY_QUIET > now);
    }
}

/// One account's off-hours as `GET /v1/off-hours` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeskStatus {
    pub account: String,
    pub platform: String,
    /// The schedule in force: the incident autoresponder's during an
    /// override, else the account's `off_hours.schedule`.
    pub schedule: String,
    pub open: bool,
    /// When it last opened or closed, as the engine saw it (`null` for an
    /// account whose only off-hours are an incident's autoresponder).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// The next opening or closing.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_change: Option<Timestamp>,
    /// The next opening (now, when open).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_open: Option<Timestamp>,
    /// An incident keeps a team on call for this account through the night.
    #[serde(rename = "override")]
    pub on_call_override: bool,
    /// The off-hours note is pinned (or its pin is on its way).
    pub pinned_note: bool,
}

/// Who answers a mention while closed: an incident's autoresponder or the
/// account's standing desk.
struct Responder {
    incident: Option<String>,
    schedule: String,
    template: String,
    on_call: bool,
    public_mentions: bool,
}

/// Why an auto-reply was held back: a stable code (the `reason` label of
/// `squall_autoreplies_total`) and a sentence for the timeline.
struct Held {
    code: &'static str,
    why: String,
}

impl Engine {
    /// Schedules the first look at every standing desk, at the engine's start.
    pub(super) fn start_off_hours(&mut self, start: Timestamp) {
        let accounts: Vec<String> = self.off_hours.accounts().cloned().collect();
        for account in accounts {
            self.timers.insert((start, Timer::OffHours { account }));
        }
    }

    /// A schedule boundary of `account`'s standing desk (or its first look).
    pub(super) fn off_hours_boundary(&mut self, at: Timestamp, account: &str, out: &mut Decisions) {
        let config = self.config.clone();
        let Some(desk) = self.off_hours.desks.get_mut(account) else {
            return;
        };
        let Some(schedule) = config.schedules.get(&desk.settings.schedule) else {
            return;
        };
        let open = schedule.is_open(at);
        let before = desk.state.map(|(o, _)| o);
        if before != Some(open) {
            desk.state = Some((open, at));
            let name = desk.settings.schedule.clone();
            let public = desk.settings.public_mentions;
            if open {
                // Nothing to announce at start-up when the desk is open.
                if before.is_some() {
                    out.event(
                        Event::new(
                            at,
                            EventKind::OffHoursOff,
                            "engine",
                            format!("Off-hours over for {account}: the {name} schedule is open; auto-replies stop."),
                        )
                        .with("account", account)
                        .with("schedule", &name),
                    );
                }
                self.note_down(at, account, out);
                if let Some(desk) = self.off_hours.desks.get_mut(account) {
                    desk.pins = 0;
                }
            } else {
                let back = schedule
                    .describe_next_open(at, &config.default_language)
                    .unwrap_or_else(|| "not within a year".into());
                let to = if public {
                    "direct messages and public mentions"
                } else {
                    "direct messages"
                };
                out.event(
                    Event::new(
                        at,
                        EventKind::OffHoursOn,
                        "engine",
                        format!("Off-hours for {account}: the {name} schedule is closed, people are back {back}; auto-replies to {to}."),
                    )
                    .with("account", account)
                    .with("schedule", &name)
                    .with("next_open", schedule.next_change(at)),
                );
                self.note_up(at, account, out);
            }
            self.off_hours.prune(at);
        }
        if let Some(next) = schedule.next_change(at) {
            self.timers.insert((
                next,
                Timer::OffHours {
                    account: account.to_string(),
                },
            ));
        }
    }

    /// The unresolved incident whose status post holds `account`'s pin.
    fn status_holder(&self, account: &str) -> Option<String> {
        self.incidents
            .values()
            .filter(|i| !i.is_resolved())
            .find(|i| i.posted_accounts().iter().any(|a| a == account))
            .map(|i| i.id.clone())
    }

    /// Pins the off-hours note, if the account has one, is closed, and no
    /// incident's status holds the pin.
    fn note_up(&mut self, at: Timestamp, account: &str, out: &mut Decisions) {
        let Some(desk) = self.off_hours.desks.get(account) else {
            return;
        };
        let (Some(template), Some(since)) = (desk.settings.note.clone(), desk.closed_since())
        else {
            return;
        };
        if desk.note_pinned {
            return;
        }
        if let Some(id) = self.status_holder(account) {
            out.event(
                Event::new(at, EventKind::OffHoursNote, "engine", format!("Off-hours note not pinned on {account}: the status of incident {id} holds the pin; the note follows once it resolves."))
                    .incident(&id)
                    .with("account", account)
                    .with("action", "held"),
            );
            return;
        }
        let config = self.config.clone();
        let Some(schedule) = config.schedules.get(&desk.settings.schedule) else {
            return;
        };
        let lang = config
            .accounts
            .get(account)
            .and_then(|a| a.language.clone())
            .unwrap_or_else(|| config.default_language.clone());
        let facts = context::AutoreplyFacts {
            back_at: schedule.describe_opening(at, &lang).unwrap_or_default(),
            back_at_iso: iso(schedule.next_change(at)),
            schedule: &desk.settings.schedule,
            on_call: false,
            author_name: "",
            author_handle: "",
        };
        let job = RenderJob {
            template: &template,
            lang: &lang,
            data: context::off_hours(&config, &lang, &facts, at),
            seed: 0,
            escape: Escape::Text,
            what: "Off-hours note",
        };
        let Some(text) = self.render_for(at, None, job, out) else {
            return;
        };
        let Some(desk) = self.off_hours.desks.get_mut(account) else {
            return;
        };
        desk.pins += 1;
        desk.note_pinned = true;
        out.action(
            format!(
                "off-hours/{account}/{}/pin-{}",
                since.timestamp(),
                desk.pins
            ),
            ActionIntent::PinNote {
                account: account.to_string(),
                text,
            },
        );
    }

    /// Unpins the off-hours note if it is pinned.
    fn note_down(&mut self, at: Timestamp, account: &str, out: &mut Decisions) {
        let Some(desk) = self.off_hours.desks.get_mut(account) else {
            return;
        };
        if !desk.note_pinned {
            return;
        }
        desk.note_pinned = false;
        // When and which pin: unique, and the same again in a replay.
        out.action(
            format!("off-hours/{account}/{}/unpin-{}", at.timestamp(), desk.pins),
            ActionIntent::UnpinNote {
                account: account.to_string(),
            },
        );
    }

    /// An incident is about to post its status on `account`: the status
    /// wins the pin, the off-hours note steps aside until it resolves.
    pub(super) fn off_hours_yield(
        &mut self,
        now: Timestamp,
        account: &str,
        incident: &str,
        out: &mut Decisions,
    ) {
        if !self
            .off_hours
            .desks
            .get(account)
            .is_some_and(|d| d.note_pinned)
        {
            return;
        }
        out.event(
            Event::new(now, EventKind::OffHoursNote, "engine", format!("Off-hours note unpinned on {account}: the status of incident {incident} takes the pin; the note comes back after it resolves."))
                .incident(incident)
                .with("account", account)
                .with("action", "yielded"),
        );
        self.note_down(now, account, out);
    }

    /// An incident restored `account`'s pins: the off-hours note comes back
    /// if the account is still closed.
    pub(super) fn off_hours_return(&mut self, now: Timestamp, account: &str, out: &mut Decisions) {
        let back = self.off_hours.desks.get(account).is_some_and(|d| {
            d.closed_since().is_some() && d.settings.note.is_some() && !d.note_pinned
        });
        if !back || self.status_holder(account).is_some() {
            return;
        }
        out.event(
            Event::new(
                now,
                EventKind::OffHoursNote,
                "engine",
                format!("Off-hours note pinned again on {account}: the incident is over and the account is still closed."),
            )
            .with("account", account)
            .with("action", "restored"),
        );
        self.note_up(now, account, out);
    }

    /// The crisis override: the team an incident keeps on call for
    /// `account` while its autoresponder is on.
    pub(super) fn on_call_team(&self, incident: &str, account: &str) -> Option<String> {
        self.incidents
            .get(incident)?
            .autoresponders
            .iter()
            .find(|s| s.enabled && s.account == account)?
            .on_call
            .clone()
    }

    fn responder(&self, incident: Option<&str>, account: &str) -> Option<Responder> {
        let from_incident = incident
            .and_then(|id| self.incidents.get(id))
            .and_then(|inc| {
                let st = inc
                    .autoresponders
                    .iter()
                    .find(|s| s.enabled && s.account == account)?;
                Some(Responder {
                    incident: Some(inc.id.clone()),
                    schedule: st.schedule.clone(),
                    template: st.template.clone(),
                    on_call: st.on_call.is_some(),
                    public_mentions: st.public_mentions,
                })
            });
        from_incident.or_else(|| {
            let desk = self.off_hours.desks.get(account)?;
            desk.closed_since()?;
            Some(Responder {
                incident: None,
                schedule: desk.settings.schedule.clone(),
                template: desk.settings.template.clone(),
                on_call: false,
                public_mentions: desk.settings.public_mentions,
            })
        })
    }

    fn held_reason(
        &self,
        now: Timestamp,
        r: &Responder,
        m: &Mention,
        period: &Period,
    ) -> Option<Held> {
        let held = |code, why: &str| {
            Some(Held {
                code,
                why: why.to_string(),
            })
        };
        let author = author_key(m);
        if self
            .own_handles
            .contains(&normalize_handle(&m.author.handle))
        {
            return held(
                "own_account",
                "it comes from one of the brand's own accounts",
            );
        }
        if m.author.bot {
            return held("bot", "it comes from an automated account");
        }
        if !m.direct && !r.public_mentions {
            return held(
                "public_mention",
                "it is a public mention and only direct messages get an auto-reply here",
            );
        }
        let in_answered_thread = m.in_reply_to.as_ref().is_some_and(|t| {
            self.off_hours
                .threads
                .contains_key(&(m.account.clone(), t.clone()))
        });
        if in_answered_thread {
            return held("same_thread", "its thread already has an auto-reply");
        }
        if self
            .off_hours
            .answered
            .get(&(m.account.clone(), author.clone()))
            == Some(period)
        {
            return held("already_answered", "already answered once while closed");
        }
        if let Some(at) = self
            .off_hours
            .staff_replied
            .get(&author)
            .filter(|at| **at + STAFF_REPLY_QUIET > now)
        {
            let ago = humantime::format_duration(std::time::Duration::from_secs(
                (now - *at).num_seconds().max(0) as u64,
            ));
            return Some(Held {
                code: "staff_replied",
                why: format!("a person replied to them {ago} ago"),
            });
        }
        None
    }

    /// Auto-replies to `m` if an autoresponder or the account's standing
    /// desk is on, or puts on the timeline why not.
    pub(super) fn off_hours_reply(
        &mut self,
        now: Timestamp,
        incident: Option<&str>,
        m: &Mention,
        out: &mut Decisions,
    ) {
        let Some(r) = self.responder(incident, &m.account) else {
            return;
        };
        let config = self.config.clone();
        let Some(schedule) = config.schedules.get(&r.schedule) else {
            return;
        };
        let next_open = schedule.next_change(now);
        let period: Period = (
            r.schedule.clone(),
            next_open.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
        );
        let event = |kind, msg: String| {
            let ev = Event::new(now, kind, "engine", msg)
                .with("account", &m.account)
                .with("author", &m.author.handle)
                .with("mention", &m.id);
            match &r.incident {
                Some(id) => ev.incident(id),
                None => ev,
            }
        };
        if let Some(h) = self.held_reason(now, &r, m, &period) {
            out.event(
                event(
                    EventKind::AutoReplyHeld,
                    format!("No auto-reply to {}: {}.", m.author.handle, h.why),
                )
                .with("reason", h.code),
            );
            return;
        }
        let lang = m
            .language()
            .unwrap_or_else(|| config.default_language.clone());
        let facts = context::AutoreplyFacts {
            back_at: schedule.describe_next_open(now, &lang).unwrap_or_default(),
            back_at_iso: iso(next_open),
            schedule: &r.schedule,
            on_call: r.on_call,
            author_name: m.author.name.as_deref().unwrap_or(&m.author.handle),
            author_handle: &m.author.handle,
        };
        let inc = r.incident.as_ref().and_then(|id| self.incidents.get(id));
        let data = match inc {
            Some(inc) => context::autoreply(&config, inc, &lang, &facts, now),
            None => context::off_hours(&config, &lang, &facts, now),
        };
        let seed_scope = r
            .incident
            .clone()
            .unwrap_or_else(|| format!("{}/{}", m.account, period.1.timestamp()));
        let job = RenderJob {
            template: &r.template,
            lang: &lang,
            data,
            seed: super::respond::phrasing_seed(&m.author.id, &seed_scope),
            escape: Escape::Text,
            what: "Auto-reply",
        };
        let Some(text) = self.render_for(now, r.incident.as_deref(), job, out) else {
            return;
        };
        let author = author_key(m);
        // The mention's incident counts the customer as answered, whichever
        // responder answered (for the after-incident report).
        if let Some(inc) = incident.and_then(|id| self.incidents.get_mut(id)) {
            inc.engaged.insert(author.clone());
        }
        let book = &mut self.off_hours;
        book.answered
            .insert((m.account.clone(), author), period.clone());
        for post in std::iter::once(&m.id).chain(m.in_reply_to.as_ref()) {
            book.threads
                .insert((m.account.clone(), post.clone()), period.1);
        }
        let (reason, why) = if r.on_call {
            ("on_call", "a team is on call for the incident")
        } else {
            ("closed", "the account is outside its schedule")
        };
        out.event(
            event(
                EventKind::AutoReplySent,
                format!("Auto-reply to {} in {lang}: {why}.", m.author.handle),
            )
            .with("reason", reason)
            .with("lang", &lang),
        );
        let key = match &r.incident {
            Some(id) => format!("{id}/autoreply/{}/{}", m.platform, m.id),
            None => format!("off-hours/{}/autoreply/{}/{}", m.account, m.platform, m.id),
        };
        out.action(
            key,
            ActionIntent::SendReply {
                incident: r.incident.clone(),
                account: m.account.clone(),
                draft: None,
                in_reply_to: m.id.clone(),
                author_id: m.author.id.clone(),
                text,
                private: m.direct,
            },
        );
    }

    /// Every account with off-hours behaviour, as it stands at `now`.
    pub fn off_hours_status(&self, now: Timestamp) -> Vec<DeskStatus> {
        let mut accounts: BTreeSet<String> = self.off_hours.desks.keys().cloned().collect();
        for inc in self.incidents.values().filter(|i| !i.is_resolved()) {
            accounts.extend(inc.autoresponders.iter().map(|s| s.account.clone()));
        }
        accounts
            .into_iter()
            .filter_map(|account| {
                let desk = self.off_hours.desks.get(&account);
                let incident = self
                    .incidents
                    .values()
                    .filter(|i| !i.is_resolved())
                    .flat_map(|i| i.autoresponders.iter())
                    .find(|s| s.account == account);
                let name = match (incident, desk) {
                    (Some(st), _) if st.on_call.is_some() => st.schedule.clone(),
                    (_, Some(d)) => d.settings.schedule.clone(),
                    (Some(st), None) => st.schedule.clone(),
                    (None, None) => return None,
                };
                let schedule = self.config.schedules.get(&name)?;
                Some(DeskStatus {
                    platform: self
                        .config
                        .accounts
                        .get(&account)
                        .map(|a| a.platform.as_str().to_string())
                        .unwrap_or_default(),
                    open: schedule.is_open(now),
                    since: desk.and_then(|d| d.state.map(|(_, since)| since)),
                    next_change: schedule.next_change(now),
                    next_open: schedule.next_open(now),
                    on_call_override: incident.is_some_and(|s| s.enabled && s.on_call.is_some()),
                    pinned_note: desk.is_some_and(|d| d.note_pinned),
                    schedule: name,
                    account,
                })
            })
            .collect()
    }
}

fn author_key(m: &Mention) -> String {
    format!("{}/{}", m.platform, m.author.id)
}

fn iso(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}
