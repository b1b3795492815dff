//! Running a playbook's steps for an incident: the status post and its
//! approval, autoresponders, notifications and webhooks. (Reply drafts live
//! in `respond.rs`.)

use super::events::{Event, EventKind};
use super::incident::{AutoresponderState, StatusPost};
use super::{context, later, Decisions, Engine, RenderJob, Timer};
use crate::actions::ActionIntent;
use crate::clock::Timestamp;
use crate::playbook::{
    Action, Approval, ApprovalTimeout, Condition, IncidentState, Recipient, Step,
};
use crate::templates::Escape;

/// The status text as one account posts it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StatusPreview {
    pub account: String,
    pub platform: Option<String>,
    /// The language it is written in (the account's, else the default).
    pub language: String,
    pub text: String,
}

impl Engine {
    /// Runs `steps` whose condition holds. `phase` names the list in
    /// idempotency keys (`on_open`, `state-acknowledged`, `on_resolve`).
    pub(super) fn run_steps(
        &mut self,
        now: Timestamp,
        id: &str,
        steps: &[Step],
        phase: &str,
        out: &mut Decisions,
    ) {
        for (i, step) in steps.iter().enumerate() {
            let Some(inc) = self.incidents.get(id) else {
                return;
            };
            if let Some(cond) = &step.when {
                if !condition_holds(cond, inc.state, inc.trigger_kind, &inc.labels) {
                    continue;
                }
            }
            let step_key = format!("{id}/{phase}.{i}");
            match &step.action {
                Action::PinStatus(p) => self.pin_status_step(now, id, p, phase, &step_key, out),
                Action::Autoresponder(a) => self.autoresponder_step(now, id, a, out),
                Action::ReplyDrafts(r) => self.reply_drafts_step(now, id, r, out),
                Action::Notify(n) => self.notify(
                    now,
                    id,
                    &n.to,
                    &n.via,
                    &n.template,
                    event_name(phase),
                    &step_key,
                    out,
                ),
                Action::Webhook(w) => {
                    let Some(inc) = self.incidents.get(id) else {
                        return;
                    };
                    let data = context::webhook(&self.config, inc, event_name(phase), now);
                    let body = match &w.template {
                        Some(t) => {
                            let job = RenderJob {
                                template: t,
                                lang: &self.config.default_language,
                                data,
                                seed: 0,
                                escape: Escape::Json,
                                what: "Webhook body",
                            };
                            match self.render_or_report(now, id, job, out) {
                                Some(body) => body,
                                None => continue,
                            }
                        }
                        None => data.to_string(),
                    };
                    out.action(
                        format!("{step_key}/webhook"),
                        ActionIntent::Webhook {
                            incident: Some(id.to_string()),
                            url: w.url.clone(),
                            body,
                            secret_env: w.secret_env.clone(),
                        },
                    );
                }
            }
        }
    }

    /// Renders a template, or puts the failure on the timeline and returns
    /// `None` (validation catches these; a template edited on disk while
    /// squall runs can still fail).
    pub(super) fn render_or_report(
        &self,
        now: Timestamp,
        id: &str,
        job: RenderJob<'_>,
        out: &mut Decisions,
    ) -> Option<String> {
        self.render_for(now, Some(id), job, out)
    }

    /// [`render_or_report`](Self::render_or_report) for texts that may
    /// belong to no incident (standing off-hours).
    pub(super) fn render_for(
        &self,
        now: Timestamp,
        id: Option<&str>,
        job: RenderJob<'_>,
        out: &mut Decisions,
    ) -> Option<String> {
        match self
            .templates
            .render(job.template, job.lang, &job.data, job.seed, job.escape)
        {
            Ok(r) => Some(r.text),
            Err(e) => {
                let ev = Event::new(
                    now,
                    EventKind::ActionFailed,
                    "engine",
                    format!("{} not rendered: {e}.", job.what),
                );
                out.event(match id {
                    Some(id) => ev.incident(id),
                    None => ev,
                });
                None
            }
        }
    }

    /// Renders a status template for the incident as it is now.
    fn status_text_or_report(
        &self,
        now: Timestamp,
        id: &str,
        template: &str,
        what: &str,
        out: &mut Decisions,
    ) -> Option<String> {
        let lang = self.config.default_language.clone();
        self.status_text_in(now, id, template, &lang, what, out)
    }

    /// Renders a status template for the incident in `lang`.
    fn status_text_in(
        &self,
        now: Timestamp,
        id: &str,
        template: &str,
        lang: &str,
        what: &str,
        out: &mut Decisions,
    ) -> Option<String> {
        let inc = self.incidents.get(id)?;
        let data = context::common(&self.config, inc, lang, inc.status_changed_at);
        self.render_or_report(
            now,
            id,
            RenderJob {
                template,
                lang,
                data,
                seed: 0,
                escape: Escape::Text,
                what,
            },
            out,
        )
    }

    /// What each account of the incident's status post shows (or will show
    /// once approved), in its own language: the commander's preview before
    /// approving. Empty when the incident has no status post.
    pub fn status_previews(&self, now: Timestamp, id: &str) -> Vec<StatusPreview> {
        let Some(inc) = self.incidents.get(id) else {
            return Vec::new();
        };
        let (text, accounts) = match &inc.status {
            StatusPost::None => return Vec::new(),
            StatusPost::AwaitingApproval { text, accounts, .. }
            | StatusPost::Posted { text, accounts, .. } => (text, accounts),
        };
        let template = inc.status_template.as_deref();
        let mut scratch = Decisions::default();
        accounts
            .iter()
            .map(|account| {
                let a = self.config.accounts.get(account);
                StatusPreview {
                    account: account.clone(),
                    platform: a.map(|a| a.platform.as_str().to_string()),
                    language: a
                        .and_then(|a| a.language.clone())
                        .unwrap_or_else(|| self.config.default_language.clone()),
                    text: self.text_for_account(now, id, account, template, text, &mut scratch),
                }
            })
            .collect()
    }

    /// The status text as `account` posts it: in the account's `language`
    /// when it has one other than the default and `text` is the template's
    /// own default-language rendering. Text a person wrote or edited is
    /// posted as written everywhere: nobody approved a translation of it.
    fn text_for_account(
        &self,
        now: Timestamp,
        id: &str,
        account: &str,
        template: Option<&str>,
        text: &str,
        out: &mut Decisions,
    ) -> String {
        let lang = self
            .config
            .accounts
            .get(account)
            .and_then(|a| a.language.clone());
        let (Some(lang), Some(template)) = (lang, template) else {
            return text.to_owned();
        };
        if lang == self.config.default_language {
            return text.to_owned();
        }
        let mut scratch = Decisions::default();
        let rendered_default =
            self.status_text_or_report(now, id, template, "Status text", &mut scratch);
        if rendered_default.as_deref() != Some(text) {
            return text.to_owned();
        }
        self.status_text_in(now, id, template, &lang, "Status text", out)
            .unwrap_or_else(|| text.to_owned())
    }

    /// Renders the status and either waits for its approval or posts it.
    fn start_status(
        &mut self,
        now: Timestamp,
        id: &str,
        p: &crate::playbook::PinStatus,
        step_key: &str,
        out: &mut Decisions,
    ) {
        let Some(template) = &p.template else { return };
        if let Some(inc) = self.incidents.get_mut(id) {
            inc.status_template = Some(template.clone());
            inc.status_changed_at = now;
        }
        let Some(text) = self.status_text_or_report(now, id, template, "Status text", out) else {
            return;
        };
        match &p.approval {
            Some(approval) => {
                let deadline = later(now, approval.timeout);
                let approvers = self
                    .config
                    .roles
                    .get(&approval.by)
                    .cloned()
                    .unwrap_or_default();
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.status = StatusPost::AwaitingApproval {
                        text: text.clone(),
                        accounts: p.accounts.clone(),
                        approval: approval.clone(),
                        deadline,
                        edited_by: None,
                    };
                }
                out.incidents.insert(id.to_string());
                let then = match approval.then {
                    ApprovalTimeout::Post => "it will be posted as it is",
                    ApprovalTimeout::Hold => "it will keep waiting and remind",
                };
                out.event(
                    Event::new(now, EventKind::StatusAwaitingApproval, "engine", format!("Status text for {} waits for approval by the {} ({}); if nobody approves by {}, {then}.", p.accounts.join(", "), approval.by, approvers.join(", "), deadline.to_rfc3339()))
                        .incident(id)
                        .with("text", &text)
                        .with("accounts", &p.accounts),
                );
                self.timers.insert((
                    deadline,
                    Timer::ApprovalTimeout {
                        incident: id.to_string(),
                    },
                ));
                let to = vec![Recipient::Role(approval.by.clone())];
                self.notify_plain(
                    now,
                    id,
                    &to,
                    "approval_needed",
                    &format!("{step_key}/approval"),
                    out,
                );
            }
            None => self.post_status(
                now,
                id,
                text,
                p.accounts.clone(),
                "playbook (approval: none)",
                out,
            ),
        }
    }

    fn pin_status_step(
        &mut self,
        now: Timestamp,
        id: &str,
        p: &crate::playbook::PinStatus,
        phase: &str,
        step_key: &str,
        out: &mut Decisions,
    ) {
        match phase {
            "on_open" => self.start_status(now, id, p, step_key, out),
            p_phase if p_phase.starts_with("state-") => {
                let Some(template) = &p.template else { return };
                // A playbook may hold its status back until, say, someone
                // acknowledges: the first state step then starts it, with
                // its approval, as an opening step would.
                let started = self
                    .incidents
                    .get(id)
                    .is_some_and(|i| !matches!(i.status, StatusPost::None));
                if started {
                    self.restatus(now, id, template, "engine", out);
                } else {
                    self.start_status(now, id, p, step_key, out);
                }
            }
            _ => {
                // on_resolve: restore what was displaced, then say it is over.
                let (posted, pending) = match self.incidents.get(id).map(|i| &i.status) {
                    Some(StatusPost::Posted { accounts, .. }) => (accounts.clone(), false),
                    Some(StatusPost::AwaitingApproval { .. }) => (Vec::new(), true),
                    _ => (Vec::new(), false),
                };
                if pending {
                    if let Some(inc) = self.incidents.get_mut(id) {
                        inc.status = StatusPost::None;
                    }
                    out.event(Event::new(now, EventKind::StatusEdited, "engine", "The status text was never approved; it is withdrawn, nothing was posted.").incident(id));
                }
                let accounts = if p.accounts.is_empty() {
                    posted.clone()
                } else {
                    p.accounts
                        .iter()
                        .filter(|a| posted.contains(a))
                        .cloned()
                        .collect()
                };
                if p.restore_previous {
                    for a in &accounts {
                        out.action(
                            format!("{id}/resolve/{a}/restore"),
                            ActionIntent::RestorePins {
                                incident: id.to_string(),
                                account: a.clone(),
                            },
                        );
                        self.off_hours_return(now, a, out);
                    }
                }
                let text = match &p.final_template {
                    Some(t) => self.status_text_or_report(now, id, t, "Resolution text", out),
                    None => None,
                };
                if let Some(text) = text {
                    for a in &accounts {
                        let text = self.text_for_account(
                            now,
                            id,
                            a,
                            p.final_template.as_deref(),
                            &text,
                            out,
                        );
                        out.action(
                            format!("{step_key}/{a}/final"),
                            ActionIntent::PostFinal {
                                incident: id.to_string(),
                                account: a.clone(),
                                text,
                            },
                        );
                    }
                }
            }
        }
    }

    /// Posts (and pins) the status on every account; the text is final.
    fn post_status(
        &mut self,
        now: Timestamp,
        id: &str,
        text: String,
        accounts: Vec<String>,
        approved_by: &str,
        out: &mut Decisions,
    ) {
        // The opening pin_status step says what to do at a pin limit.
        let at_pin_limit = self
            .playbook_of(id)
            .and_then(|pb| {
                pb.on_open.iter().find_map(|s| match &s.action {
                    Action::PinStatus(p) => Some(p.at_pin_limit),
                    _ => None,
                })
            })
            .unwrap_or_default();
        let template = self
            .incidents
            .get(id)
            .and_then(|i| i.status_template.clone());
        for a in &accounts {
            let text = self.text_for_account(now, id, a, template.as_deref(), &text, out);
            self.off_hours_yield(now, a, id, out);
            out.action(
                format!("{id}/status/{a}/post"),
                ActionIntent::PostStatus {
                    incident: id.to_string(),
                    account: a.clone(),
                    text,
                    pin: true,
                    at_pin_limit,
                },
            );
        }
        if let Some(inc) = self.incidents.get_mut(id) {
            inc.status = StatusPost::Posted {
                text,
                accounts,
                approved_by: approved_by.to_string(),
                at: now,
            };
            inc.status_changed_at = now;
        }
        out.incidents.insert(id.to_string());
    }

    /// Re-renders the status with `template` and updates it wherever it stands.
    fn restatus(
        &mut self,
        now: Timestamp,
        id: &str,
        template: &str,
        by: &str,
        out: &mut Decisions,
    ) {
        if let Some(inc) = self.incidents.get_mut(id) {
            inc.status_changed_at = now;
        }
        let Some(text) = self.status_text_or_report(now, id, template, "Status text", out) else {
            return;
        };
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        match &mut inc.status {
            StatusPost::AwaitingApproval {
                text: pending,
                edited_by,
                ..
            } => {
                if edited_by.is_none() {
                    *pending = text.clone();
                    out.event(Event::new(now, EventKind::StatusEdited, by, "The status text waiting for approval now says the incident's new phase.").incident(id).with("text", &text));
                }
            }
            StatusPost::Posted {
                text: current,
                accounts,
                ..
            } => {
                if *current == text {
                    return;
                }
                *current = text.clone();
                inc.status_version += 1;
                let v = inc.status_version;
                let accounts = accounts.clone();
                for a in &accounts {
                    let text = self.text_for_account(now, id, a, Some(template), &text, out);
                    out.action(
                        format!("{id}/status-v{v}/{a}/edit"),
                        ActionIntent::EditStatus {
                            incident: id.to_string(),
                            account: a.clone(),
                            text,
                        },
                    );
                }
                out.event(
                    Event::new(
                        now,
                        EventKind::StatusUpdated,
                        by,
                        format!(
                            "The public status now says: {}",
                            context::excerpt(&text, 100)
                        ),
                    )
                    .incident(id)
                    .with("text", &text),
                );
            }
            StatusPost::None => {}
        }
        out.incidents.insert(id.to_string());
    }

    /// After a state change or a commander's update, the status must tell the truth.
    pub(super) fn refresh_status(
        &mut self,
        now: Timestamp,
        id: &str,
        by: &str,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        let state = inc.state;
        let has_own_step = self.playbook_of(id).is_some_and(|pb| {
            pb.on_state_change.iter().any(|s| {
                matches!(s.action, Action::PinStatus(_))
                    && s.when.as_ref().is_some_and(|c| c.states.contains(&state))
            })
        });
        if has_own_step {
            return; // that step renders its own template
        }
        if let Some(t) = inc.status_template.clone() {
            self.restatus(now, id, &t, by, out);
        }
    }

    pub(super) fn edit_status(
        &mut self,
        now: Timestamp,
        id: &str,
        by: &str,
        text: String,
        out: &mut Decisions,
    ) {
        let reject = |why: String, out: &mut Decisions| {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(id));
        };
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        if text.trim().is_empty() {
            return reject(
                format!("The status text of {id} cannot be empty: say what is happening."),
                out,
            );
        }
        if inc.is_resolved() {
            return reject(
                format!("Incident {id} is resolved: its status post is no longer live, so there is nothing to edit."),
                out,
            );
        }
        let accounts = match &inc.status {
            StatusPost::AwaitingApproval { accounts, .. } | StatusPost::Posted { accounts, .. } => {
                accounts.as_slice()
            }
            StatusPost::None => &[],
        };
        let posts: Vec<(String, String)> =
            accounts.iter().map(|a| (a.clone(), text.clone())).collect();
        if let Some(why) = self.status_too_long(id, &posts) {
            return reject(why, out);
        }
        // The public post stands for the approver's word: once it is out,
        // only the people who may approve it may change it. Waiting text is
        // anyone's draft; approving it is the gate.
        if matches!(inc.status, StatusPost::Posted { .. }) {
            if let Some(role) = self.status_approval(id).map(|a| a.by) {
                if let Err(why) = self.approver(&role, by) {
                    return reject(
                        format!("{why} The posted status is changed only by those who approve it."),
                        out,
                    );
                }
            }
        }
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        match &mut inc.status {
            StatusPost::AwaitingApproval {
                text: pending,
                edited_by,
                ..
            } => {
                *pending = text.clone();
                *edited_by = Some(by.to_string());
                out.incidents.insert(id.to_string());
                out.event(
                    Event::new(
                        now,
                        EventKind::StatusEdited,
                        by,
                        format!("Status text edited by {by}."),
                    )
                    .incident(id)
                    .with("text", &text),
                );
            }
            StatusPost::Posted {
                text: current,
                accounts,
                ..
            } => {
                *current = text.clone();
                inc.status_version += 1;
                inc.status_changed_at = now;
                let v = inc.status_version;
                for a in accounts.iter() {
                    out.action(
                        format!("{id}/status-v{v}/{a}/edit"),
                        ActionIntent::EditStatus {
                            incident: id.to_string(),
                            account: a.clone(),
                            text: text.clone(),
                        },
                    );
                }
                out.incidents.insert(id.to_string());
                out.event(
                    Event::new(
                        now,
                        EventKind::StatusUpdated,
                        by,
                        format!("Status text edited by {by}."),
                    )
                    .incident(id)
                    .with("text", &text),
                );
            }
            StatusPost::None => reject(format!("Incident {id} has no status text to edit."), out),
        }
    }

    /// The approval the incident's status post needs: that of the step
    /// that starts it, the opening `pin_status` or else the first one with
    /// a template on a state change (`None` with `approval: none`).
    fn status_approval(&self, id: &str) -> Option<Approval> {
        let pb = self.playbook_of(id)?;
        pb.on_open
            .iter()
            .chain(&pb.on_state_change)
            .find_map(|s| match &s.action {
                Action::PinStatus(p) if p.template.is_some() => Some(p.approval.clone()),
                _ => None,
            })
            .flatten()
    }

    /// `Ok` when `by` is a member of `role`; otherwise why not, naming who may.
    fn approver(&self, role: &str, by: &str) -> Result<(), String> {
        let members = self.config.roles.get(role);
        if members.is_some_and(|m| m.iter().any(|s| s == by)) {
            return Ok(());
        }
        Err(format!(
            "{by} cannot approve: only the {role} role may ({}).",
            members.cloned().unwrap_or_default().join(", ")
        ))
    }

    pub(super) fn approve_status(
        &mut self,
        now: Timestamp,
        id: &str,
        by: &str,
        edited: Option<String>,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        let StatusPost::AwaitingApproval {
            text,
            accounts,
            approval,
            ..
        } = &inc.status
        else {
            out.event(
                Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!("Incident {id} has no status text waiting for approval."),
                )
                .incident(id),
            );
            return;
        };
        let refusal = match self.approver(&approval.by, by) {
            Err(why) => Some(why),
            Ok(()) if edited.as_deref().is_some_and(|t| t.trim().is_empty()) => Some(format!(
                "The status text of {id} cannot be empty: say what is happening."
            )),
            Ok(()) => {
                // Each account gets the text in its own language unless a
                // person wrote it: check what each would really post.
                let text = edited.as_deref().unwrap_or(text);
                let template = inc.status_template.as_deref();
                let mut scratch = Decisions::default();
                let posts: Vec<(String, String)> = accounts
                    .iter()
                    .map(|a| {
                        let post = self.text_for_account(now, id, a, template, text, &mut scratch);
                        (a.clone(), post)
                    })
                    .collect();
                self.status_too_long(id, &posts)
            }
        };
        if let Some(why) = refusal {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(id));
            return;
        }
        let text = edited.unwrap_or_else(|| text.clone());
        let accounts = accounts.clone();
        self.timers
            .retain(|(_, t)| !matches!(t, Timer::ApprovalTimeout { incident } if incident == id));
        out.event(
            Event::new(
                now,
                EventKind::StatusApproved,
                by,
                format!("Status text approved by {by}."),
            )
            .incident(id)
            .with("text", &text),
        );
        self.post_status(now, id, text, accounts, by, out);
    }

    pub(super) fn approval_timeout(&mut self, at: Timestamp, id: &str, out: &mut Decisions) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        let StatusPost::AwaitingApproval {
            text,
            accounts,
            approval,
            ..
        } = &inc.status
        else {
            return;
        };
        match approval.then {
            ApprovalTimeout::Post => {
                let (text, accounts) = (text.clone(), accounts.clone());
                out.event(Event::new(at, EventKind::StatusApproved, "engine", format!("Nobody approved the status text within {}: the playbook says to post it as it is.", humantime::format_duration(approval.timeout))).incident(id));
                self.post_status(at, id, text, accounts, "engine (approval timeout)", out);
            }
            ApprovalTimeout::Hold => {
                let role = approval.by.clone();
                let timeout = approval.timeout;
                out.event(Event::new(at, EventKind::ApprovalReminder, "engine", format!("The status text still waits for approval by the {role}; nothing is posted until a person approves it.")).incident(id));
                self.timers.insert((
                    later(at, timeout),
                    Timer::ApprovalTimeout {
                        incident: id.to_string(),
                    },
                ));
                self.notify_plain(
                    at,
                    id,
                    &[Recipient::Role(role)],
                    "approval_needed",
                    &format!("{id}/approval-reminder-{}", at.timestamp()),
                    out,
                );
            }
        }
    }

    pub(super) fn stale_check(&mut self, at: Timestamp, id: &str, out: &mut Decisions) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        if inc.is_resolved() {
            return;
        }
        let stale_after = self
            .playbook_of(id)
            .map(|p| p.incident.stale_after)
            .unwrap_or(std::time::Duration::from_secs(1800));
        let due = later(inc.status_changed_at, stale_after);
        // Only a status that is out there can go stale; one waiting for
        // approval has its own reminders.
        if at >= due && matches!(inc.status, StatusPost::Posted { .. }) {
            out.event(Event::new(at, EventKind::StatusStale, "engine", format!("The public status has not changed for {}: is it still true? Post an update or change the state.", humantime::format_duration(stale_after))).incident(id));
            self.notify_plain(
                at,
                id,
                &[Recipient::Role("commander".into())],
                "stale",
                &format!("{id}/stale-{}", at.timestamp()),
                out,
            );
            self.timers.insert((
                later(at, stale_after),
                Timer::StaleCheck {
                    incident: id.to_string(),
                },
            ));
        } else {
            self.timers.insert((
                due.max(later(at, std::time::Duration::from_secs(1))),
                Timer::StaleCheck {
                    incident: id.to_string(),
                },
            ));
        }
    }

    fn autoresponder_step(
        &mut self,
        now: Timestamp,
        id: &str,
        a: &crate::playbook::Autoresponder,
        out: &mut Decisions,
    ) {
        for account in &a.accounts {
            let st = AutoresponderState {
                account: account.clone(),
                schedule: a.schedule.clone(),
                template: a.template.clone(),
                on_call: a.on_call.clone(),
                public_mentions: a.public_mentions,
                enabled: false,
            };
            if let Some(inc) = self.incidents.get_mut(id) {
                inc.autoresponders.push(st);
            }
            self.schedule_boundary(now, id, account, out);
        }
    }

    /// Re-evaluates an autoresponder at a schedule boundary (or when switched on).
    pub(super) fn schedule_boundary(
        &mut self,
        at: Timestamp,
        id: &str,
        account: &str,
        out: &mut Decisions,
    ) {
        let config = self.config.clone();
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        if inc.is_resolved() {
            return;
        }
        let Some(st) = inc.autoresponders.iter_mut().find(|s| s.account == account) else {
            return;
        };
        let Some(schedule) = config.schedules.get(&st.schedule) else {
            return;
        };
        let closed = !schedule.is_open(at);
        if closed != st.enabled {
            st.enabled = closed;
            // Answers of periods that are over can go (standing desks do
            // the same at their own boundaries).
            self.off_hours.prune(at);
            let back = schedule
                .describe_next_open(at, &config.default_language)
                .unwrap_or_default();
            let (kind, msg) = if closed {
                let who = match &st.on_call {
                    Some(team) => format!("; team {team} stays on call for this incident"),
                    None => String::new(),
                };
                (EventKind::AutoresponderEnabled, format!("Autoresponder on for {account}: outside the {} schedule; people are back {back}{who}.", st.schedule))
            } else {
                (
                    EventKind::AutoresponderDisabled,
                    format!(
                        "Autoresponder off for {account}: the {} schedule is open again.",
                        st.schedule
                    ),
                )
            };
            out.event(
                Event::new(at, kind, "engine", msg)
                    .incident(id)
                    .with("account", account),
            );
            out.incidents.insert(id.to_string());
        }
        if let Some(next) = schedule.next_change(at) {
            self.timers.insert((
                next,
                Timer::ScheduleBoundary {
                    incident: id.to_string(),
                    account: account.to_string(),
                },
            ));
        }
    }

    pub(super) fn switch_off_autoresponders(
        &mut self,
        at: Timestamp,
        id: &str,
        why: &str,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get_mut(id) else {
            return;
        };
        for st in inc.autoresponders.iter_mut().filter(|s| s.enabled) {
            st.enabled = false;
            out.event(
                Event::new(
                    at,
                    EventKind::AutoresponderDisabled,
                    "engine",
                    format!("Autoresponder off for {}: {why}.", st.account),
                )
                .incident(id)
                .with("account", &st.account),
            );
        }
    }

    /// Staff ids behind a list of recipients, in order, without repeats.
    pub(super) fn staff_of(&self, to: &[Recipient]) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in to {
            let more: Vec<String> = match r {
                Recipient::Role(role) => self.config.roles.get(role).cloned().unwrap_or_default(),
                Recipient::Team(t) => self
                    .config
                    .teams
                    .get(t)
                    .map(|t| t.members.clone())
                    .unwrap_or_default(),
                Recipient::Staff(s) => vec![s.clone()],
            };
            for m in more {
                if !ids.contains(&m) {
                    ids.push(m);
                }
            }
        }
        ids
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn notify(
        &mut self,
        now: Timestamp,
        id: &str,
        to: &[Recipient],
        via: &[crate::playbook::Channel],
        template: &str,
        event: &str,
        key: &str,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        let waiting = self.drafts.queue().len();
        let oldest = self
            .drafts
            .queue()
            .first()
            .map(|d| {
                humantime::format_duration(std::time::Duration::from_secs(
                    (now - d.mention_at).num_seconds().max(0) as u64,
                ))
                .to_string()
            })
            .unwrap_or_default();
        for staff in self.staff_of(to) {
            let Some(person) = self.config.staff.get(&staff) else {
                continue;
            };
            let data = context::notify(
                &self.config,
                inc,
                event,
                &person.name,
                waiting,
                &oldest,
                now,
            );
            let job = RenderJob {
                template,
                lang: &self.config.default_language,
                data,
                seed: 0,
                escape: Escape::Text,
                what: "Notification",
            };
            let Some(text) = self.render_or_report(now, id, job, out) else {
                return;
            };
            let subject = format!("[{}] {} — {}", inc.state.phase().as_str(), inc.title, event);
            for ch in via {
                if *ch == crate::playbook::Channel::Email && person.email.is_none() {
                    out.event(
                        Event::new(
                            now,
                            EventKind::ActionFailed,
                            "engine",
                            format!("{staff} has no email address in the config: not emailed."),
                        )
                        .incident(id),
                    );
                    continue;
                }
                out.action(
                    format!("{key}/{staff}/{}", channel_name(*ch)),
                    ActionIntent::Notify {
                        incident: Some(id.to_string()),
                        staff: staff.clone(),
                        channel: *ch,
                        subject: subject.clone(),
                        text: text.clone(),
                    },
                );
            }
        }
    }

    /// A notification squall sends on its own (approval needed, stale status,
    /// escalation), by chat, with a built-in text.
    pub(super) fn notify_plain(
        &mut self,
        now: Timestamp,
        id: &str,
        to: &[Recipient],
        event: &str,
        key: &str,
        out: &mut Decisions,
    ) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        let text = match event {
            "approval_needed" => format!(
                "The status text for \"{}\" ({}) waits for your approval.",
                inc.title, inc.id
            ),
            "stale" => format!(
                "The public status of \"{}\" ({}) has not changed for a while: is it still true?",
                inc.title, inc.id
            ),
            "escalated" => {
                let late = self
                    .drafts
                    .queue()
                    .iter()
                    .filter(|d| d.incident == inc.id && d.sla_deadline <= now)
                    .count();
                format!(
                    "{late} reply drafts in \"{}\" ({}) have waited past their SLA.",
                    inc.title, inc.id
                )
            }
            other => format!("{other}: {}", inc.title),
        };
        let subject = format!("[{}] {} — {event}", inc.state.phase().as_str(), inc.title);
        for staff in self.staff_of(to) {
            out.action(
                format!("{key}/{staff}/chat"),
                ActionIntent::Notify {
                    incident: Some(id.to_string()),
                    staff,
                    channel: crate::playbook::Channel::Chat,
                    subject: subject.clone(),
                    text: text.clone(),
                },
            );
        }
    }
}

fn channel_name(c: crate::playbook::Channel) -> &'static str {
    match c {
        crate::playbook::Channel::Email => "email",
        crate::playbook::Channel::Chat => "chat",
    }
}

fn event_name(phase: &str) -> &'static str {
    match phase {
        "on_open" => "opened",
        "on_resolve" => "resolved",
        _ => "state_changed",
    }
}

fn condition_holds(
    c: &Condition,
    state: IncidentState,
    trigger: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    (c.states.is_empty() || c.states.contains(&state))
        && (c.triggered_by.is_empty() || c.triggered_by.iter().any(|t| t == trigger))
        && c.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
}
