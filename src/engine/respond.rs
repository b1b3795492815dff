//! Answering people: reply drafts (one conversation per author, routed to
//! staff). Auto-replies while closed live in `off_hours.rs`.

use super::drafts::{Draft, DraftState, Unassigned, INFLUENTIAL_FOLLOWERS};
use super::events::{Event, EventKind};
use super::{
    context, guard, later, normalize_handle, triggers, Decisions, Engine, RenderJob, Timer,
};
use crate::actions::{ActionIntent, Keyed};
use crate::clock::Timestamp;
use crate::detect::matcher::Text;
use crate::mention::Mention;
use crate::playbook::{Recipient, ReplyDrafts};
use crate::templates::Escape;

/// How far back a `reply_drafts` step looks for mentions written before the
/// incident opened, and how many recent mentions the engine keeps for that.
const BACKFILL: chrono::Duration = chrono::Duration::hours(1);
const RECENT_CAP: usize = 20_000;
/// A draft is escalated at most this many times (each after another SLA).
const MAX_ESCALATIONS: u32 = 2;
/// Phrasings tried before a taken text gets the author's handle in front.
const PHRASING_TRIES: u64 = 4;

impl Engine {
    pub(super) fn reply_drafts_step(
        &mut self,
        now: Timestamp,
        id: &str,
        r: &ReplyDrafts,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        inc.drafting = Some(r.clone());
        let pb = self.playbook_of(id);
        let since = now
            - pb.as_ref()
                .map(|p| triggers::lookback(p))
                .unwrap_or_else(chrono::Duration::zero)
                .min(BACKFILL);
        let backlog: Vec<Mention> = self
            .recent
            .iter()
            .filter(|m| m.created_at >= since)
            .filter(|m| {
                pb.as_ref()
                    .is_some_and(|p| triggers::belongs(p, m, &Text::new(&m.text)))
            })
            .cloned()
            .collect();
        for m in backlog {
            self.draft_for(now, id, &m, out);
        }
    }

    /// A new mention: attach it to the incident it belongs to, draft a reply,
    /// auto-reply if an autoresponder is on. Whether an incident took it.
    pub(super) fn route_mention(
        &mut self,
        now: Timestamp,
        m: &Mention,
        text: &Text<'_>,
        out: &mut Decisions,
    ) -> bool {
        let target = self
            .incidents
            .values()
            .filter(|i| !i.is_resolved())
            .filter(|i| {
                self.playbooks
                    .iter()
                    .find(|p| p.name == i.playbook)
                    .is_some_and(|p| triggers::belongs(p, m, text))
            })
            .min_by_key(|i| (i.opened_at, i.id.clone()))
            .map(|i| i.id.clone());
        if let Some(id) = &target {
            self.draft_for(now, id, m, out);
        }
        self.off_hours_reply(now, target.as_deref(), m, out);
        target.is_some()
    }

    /// Keeps a handled mention for an incident that opens later and drafts
    /// replies to what came before it ([`Self::reply_drafts_step`]). Takes
    /// the mention itself, after everything else is done with it: keeping
    /// a copy of each was a sixth of the engine's time per mention.
    pub(super) fn remember(&mut self, now: Timestamp, m: Mention) {
        self.recent.push_back(m);
        while self.recent.len() > RECENT_CAP
            || self
                .recent
                .front()
                .is_some_and(|f| f.created_at < now - BACKFILL)
        {
            self.recent.pop_front();
        }
    }

    /// Whether squall must never answer this author.
    fn skip_reason(&self, m: &Mention) -> Option<&'static str> {
        if self
            .own_handles
            .contains(&normalize_handle(&m.author.handle))
        {
            return Some("it comes from one of the brand's own accounts");
        }
        if m.author.bot {
            return Some("it comes from an automated account");
        }
        None
    }

    fn draft_for(&mut self, now: Timestamp, id: &str, m: &Mention, out: &mut Decisions) {
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        inc.mentions += 1;
        inc.authors
            .insert(format!("{}/{}", m.platform, m.author.id));
        out.attached.push(super::Attached {
            mention: Box::new(m.clone()),
            incident: id.to_string(),
            at: now,
        });
        let Some(r) = inc.drafting.clone() else {
            return;
        };
        if let Some(why) = self.skip_reason(m) {
            out.event(
                Event::new(
                    now,
                    EventKind::MentionSkipped,
                    "engine",
                    format!("No draft for {}: {why}.", m.author.handle),
                )
                .incident(id)
                .with("mention", &m.id),
            );
            return;
        }
        let abusive = guard::abusive(&m.text);
        if abusive
            && self.drafts.count_abuse(id, &m.platform, &m.author.id) >= super::drafts::ABUSE_LIMIT
        {
            self.abuse_repeated(now, id, m, out);
            return;
        }
        let pii = guard::personal_data(&m.text);
        // A private reply needs a platform that has private messages
        // (Bluesky has none): there the public reply stays generic instead.
        let can_dm =
            self.config.accounts.get(&m.account).is_some_and(|a| {
                crate::adapters::capabilities_for(a.platform).can_message_privately
            });
        let lang = m
            .language()
            .unwrap_or_else(|| self.config.default_language.clone());
        if let Some(did) = self.drafts.pending_for(id, &m.platform, &m.author.id) {
            // A follow-up: fold it into the pending draft, keep its place in the queue.
            let Some(d) = self.drafts.drafts.get_mut(&did) else {
                return;
            };
            d.mentions += 1;
            d.mention_text = format!("{}\n{}", d.mention_text, m.text);
            if abusive && !d.flags.contains(&"abuse") {
                d.flags.push("abuse");
            }
            if !pii.is_empty() {
                d.private = can_dm;
                if !d.flags.contains(&"private_data") {
                    d.flags.push("private_data");
                }
            }
            let d = d.clone();
            let rendered = match d.edited_by {
                Some(_) => None,
                None => self.render_draft(now, id, &d, &r.template, out),
            };
            if let Some(text) = rendered {
                self.drafts.take_text(id, &text, did);
                if let Some(d) = self.drafts.drafts.get_mut(&did) {
                    d.text = text;
                }
            }
            out.drafts.insert(did);
            out.event(Event::new(now, EventKind::DraftUpdated, "engine", format!("{} wrote again: draft #{did} now answers {} mentions (one conversation, one reply).", m.author.handle, d.mentions)).incident(id).with("draft", did));
            return;
        }
        let previous = self.drafts.count_contact(&m.platform, &m.author.id);
        let mut flags = Vec::new();
        if m.author.followers.unwrap_or(0) >= INFLUENTIAL_FOLLOWERS {
            flags.push("influential");
        }
        if !pii.is_empty() {
            flags.push("private_data");
        }
        if abusive {
            flags.push("abuse");
        }
        let did = self.drafts.next_id();
        let mut d = Draft {
            id: did,
            incident: id.to_string(),
            platform: m.platform.clone(),
            account: m.account.clone(),
            mention_id: m.id.clone(),
            mention_at: m.created_at,
            author_id: m.author.id.clone(),
            author_handle: m.author.handle.clone(),
            author_name: m
                .author
                .name
                .clone()
                .unwrap_or_else(|| m.author.handle.trim_start_matches('@').to_string()),
            author_followers: m.author.followers.unwrap_or(0),
            mention_text: m.text.clone(),
            mention_url: m.url.clone(),
            lang,
            text: String::new(),
            edited_by: None,
            private: can_dm && (m.direct || !pii.is_empty()),
            flags,
            state: DraftState::Pending,
            assignee: None,
            claimed: false,
            sends: 0,
            created_at: now,
            sla_deadline: later(now, r.sla),
            previous_contacts: previous,
            mentions: 1,
            escalations: 0,
            // The crisis override: on-call staff take the night's drafts.
            team: self
                .on_call_team(id, &m.account)
                .unwrap_or_else(|| r.team.clone()),
            escalate_to: r.escalate_to.clone(),
            skills: r.skills.clone(),
            match_language: r.match_language,
        };
        let Some(text) = self.render_draft(now, id, &d, &r.template, out) else {
            return;
        };
        self.drafts.take_text(id, &text, did);
        d.text = text;
        let private_note = if d.private {
            " It moves to a private message: the mention holds personal data or was private."
        } else {
            ""
        };
        out.event(
            Event::new(
                now,
                EventKind::DraftCreated,
                "engine",
                format!(
                    "Draft #{did} for {} in {}.{private_note}",
                    d.author_handle, d.lang
                ),
            )
            .incident(id)
            .with("draft", did)
            .with("author", &d.author_handle)
            .with("lang", &d.lang)
            .with("flags", &d.flags),
        );
        self.drafts.insert(d);
        out.drafts.insert(did);
        self.timers
            .insert((later(now, r.sla), Timer::DraftSla { draft: did }));
        if r.auto_send {
            self.approve_draft(now, "playbook (auto_send)", did, None, out);
        } else {
            self.assign(now, did, None, true, out);
        }
    }

    /// An author who keeps insulting: no new draft, the pending one (if
    /// any) carries the flag, and the timeline says why.
    fn abuse_repeated(&mut self, now: Timestamp, id: &str, m: &Mention, out: &mut Decisions) {
        if let Some(did) = self.drafts.pending_for(id, &m.platform, &m.author.id) {
            if let Some(d) = self.drafts.drafts.get_mut(&did) {
                d.mentions += 1;
                if !d.flags.contains(&"abuse") {
                    d.flags.push("abuse");
                }
                out.drafts.insert(did);
            }
        }
        out.event(
            Event::new(
                now,
                EventKind::MentionSkipped,
                "engine",
                format!(
                    "No new draft for {}: repeated abuse in this incident (flagged for staff).",
                    m.author.handle
                ),
            )
            .incident(id)
            .with("mention", &m.id),
        );
    }

    /// Re-renders the incident's pending drafts that nobody edited, after
    /// its phase changed: a reply approved after the fix must not say "we
    /// are still investigating". Their authors were told nothing yet; a
    /// person's words are kept as written.
    pub(super) fn reword_pending_drafts(&mut self, now: Timestamp, id: &str, out: &mut Decisions) {
        let Some(template) = self
            .incidents
            .get(id)
            .and_then(|i| i.drafting.as_ref())
            .map(|r| r.template.clone())
        else {
            return;
        };
        let pending: Vec<Draft> = self
            .drafts
            .drafts
            .values()
            .filter(|d| d.incident == id && d.is_pending() && d.edited_by.is_none())
            .cloned()
            .collect();
        let mut reworded: u32 = 0;
        for d in pending {
            let Some(text) = self.render_draft(now, id, &d, &template, out) else {
                continue;
            };
            if text == d.text {
                continue;
            }
            self.drafts.take_text(id, &text, d.id);
            if let Some(dm) = self.drafts.drafts.get_mut(&d.id) {
                dm.text = text;
            }
            out.drafts.insert(d.id);
            reworded += 1;
        }
        if reworded > 0 {
            let phase = self.incidents.get(id).map(|i| i.state.phase().as_str());
            out.event(
                Event::new(
                    now,
                    EventKind::DraftUpdated,
                    "engine",
                    format!(
                        "{} re-worded for the incident's new phase ({}); drafts someone edited keep their words.",
                        super::plural(reworded, "pending draft"),
                        phase.unwrap_or("unknown")
                    ),
                )
                .incident(id),
            );
        }
    }

    fn render_draft(
        &self,
        now: Timestamp,
        id: &str,
        d: &Draft,
        template: &str,
        out: &mut Decisions,
    ) -> Option<String> {
        let inc = self.incidents.get(id)?;
        let data = context::draft(&self.config, inc, d, now);
        let what = format!("Draft for {}", d.author_handle);
        let seed = phrasing_seed(&d.author_id, id);
        // No two authors in an incident get the same text (BRIEF lesson 4):
        // another phrasing when this one is taken, the author's handle in
        // front when every phrasing is.
        let mut first = None;
        for k in 0..PHRASING_TRIES {
            let job = RenderJob {
                template,
                lang: &d.lang,
                data: data.clone(),
                seed: seed.wrapping_add(k),
                escape: Escape::Text,
                what: &what,
            };
            let text = self.render_or_report(now, id, job, out)?;
            if !self.drafts.text_taken(id, &text, d.id) {
                return Some(text);
            }
            first.get_or_insert(text);
        }
        first.map(|t| format!("{} {t}", d.author_handle))
    }

    /// Routes one draft. `announce` puts a failure on the timeline; silent
    /// retries of waiting drafts do not repeat it every minute.
    fn assign(
        &mut self,
        now: Timestamp,
        did: u64,
        exclude: Option<&str>,
        announce: bool,
        out: &mut Decisions,
    ) -> bool {
        let Some(d) = self.drafts.drafts.get(&did).cloned() else {
            return false;
        };
        match self.drafts.route(&self.config, &d, now, exclude) {
            Ok(staff) => {
                let speaks = self
                    .config
                    .staff
                    .get(&staff)
                    .is_some_and(|s| s.languages.contains(&d.lang));
                let why = if speaks {
                    format!("speaks {}, on duty, least loaded", d.lang)
                } else {
                    format!("on duty and least loaded; nobody on duty speaks {}", d.lang)
                };
                self.drafts.set_assignee(did, &staff);
                self.queue_digest(now, &staff, did);
                out.drafts.insert(did);
                out.event(
                    Event::new(
                        now,
                        EventKind::DraftAssigned,
                        "engine",
                        format!("Draft #{did} assigned to {staff}: {why}."),
                    )
                    .incident(&d.incident)
                    .with("draft", did)
                    .with("staff", &staff),
                );
                true
            }
            Err(_) if !announce => false,
            Err(e) => {
                let why = match e {
                    Unassigned::NobodyOnDuty => format!("nobody in team {} is on duty", d.team),
                    Unassigned::AllAtCapacity => {
                        format!("everyone on duty in team {} is at capacity", d.team)
                    }
                };
                out.event(
                    Event::new(
                        now,
                        EventKind::DraftUnassigned,
                        "engine",
                        format!("Draft #{did} waits in the queue: {why}."),
                    )
                    .incident(&d.incident)
                    .with("draft", did),
                );
                false
            }
        }
    }

    /// Gives waiting, unassigned drafts to whoever has room (someone came on
    /// duty, or finished a reply), oldest mention first.
    pub(super) fn assign_waiting(&mut self, now: Timestamp, out: &mut Decisions) {
        let waiting: Vec<u64> = self
            .drafts
            .queue()
            .iter()
            .filter(|d| d.assignee.is_none())
            .map(|d| d.id)
            .collect();
        for did in waiting {
            if !self.assign(now, did, None, false, out) {
                break;
            }
        }
    }

    pub(super) fn approve_draft(
        &mut self,
        now: Timestamp,
        by: &str,
        did: u64,
        text: Option<String>,
        out: &mut Decisions,
    ) {
        let Some(d) = self.drafts.drafts.get_mut(&did) else {
            out.event(Event::new(
                now,
                EventKind::CommandRejected,
                by,
                format!("No draft #{did}."),
            ));
            return;
        };
        if !d.is_pending() {
            out.event(
                Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!("Draft #{did} is not pending any more."),
                )
                .incident(&d.incident),
            );
            return;
        }
        let d = d.clone();
        if let Some(why) = self.claimed_by_other(&d, by) {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(&d.incident));
            return;
        }
        if let Some(why) = self.too_long(&d, text.as_deref().unwrap_or(&d.text)) {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(&d.incident));
            return;
        }
        let Some(d) = self.drafts.drafts.get_mut(&did) else {
            return;
        };
        if let Some(t) = text {
            d.text = t;
        }
        d.state = DraftState::Approved {
            by: by.to_string(),
            at: now,
        };
        d.sends += 1;
        let d = d.clone();
        out.drafts.insert(did);
        out.event(
            Event::new(
                now,
                EventKind::DraftApproved,
                by,
                format!("Draft #{did} approved by {by}."),
            )
            .incident(&d.incident)
            .with("draft", did),
        );
        // A reply the platform refused comes back to the queue; sending it
        // again is a new action, not the failed one.
        let key = match d.sends {
            0 | 1 => format!("draft-{did}/send"),
            n => format!("draft-{did}/send-{n}"),
        };
        out.actions.push(Keyed {
            key,
            intent: ActionIntent::SendReply {
                incident: Some(d.incident.clone()),
                account: d.account.clone(),
                draft: Some(did),
                in_reply_to: d.mention_id.clone(),
                author_id: d.author_id.clone(),
                text: d.text.clone(),
                private: d.private,
            },
        });
        self.assign_waiting(now, out);
    }

    pub(super) fn discard_draft(
        &mut self,
        now: Timestamp,
        by: &str,
        did: u64,
        reason: String,
        out: &mut Decisions,
    ) {
        let Some(d) = self.drafts.drafts.get(&did).filter(|d| d.is_pending()) else {
            out.event(Event::new(
                now,
                EventKind::CommandRejected,
                by,
                format!("No pending draft #{did}."),
            ));
            return;
        };
        if let Some(why) = self.claimed_by_other(d, by) {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(&d.incident));
            return;
        }
        let Some(d) = self.drafts.drafts.get_mut(&did) else {
            return;
        };
        d.state = DraftState::Discarded {
            by: by.to_string(),
            reason: reason.clone(),
            at: now,
        };
        let inc = d.incident.clone();
        out.drafts.insert(did);
        out.event(
            Event::new(
                now,
                EventKind::DraftDiscarded,
                by,
                format!("Draft #{did} discarded by {by}: {reason}."),
            )
            .incident(&inc)
            .with("draft", did),
        );
        self.assign_waiting(now, out);
    }

    pub(super) fn draft_sla(&mut self, at: Timestamp, did: u64, out: &mut Decisions) {
        let Some(d) = self
            .drafts
            .drafts
            .get(&did)
            .filter(|d| d.is_pending())
            .cloned()
        else {
            return;
        };
        // Once the incident is over, or after a second escalation, the draft
        // stays in the queue without paging anyone again.
        if self
            .incidents
            .get(&d.incident)
            .is_none_or(|i| i.is_resolved())
            || d.escalations >= MAX_ESCALATIONS
        {
            return;
        }
        if let Some(dm) = self.drafts.drafts.get_mut(&did) {
            dm.escalations += 1;
        }
        out.drafts.insert(did);
        let waited = humantime::format_duration(std::time::Duration::from_secs(
            (at - d.mention_at).num_seconds().max(0) as u64,
        ));
        out.event(
            Event::new(at, EventKind::DraftEscalated, "engine", format!("Draft #{did} for {} has waited {waited}, past its SLA; reassigning and telling the {}.", d.author_handle, d.escalate_to.clone().unwrap_or_else(|| "nobody (no escalate_to)".into())))
                .incident(&d.incident)
                .with("draft", did),
        );
        let current = d.assignee.clone();
        // Nobody else free: it stays where it is, and the lead is told.
        self.assign(at, did, current.as_deref(), false, out);
        // One page per incident per SLA period, however many drafts breach it.
        let sla = d.sla_deadline - d.created_at;
        let due = self
            .incidents
            .get(&d.incident)
            .and_then(|i| i.escalation_notified_at)
            .is_none_or(|last| at - last >= sla);
        if let (Some(role), true) = (&d.escalate_to, due) {
            if let Some(inc) = self.incidents.get_mut(&d.incident) {
                inc.escalation_notified_at = Some(at);
            }
            self.notify_plain(
                at,
                &d.incident,
                &[Recipient::Role(role.clone())],
                "escalated",
                &format!("{}/escalate-{}", d.incident, at.timestamp()),
                out,
            );
        }
        self.timers
            .insert((at + sla, Timer::DraftSla { draft: did }));
    }

    /// The outcome of an action the engine asked for.
    ///
    /// Only final outcomes come here (a retry is the outbox's business). A
    /// reply that failed for good (the platform refused it) goes back to
    /// the queue, pending, with the person who holds it: nothing was sent,
    /// and a draft stuck as "approved" could be neither edited nor sent.
    pub fn action_done(&mut self, now: Timestamp, intent: &ActionIntent, ok: bool) -> Decisions {
        let mut out = Decisions::default();
        if let ActionIntent::SendReply {
            draft: Some(did), ..
        } = intent
        {
            if let Some(d) = self
                .drafts
                .drafts
                .get_mut(did)
                .filter(|d| !ok && matches!(d.state, DraftState::Approved { .. }))
            {
                d.state = DraftState::Pending;
                out.drafts.insert(*did);
                out.event(
                    Event::new(
                        now,
                        EventKind::DraftUpdated,
                        "engine",
                        format!(
                            "Reply #{did} to {} was not sent: the platform refused it (see the failed action). It is back in the queue to edit and approve again.",
                            d.author_handle
                        ),
                    )
                    .incident(&d.incident)
                    .with("draft", *did),
                );
                return out;
            }
            if let Some(d) = self.drafts.drafts.get_mut(did) {
                if let (true, DraftState::Approved { by, .. }) = (ok, &d.state) {
                    let by = by.clone();
                    d.state = DraftState::Sent {
                        by: by.clone(),
                        at: now,
                    };
                    let author = format!("{}/{}", d.platform, d.author_id);
                    self.off_hours.staff_replied(author.clone(), now);
                    let incident = d.incident.clone();
                    if let Some(inc) = self.incidents.get_mut(&incident) {
                        inc.engaged.insert(author);
                    }
                    out.drafts.insert(*did);
                    out.event(
                        Event::new(
                            now,
                            EventKind::DraftSent,
                            &by,
                            format!(
                                "Reply #{did} sent to {}{}.",
                                d.author_handle,
                                if d.private {
                                    " as a private message"
                                } else {
                                    ""
                                }
                            ),
                        )
                        .incident(&d.incident)
                        .with("draft", *did),
                    );
                }
            }
        }
        out
    }
}

/// Picks a phrasing per author and incident, so that two customers rarely
/// get the same sentence (BRIEF lesson 4). Stable across runs.
pub(super) fn phrasing_seed(author: &str, incident: &str) -> u64 {
    super::drafts::fnv1a(author.bytes().chain([0u8]).chain(incident.bytes()))
}
