//! The playbook engine: a pure state machine.
//!
//! **Architecture Invariant:** the engine does no I/O and never reads a clock.
//! It is handed an [`Input`] and "now", and returns [`Decisions`]: timeline
//! events, action intents for the outbox, and which incidents and drafts
//! changed. Live mode and simulation drive this same code; only the clock and
//! the adapters differ.
//!
//! Flow: mention → trigger states (detectors) → trigger fired → incident
//! opened or attached (grouping, cooldown, rate limit) → steps → intents.

pub mod context;
mod digest;
pub mod drafts;
pub mod events;
pub mod guard;
pub mod incident;
pub mod input;
pub mod off_hours;
mod respond;
mod staffing;
pub use digest::escape_html;
mod steps;
pub use steps::StatusPreview;
pub mod triggers;

use crate::actions::{ActionIntent, Keyed};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::detect::matcher::Text;
use crate::detect::{Decision, Evaluation, SurgeDetector};
use crate::mention::Mention;
use crate::playbook::{GroupKey, IncidentState, Playbook, Trigger};
use crate::templates::TemplateSet;
use drafts::DraftBook;
use events::{Event, EventKind};
use incident::{Incident, StatusPost};
use input::{Alert, AlertStatus, Command, CommandKind, Input};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use triggers::{TriggerRuntime, TriggerState};

/// Everything one call to the engine decided.
#[derive(Debug, Default)]
pub struct Decisions {
    pub events: Vec<Event>,
    pub actions: Vec<Keyed>,
    /// Ids of incidents whose state changed (the runtime persists them).
    pub incidents: BTreeSet<String>,
    pub drafts: BTreeSet<u64>,
    /// Mentions that joined an incident.
    pub attached: Vec<Attached>,
}

/// A mention that joined an incident. The runtime stores its row then
/// (only such mentions have one; every mention is in the journal), so it
/// carries the whole mention.
#[derive(Debug, Clone)]
pub struct Attached {
    pub mention: Box<Mention>,
    pub incident: String,
    /// When the engine handled it.
    pub at: Timestamp,
}

impl Decisions {
    fn event(&mut self, e: Event) {
        self.events.push(e);
    }
    fn action(&mut self, key: String, intent: ActionIntent) {
        self.actions.push(Keyed { key, intent });
    }
    pub fn extend(&mut self, other: Decisions) {
        self.events.extend(other.events);
        self.actions.extend(other.actions);
        self.incidents.extend(other.incidents);
        self.drafts.extend(other.drafts);
        self.attached.extend(other.attached);
    }
}

/// One template to render for an incident, and what to call it if it fails.
struct RenderJob<'a> {
    template: &'a str,
    lang: &'a str,
    data: serde_json::Value,
    /// Picks among the template's phrasings.
    seed: u64,
    escape: crate::templates::Escape,
    what: &'a str,
}

/// Deferred work, fired by [`Engine::tick`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    ApprovalTimeout {
        incident: String,
    },
    StaleCheck {
        incident: String,
    },
    AutoResolve {
        incident: String,
    },
    DraftSla {
        draft: u64,
    },
    Digest {
        staff: String,
    },
    ScheduleBoundary {
        incident: String,
        account: String,
    },
    /// The standing off-hours schedule of an account opens or closes.
    OffHours {
        account: String,
    },
}

/// Why a trigger fired, carried into the incident and its timeline.
#[derive(Debug, Clone)]
struct Firing {
    playbook: Arc<Playbook>,
    kind: &'static str,
    reason: String,
    account: Option<String>,
    labels: BTreeMap<String, String>,
    actor: String,
    manual: bool,
}

/// The engine. Holds incidents, drafts and trigger state in memory; the
/// runtime persists what it reports as changed.
pub struct Engine {
    config: Arc<Config>,
    templates: Arc<TemplateSet>,
    playbooks: Vec<Arc<Playbook>>,
    triggers: Vec<TriggerRuntime>,
    incidents: BTreeMap<String, Incident>,
    /// Group key → id of the unresolved incident holding it.
    open_by_key: BTreeMap<String, String>,
    /// Group key → when its last incident resolved (cooldown).
    resolved_at: BTreeMap<String, Timestamp>,
    /// Playbook → when it opened incidents automatically in the last hour.
    opened: BTreeMap<String, VecDeque<Timestamp>>,
    drafts: DraftBook,
    timers: BTreeSet<(Timestamp, Timer)>,
    /// Dedup keys of inputs already handled (alert deliveries).
    seen: BTreeSet<String>,
    /// Handles of the brand's own accounts: never drafted to, never auto-replied.
    own_handles: BTreeSet<String>,
    explain: bool,
    /// Recent mentions, so that a `reply_drafts` step also answers the
    /// mentions that made the surge, written before the incident opened.
    recent: VecDeque<Mention>,
    /// Standing off-hours desks and who got an auto-reply when.
    off_hours: off_hours::OffHoursBook,
}

impl Engine {
    pub fn new(
        config: Arc<Config>,
        playbooks: Vec<Playbook>,
        templates: Arc<TemplateSet>,
        start: Timestamp,
    ) -> Self {
        let playbooks: Vec<Arc<Playbook>> = playbooks.into_iter().map(Arc::new).collect();
        let triggers = playbooks
            .iter()
            .flat_map(|p| {
                (0..p.triggers.len()).map(move |i| TriggerRuntime::new(p.clone(), i, start))
            })
            .collect();
        let own_handles = config
            .accounts
            .values()
            .map(|a| normalize_handle(&a.handle))
            .collect();
        let off_hours = off_hours::OffHoursBook::new(&config);
        let mut engine = Self {
            config,
            templates,
            playbooks,
            triggers,
            incidents: BTreeMap::new(),
            open_by_key: BTreeMap::new(),
            resolved_at: BTreeMap::new(),
            opened: BTreeMap::new(),
            drafts: DraftBook::default(),
            timers: BTreeSet::new(),
            seen: BTreeSet::new(),
            own_handles,
            explain: false,
            recent: VecDeque::new(),
            off_hours,
        };
        engine.start_off_hours(start);
        engine
    }

    /// Also report every trigger evaluation (`simulate --explain`).
    pub fn set_explain(&mut self, on: bool) {
        self.explain = on;
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn playbooks(&self) -> &[Arc<Playbook>] {
        &self.playbooks
    }

    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values()
    }

    pub fn incident(&self, id: &str) -> Option<&Incident> {
        self.incidents.get(id)
    }

    pub fn drafts(&self) -> &DraftBook {
        &self.drafts
    }

    /// The recent rate of every surge trigger against its expected count
    /// and threshold, in playbook order (the dashboard's chart).
    pub fn rates(&self) -> Vec<triggers::RateSeries> {
        self.triggers
            .iter()
            .filter_map(TriggerRuntime::rate)
            .collect()
    }

    /// The earliest instant at which [`tick`](Self::tick) has work to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let timer = self.timers.iter().next().map(|(t, _)| *t);
        let trig = self.triggers.iter().filter_map(|t| t.next_deadline()).min();
        match (timer, trig) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Handles one input at `now`. Time first catches up (buckets close,
    /// timers fire), then the input is applied.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Decisions {
        let mut out = self.tick(now);
        match input {
            Input::Mention(m) => {
                // Only a mention no incident took is kept for one that opens
                // later: one that an incident took has been answered there
                // (or deliberately not), and must not be drafted again.
                if !self.on_mention(now, &m, &mut out) {
                    self.remember(now, *m);
                }
            }
            Input::Alert(a) => self.on_alert(now, &a, &mut out),
            Input::Command(c) => self.on_command(now, c, &mut out),
        }
        out
    }

    /// Advances time to `now`: closes detector buckets and fires due timers,
    /// in time order.
    pub fn tick(&mut self, now: Timestamp) -> Decisions {
        let mut out = Decisions::default();
        loop {
            let next = self.next_deadline();
            match next {
                Some(t) if t <= now => self.advance_to(t, &mut out),
                _ => break,
            }
        }
        out
    }

    fn advance_to(&mut self, t: Timestamp, out: &mut Decisions) {
        // Detectors and cron triggers whose boundary is due.
        let mut fired = Vec::new();
        for i in 0..self.triggers.len() {
            if self.triggers[i].next_deadline().is_none_or(|d| d > t) {
                continue;
            }
            let playbook = self.triggers[i].playbook.clone();
            let index = self.triggers[i].index;
            match &mut self.triggers[i].state {
                TriggerState::Surge(det, rate) => {
                    let evaluations = det.advance(t);
                    for ev in &evaluations {
                        rate.record(ev);
                    }
                    for ev in evaluations {
                        if let Some(f) = self.on_evaluation(&playbook, &ev, out) {
                            fired.push((f, ev.at));
                        }
                    }
                }
                TriggerState::Schedule { next } => {
                    let at = next.unwrap_or(t);
                    if let Trigger::Schedule(s) = &playbook.triggers[index] {
                        *next = triggers::next_cron(s, at);
                        out.event(
                            Event::new(
                                at,
                                EventKind::ScheduleFired,
                                "engine",
                                format!(
                                    "Schedule `{}` fired for playbook {}.",
                                    s.cron_source, playbook.name
                                ),
                            )
                            .with("playbook", &playbook.name),
                        );
                        fired.push((
                            Firing {
                                playbook: playbook.clone(),
                                kind: "schedule",
                                reason: format!("scheduled by cron `{}`", s.cron_source),
                                account: None,
                                labels: BTreeMap::new(),
                                actor: "engine".into(),
                                manual: false,
                            },
                            at,
                        ));
                    }
                }
                _ => {}
            }
        }
        for (f, at) in fired {
            self.fire(at, f, out);
        }
        // Timers due at or before t.
        while let Some((at, _)) = self.timers.iter().next().cloned() {
            if at > t {
                break;
            }
            if let Some((at, timer)) = self.timers.pop_first() {
                self.on_timer(at, timer, out);
            }
        }
        // Staff come on duty as time passes: waiting drafts find them.
        if self.drafts.queue().iter().any(|d| d.assignee.is_none()) {
            self.assign_waiting(t, out);
        }
    }

    fn on_evaluation(
        &mut self,
        playbook: &Arc<Playbook>,
        ev: &Evaluation,
        out: &mut Decisions,
    ) -> Option<Firing> {
        if self.explain {
            out.event(
                Event::new(
                    ev.at,
                    EventKind::SurgeEvaluated,
                    "engine",
                    format!("{}: {}", playbook.name, ev.explain()),
                )
                .with("playbook", &playbook.name)
                .with("observed", ev.observed)
                .with("baseline", round1(ev.baseline))
                .with("band", round1(ev.band))
                .with("threshold", round1(ev.threshold))
                .with("bound", ev.bound)
                .with("decision", ev.decision),
            );
        }
        match ev.decision {
            Decision::Surge => {
                out.event(
                    Event::new(
                        ev.at,
                        EventKind::SurgeDetected,
                        "engine",
                        format!("Surge for playbook {}: {}.", playbook.name, ev.explain()),
                    )
                    .with("playbook", &playbook.name)
                    .with("observed", ev.observed)
                    .with("baseline", round1(ev.baseline))
                    .with("band", round1(ev.band))
                    .with("threshold", round1(ev.threshold))
                    .with("bound", ev.bound)
                    .with("early", ev.early),
                );
                self.not_quiet(&playbook.name);
                Some(Firing {
                    playbook: playbook.clone(),
                    kind: "surge",
                    reason: ev.explain(),
                    account: None,
                    labels: BTreeMap::new(),
                    actor: "engine".into(),
                    manual: false,
                })
            }
            // A rise held back by debounce is the same surge going on: the
            // incident is not quiet.
            Decision::Ongoing => {
                self.not_quiet(&playbook.name);
                None
            }
            Decision::NewLevel => {
                out.event(
                    Event::new(
                        ev.at,
                        EventKind::SurgeNewLevel,
                        "engine",
                        format!("Playbook {}: {}.", playbook.name, ev.explain()),
                    )
                    .with("playbook", &playbook.name)
                    .with("observed", ev.observed),
                );
                None
            }
            Decision::Subsided => {
                out.event(
                    Event::new(
                        ev.at,
                        EventKind::SurgeSubsided,
                        "engine",
                        format!(
                            "Surge for playbook {} subsided: {}.",
                            playbook.name,
                            ev.explain()
                        ),
                    )
                    .with("playbook", &playbook.name)
                    .with("observed", ev.observed),
                );
                let quiet = playbook.incident.auto_resolve_quiet;
                let ids: Vec<String> = self
                    .incidents
                    .values()
                    .filter(|i| i.playbook == playbook.name && !i.is_resolved())
                    .map(|i| i.id.clone())
                    .collect();
                for id in ids {
                    if let Some(inc) = self.incidents.get_mut(&id) {
                        inc.subsided_at = Some(ev.at);
                    }
                    if let Some(q) = quiet {
                        self.timers
                            .insert((later(ev.at, q), Timer::AutoResolve { incident: id }));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The open incidents of a playbook are not quiet any more: an
    /// auto-resolve timer waits for the next subsidence.
    fn not_quiet(&mut self, playbook: &str) {
        for inc in self.incidents.values_mut() {
            if inc.playbook == playbook && !inc.is_resolved() {
                inc.subsided_at = None;
            }
        }
    }

    /// Whether an incident took the mention.
    fn on_mention(&mut self, now: Timestamp, m: &Mention, out: &mut Decisions) -> bool {
        // A mention is counted when it was written, but never later than it
        // arrived: a wrong clock (or a typo of a year) must not move the
        // detectors' windows into the future, where every real mention
        // that follows would look too old to count. Replays use the
        // journaled arrival time, so this stays deterministic.
        let written = m.created_at.min(now);
        let mut fired = Vec::new();
        let mut early = Vec::new();
        let text = Text::new(&m.text);
        for t in &mut self.triggers {
            if !t.counts(m, &text) {
                continue;
            }
            match &mut t.state {
                // Live mode fires as soon as the surge is certain, not at the
                // end of the bucket.
                TriggerState::Surge(det, rate) => {
                    let counted = det.observe(written);
                    if let Some(ev) = counted.then(|| det.early(now)).flatten() {
                        rate.record(&ev);
                        early.push((t.playbook.clone(), ev));
                    }
                }
                TriggerState::Keyword(k) => {
                    let fired_now = k.observe(written);
                    if fired_now {
                        let pb = t.playbook.clone();
                        let min = match &pb.triggers[t.index] {
                            Trigger::Keyword(k) => k.min_mentions,
                            _ => 0,
                        };
                        out.event(
                            Event::new(
                                now,
                                EventKind::KeywordMatched,
                                "engine",
                                format!(
                                    "{} matched the keywords of playbook {}.",
                                    plural(min, "mention"),
                                    pb.name
                                ),
                            )
                            .with("playbook", &pb.name)
                            .with("mention", &m.id),
                        );
                        fired.push(Firing {
                            playbook: pb,
                            kind: "keyword",
                            reason: format!(
                                "{} matched its keywords, the last one: \"{}\"",
                                plural(min, "mention"),
                                context::excerpt(&m.text, 60)
                            ),
                            account: Some(m.account.clone()),
                            labels: BTreeMap::new(),
                            actor: "engine".into(),
                            manual: false,
                        });
                    }
                }
                _ => {}
            }
        }
        for (playbook, ev) in early {
            fired.extend(self.on_evaluation(&playbook, &ev, out));
        }
        for f in fired {
            self.fire(now, f, out);
        }
        self.route_mention(now, m, &text, out)
    }

    fn on_alert(&mut self, now: Timestamp, a: &Alert, out: &mut Decisions) {
        let key = a.dedup_key();
        if !self.seen.insert(key) {
            out.event(
                Event::new(
                    now,
                    EventKind::AlertDuplicate,
                    "engine",
                    format!("Alert {} delivered again: ignored.", a.fingerprint),
                )
                .with("fingerprint", &a.fingerprint),
            );
            return;
        }
        let name = a.labels.get("alertname").cloned().unwrap_or_default();
        out.event(
            Event::new(
                now,
                EventKind::AlertReceived,
                format!("{:?}", a.source).to_lowercase(),
                format!(
                    "Alert {name} is {}.",
                    match a.status {
                        AlertStatus::Firing => "firing",
                        AlertStatus::Resolved => "resolved",
                    }
                ),
            )
            .with("fingerprint", &a.fingerprint)
            .with("labels", &a.labels),
        );
        let matching: Vec<(Arc<Playbook>, bool)> = self
            .playbooks
            .iter()
            .flat_map(|p| {
                p.triggers.iter().filter_map(move |t| match t {
                    Trigger::Alert(at)
                        if at.source == a.source
                            && at.labels.iter().all(|(k, v)| a.labels.get(k) == Some(v)) =>
                    {
                        Some((p.clone(), at.resolve))
                    }
                    _ => None,
                })
            })
            .collect();
        for (pb, resolve) in matching {
            match a.status {
                AlertStatus::Firing => {
                    let f = Firing {
                        playbook: pb,
                        kind: "alert",
                        reason: format!("alert {name} is firing"),
                        account: None,
                        labels: a.labels.clone(),
                        actor: format!("{:?}", a.source).to_lowercase(),
                        manual: false,
                    };
                    self.fire(now, f, out);
                }
                AlertStatus::Resolved if resolve => {
                    let key = group_key(&pb, None, &a.labels);
                    if let Some(id) = self.open_by_key.get(&key).cloned() {
                        self.resolve(
                            now,
                            &id,
                            "engine",
                            format!("alert {name} resolved and the playbook resolves with it"),
                            out,
                        );
                    }
                }
                AlertStatus::Resolved => {}
            }
        }
    }

    /// A trigger fired: open an incident, attach to the open one, or hold back.
    fn fire(&mut self, now: Timestamp, f: Firing, out: &mut Decisions) {
        let key = group_key(&f.playbook, f.account.as_deref(), &f.labels);
        if let Some(id) = self.open_by_key.get(&key) {
            out.event(
                Event::new(
                    now,
                    EventKind::TriggerAttached,
                    &f.actor,
                    format!("Already handled by incident {id}: {}.", f.reason),
                )
                .incident(id)
                .with("trigger", f.kind),
            );
            return;
        }
        let pb = f.playbook.clone();
        if !f.manual {
            if let Some(last) = self.resolved_at.get(&key) {
                let until = later(*last, pb.incident.cooldown);
                if now < until {
                    out.event(
                        Event::new(now, EventKind::TriggerSuppressed, &f.actor, format!("Not opening an incident for {}: {} but the previous one resolved less than {} ago (cooldown until {}). Declare one by hand if it is real.", pb.name, f.reason, humantime::format_duration(pb.incident.cooldown), until.to_rfc3339()))
                            .with("playbook", &pb.name)
                            .with("reason", "cooldown"),
                    );
                    return;
                }
            }
            let window = self.opened.entry(pb.name.clone()).or_default();
            while window
                .front()
                .is_some_and(|t| *t <= now - chrono::Duration::hours(1))
            {
                window.pop_front();
            }
            if window.len() as u32 >= pb.incident.max_per_hour {
                out.event(
                    Event::new(now, EventKind::TriggerSuppressed, &f.actor, format!("Not opening an incident for {}: {} but it already opened {} in the last hour (max_per_hour).", pb.name, f.reason, window.len()))
                        .with("playbook", &pb.name)
                        .with("reason", "rate_limit"),
                );
                return;
            }
            window.push_back(now);
        }
        let id = self.new_incident_id(&pb.name, now);
        let inc = Incident {
            id: id.clone(),
            playbook: pb.name.clone(),
            group_key: key.clone(),
            title: pb.title.clone(),
            trigger_kind: f.kind,
            labels: f.labels.clone(),
            state: IncidentState::Open,
            opened_at: now,
            acknowledged_at: None,
            mitigated_at: None,
            resolution: None,
            status: StatusPost::None,
            status_changed_at: now,
            note: None,
            eta: None,
            subsided_at: None,
            autoresponders: Vec::new(),
            drafting: None,
            status_template: None,
            status_version: 0,
            escalation_notified_at: None,
            mentions: 0,
            authors: BTreeSet::new(),
            engaged: BTreeSet::new(),
        };
        self.incidents.insert(id.clone(), inc);
        self.open_by_key.insert(key, id.clone());
        out.incidents.insert(id.clone());
        out.event(
            Event::new(
                now,
                EventKind::IncidentOpened,
                &f.actor,
                format!(
                    "Opened \"{}\" by playbook {}: {}.",
                    pb.title, pb.name, f.reason
                ),
            )
            .incident(&id)
            .with("playbook", &pb.name)
            .with("trigger", f.kind),
        );
        self.timers.insert((
            later(now, pb.incident.stale_after),
            Timer::StaleCheck {
                incident: id.clone(),
            },
        ));
        let steps = pb.on_open.clone();
        self.run_steps(now, &id, &steps, "on_open", out);
    }

    fn new_incident_id(&self, playbook: &str, now: Timestamp) -> String {
        let base = format!("{playbook}-{}", now.format("%Y%m%d-%H%M"));
        if !self.incidents.contains_key(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !self.incidents.contains_key(id))
            .unwrap_or(base)
    }

    /// Finds an incident by id, or by playbook name (its latest incident).
    fn find(&self, r: &str) -> Option<String> {
        if self.incidents.contains_key(r) {
            return Some(r.to_string());
        }
        self.incidents
            .values()
            .filter(|i| i.playbook == r)
            .max_by_key(|i| (i.opened_at, i.id.clone()))
            .map(|i| i.id.clone())
    }

    fn on_command(&mut self, now: Timestamp, c: Command, out: &mut Decisions) {
        let by = c.by.clone();
        let reject = |out: &mut Decisions, why: String| {
            out.event(Event::new(now, EventKind::CommandRejected, &by, why));
        };
        match c.kind {
            CommandKind::Declare { playbook, note } => {
                let Some(pb) = self.playbooks.iter().find(|p| p.name == playbook).cloned() else {
                    let declarable: Vec<&str> = self
                        .playbooks
                        .iter()
                        .filter(|p| p.triggers.iter().any(|t| matches!(t, Trigger::Manual)))
                        .map(|p| p.name.as_str())
                        .collect();
                    let hint = match declarable.as_slice() {
                        [] => "No playbook can be declared by hand.".to_owned(),
                        names => format!("Playbooks that can be declared: {}.", names.join(", ")),
                    };
                    return reject(out, format!("No playbook named {playbook}. {hint}"));
                };
                if !pb.triggers.iter().any(|t| matches!(t, Trigger::Manual)) {
                    return reject(out, format!("Playbook {playbook} has no manual trigger: add `- manual: {{}}` to its triggers to allow declaring it."));
                }
                let reason = match &note {
                    Some(n) => format!("declared by {by}: {}", n.trim_end_matches('.')),
                    None => format!("declared by {by}"),
                };
                self.fire(
                    now,
                    Firing {
                        playbook: pb,
                        kind: "manual",
                        reason,
                        account: None,
                        labels: BTreeMap::new(),
                        actor: by.clone(),
                        manual: true,
                    },
                    out,
                );
                if let (Some(n), Some(id)) = (note, self.find(&playbook)) {
                    if let Some(inc) = self.incidents.get_mut(&id) {
                        inc.note.get_or_insert(n);
                    }
                }
            }
            CommandKind::Acknowledge { incident } => {
                self.with_incident(now, &by, &incident, out, |e, now, id, by, out| {
                    e.change_state(now, id, IncidentState::Acknowledged, by, out)
                })
            }
            CommandKind::SetState { incident, state } => {
                self.with_incident(now, &by, &incident, out, |e, now, id, by, out| {
                    if state == IncidentState::Resolved {
                        e.resolve(now, id, by, format!("resolved by {by}"), out)
                    } else {
                        e.change_state(now, id, state, by, out)
                    }
                })
            }
            CommandKind::Resolve { incident, note } => {
                self.with_incident(now, &by, &incident, out, |e, now, id, by, out| {
                    // A refused resolve (already resolved) leaves the note as it was.
                    if let Some(n) = &note {
                        if let Some(inc) = e.incidents.get_mut(id).filter(|i| !i.is_resolved()) {
                            inc.note = Some(n.clone());
                        }
                    }
                    let reason = match &note {
                        Some(n) => format!("resolved by {by}: {}", n.trim_end_matches('.')),
                        None => format!("resolved by {by}"),
                    };
                    e.resolve(now, id, by, reason, out)
                })
            }
            CommandKind::Update {
                incident,
                note,
                eta,
            } => self.with_incident(now, &by, &incident, out, |e, now, id, by, out| {
                e.update(now, id, by, note.clone(), eta.clone(), out)
            }),
            CommandKind::EditStatus { incident, text } => {
                self.with_incident(now, &by, &incident, out, |e, now, id, by, out| {
                    e.edit_status(now, id, by, text.clone(), out)
                })
            }
            CommandKind::ApproveStatus { incident, text } => {
                self.with_incident(now, &by, &incident, out, |e, now, id, by, out| {
                    e.approve_status(now, id, by, text.clone(), out)
                })
            }
            CommandKind::ApproveDraft { draft, text } => {
                self.approve_draft(now, &by, draft, text, out)
            }
            CommandKind::DiscardDraft { draft, reason } => {
                self.discard_draft(now, &by, draft, reason, out)
            }
            CommandKind::ClaimDraft { draft } => self.claim_draft(now, &by, draft, out),
            CommandKind::EditDraft { draft, text } => self.edit_draft(now, &by, draft, text, out),
        }
    }

    fn with_incident(
        &mut self,
        now: Timestamp,
        by: &str,
        r: &str,
        out: &mut Decisions,
        f: impl FnOnce(&mut Self, Timestamp, &str, &str, &mut Decisions),
    ) {
        match self.find(r) {
            Some(id) => f(self, now, &id, by, out),
            None => out.event(Event::new(
                now,
                EventKind::CommandRejected,
                by,
                format!("No incident {r}."),
            )),
        }
    }

    fn change_state(
        &mut self,
        now: Timestamp,
        id: &str,
        to: IncidentState,
        by: &str,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        let from = inc.state;
        if !inc.advance(to, now) {
            out.event(
                Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!(
                        "Incident {id} is {}: it cannot move to {}.",
                        from.as_str(),
                        to.as_str()
                    ),
                )
                .incident(id),
            );
            return;
        }
        out.incidents.insert(id.to_string());
        out.event(
            Event::new(
                now,
                EventKind::IncidentStateChanged,
                by,
                format!(
                    "{} → {} by {by}; the public status now says \"{}\".",
                    from.as_str(),
                    to.as_str(),
                    to.phase().as_str()
                ),
            )
            .incident(id)
            .with("from", from)
            .with("to", to),
        );
        self.refresh_status(now, id, by, out);
        self.reword_pending_drafts(now, id, out);
        let pb = self.playbook_of(id);
        if let Some(pb) = pb {
            let steps = pb.on_state_change.clone();
            self.run_steps(now, id, &steps, &format!("state-{}", to.as_str()), out);
        }
    }

    fn update(
        &mut self,
        now: Timestamp,
        id: &str,
        by: &str,
        note: Option<String>,
        eta: Option<String>,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        if inc.is_resolved() {
            out.event(
                Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!("Incident {id} is resolved."),
                )
                .incident(id),
            );
            return;
        }
        if note.is_some() {
            inc.note = note.clone();
        }
        if eta.is_some() {
            inc.eta = eta.clone();
        }
        out.incidents.insert(id.to_string());
        out.event(
            Event::new(
                now,
                EventKind::IncidentUpdated,
                by,
                format!(
                    "Update by {by}: {}{}.",
                    note.clone().unwrap_or_default(),
                    eta.as_ref()
                        .map(|e| format!(" (expected fix: {e})"))
                        .unwrap_or_default()
                ),
            )
            .incident(id),
        );
        self.refresh_status(now, id, by, out);
    }

    fn resolve(&mut self, now: Timestamp, id: &str, by: &str, reason: String, out: &mut Decisions) {
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        if !inc.resolve(now, by, reason.clone()) {
            out.event(
                Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!("Incident {id} is already resolved."),
                )
                .incident(id),
            );
            return;
        }
        let key = inc.group_key.clone();
        let playbook = inc.playbook.clone();
        self.open_by_key.remove(&key);
        self.resolved_at.insert(key, now);
        // The surge this incident answered is over: its detectors' debounce
        // must not hide the next one.
        for t in &mut self.triggers {
            if let TriggerState::Surge(det, _) = &mut t.state {
                if t.playbook.name == playbook {
                    det.rearm();
                }
            }
        }
        out.incidents.insert(id.to_string());
        let opened = inc.opened_at;
        out.event(
            Event::new(
                now,
                EventKind::IncidentResolved,
                by,
                format!(
                    "Resolved: {reason}. Open for {}.",
                    humantime::format_duration(std::time::Duration::from_secs(
                        (now - opened).num_seconds().max(0) as u64
                    ))
                ),
            )
            .incident(id),
        );
        // Timers of this incident are moot now.
        self.timers.retain(|(_, t)| !matches!(t, Timer::ApprovalTimeout { incident } | Timer::StaleCheck { incident } | Timer::AutoResolve { incident } | Timer::ScheduleBoundary { incident, .. } if incident == id));
        self.switch_off_autoresponders(now, id, "the incident is resolved", out);
        self.reword_pending_drafts(now, id, out);
        if let Some(pb) = self.playbook_of(id) {
            let steps = pb.on_resolve.clone();
            self.run_steps(now, id, &steps, "on_resolve", out);
        }
    }

    fn playbook_of(&self, id: &str) -> Option<Arc<Playbook>> {
        let name = &self.incidents.get(id)?.playbook;
        self.playbooks.iter().find(|p| &p.name == name).cloned()
    }

    fn on_timer(&mut self, at: Timestamp, timer: Timer, out: &mut Decisions) {
        match timer {
            Timer::ApprovalTimeout { incident } => self.approval_timeout(at, &incident, out),
            Timer::StaleCheck { incident } => self.stale_check(at, &incident, out),
            Timer::AutoResolve { incident } => {
                let q = self
                    .playbook_of(&incident)
                    .and_then(|p| p.incident.auto_resolve_quiet)
                    .unwrap_or_default();
                // Quiet since the *latest* subsidence for the whole period: a
                // timer left over from an earlier lull does not count.
                let subsided = self.incidents.get(&incident).and_then(|i| i.subsided_at);
                if subsided.is_some_and(|s| later(s, q) <= at) {
                    self.resolve(
                        at,
                        &incident,
                        "engine",
                        format!(
                            "the surge subsided and it stayed quiet for {}",
                            humantime::format_duration(q)
                        ),
                        out,
                    );
                }
            }
            Timer::DraftSla { draft } => self.draft_sla(at, draft, out),
            Timer::Digest { staff } => self.send_digest(at, &staff, out),
            Timer::ScheduleBoundary { incident, account } => {
                self.schedule_boundary(at, &incident, &account, out)
            }
            Timer::OffHours { account } => self.off_hours_boundary(at, &account, out),
        }
    }
}

fn normalize_handle(h: &str) -> String {
    h.trim_start_matches('@').to_lowercase()
}

/// "1 mention", "5 mentions".
pub(crate) fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn chrono_dur(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// `at` plus `d`, saturating at the last instant a timestamp can hold.
/// Validation bounds every duration to a year, but no input (a playbook
/// built past validation, a far-future time) may panic the engine: a
/// deadline that cannot be represented is one that never comes.
fn later(at: Timestamp, d: std::time::Duration) -> Timestamp {
    at.checked_add_signed(chrono_dur(d))
        .unwrap_or(Timestamp::MAX_UTC)
}

/// The grouping key: playbook name plus the values the playbook groups by.
fn group_key(pb: &Playbook, account: Option<&str>, labels: &BTreeMap<String, String>) -> String {
    let mut key = pb.name.clone();
    for g in &pb.incident.group_by {
        match g {
            GroupKey::Playbook => {}
            GroupKey::Account => {
                key.push_str("/account=");
                key.push_str(account.unwrap_or("*"));
            }
            GroupKey::Label(l) => {
                key.push('/');
                key.push_str(l);
                key.push('=');
                key.push_str(labels.get(l).map(String::as_str).unwrap_or("*"));
            }
        }
    }
    key
}
