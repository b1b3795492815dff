//! What a person does with a draft before approving it: claim it into
//! their own queue, or rewrite it. (Approval and discard live with the rest
//! of the draft's life in `respond.rs`.)
//!
//! Both are commands like any other: journaled, replayed, and on the
//! timeline with who did it.

use super::drafts::Draft;
use super::events::{Event, EventKind};
use super::{Decisions, Engine};
use crate::clock::Timestamp;
use crate::config::PlatformKind;

impl Engine {
    /// Why `by` may not edit, approve or discard `d`: someone else claimed
    /// it. A claim is a promise to the team that one person is writing
    /// this reply; a second person's edit or send would cross it. Commanders
    /// (the config's `commander` role) may still act, to clear a queue
    /// whose holder has gone. A draft only routed to someone is anyone's.
    pub(super) fn claimed_by_other(&self, d: &Draft, by: &str) -> Option<String> {
        let holder = d.assignee.as_deref().filter(|h| d.claimed && *h != by)?;
        let commander = self
            .config
            .roles
            .get("commander")
            .is_some_and(|m| m.iter().any(|s| s == by));
        (!commander).then(|| {
            format!(
                "Draft #{} is claimed by {holder}, who is writing this reply; it stays theirs until they send or discard it, or its SLA reassigns it (a commander may still act on it).",
                d.id
            )
        })
    }

    /// `text`'s length and the longest post `account`'s platform takes,
    /// when it is longer (counted as that platform counts:
    /// [`crate::adapters::post_length`]).
    fn over_limit(&self, account: &str, text: &str) -> Option<(PlatformKind, usize, usize)> {
        let platform = self.config.accounts.get(account)?.platform;
        let max = crate::adapters::capabilities_for(platform).max_chars;
        let n = crate::adapters::post_length(platform, text);
        (n > max).then_some((platform, n, max))
    }

    /// Why `text` cannot go out as `d`'s public reply: longer than one post
    /// on its platform (X 280 characters, Bluesky 300, Mastodon 500). Said
    /// when a person edits or approves it, instead of the platform
    /// refusing it after it was approved. Private messages have their own,
    /// larger limits and are not checked here.
    pub(super) fn too_long(&self, d: &Draft, text: &str) -> Option<String> {
        if d.private {
            return None;
        }
        let (platform, n, max) = self.over_limit(&d.account, text)?;
        Some(format!(
            "Draft #{} would be {n} characters; a reply on {} takes at most {max}: shorten it by {}.",
            d.id,
            platform.as_str(),
            n - max
        ))
    }

    /// Why incident `id`'s status cannot go out as `posts` (account, the
    /// text it would get there): it does not fit one post on some of them.
    /// Said when a person edits or approves it; otherwise those accounts'
    /// platforms would refuse the post (or its edit) after the approval,
    /// and their customers would see no status at all.
    pub(super) fn status_too_long(&self, id: &str, posts: &[(String, String)]) -> Option<String> {
        let over: Vec<(&String, PlatformKind, usize, usize)> = posts
            .iter()
            .filter_map(|(a, text)| self.over_limit(a, text).map(|(p, n, max)| (a, p, n, max)))
            .collect();
        let excess = over.iter().map(|(_, _, n, max)| n - max).max()?;
        let where_: Vec<String> = over
            .iter()
            .map(|(a, p, n, max)| format!("{a} ({}: {n} of {max})", p.as_str()))
            .collect();
        Some(format!(
            "The status text of {id} does not fit one post on {}: shorten it by {excess} characters.",
            where_.join(", "),
        ))
    }

    /// The pending draft `did`, or a `command_rejected` event saying why not.
    fn pending_draft(
        &self,
        now: Timestamp,
        by: &str,
        did: u64,
        out: &mut Decisions,
    ) -> Option<Draft> {
        match self.drafts.drafts.get(&did) {
            None => {
                out.event(Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!("No draft #{did}."),
                ));
                None
            }
            Some(d) if !d.is_pending() => {
                out.event(
                    Event::new(
                        now,
                        EventKind::CommandRejected,
                        by,
                        format!("Draft #{did} is not pending any more."),
                    )
                    .incident(&d.incident),
                );
                None
            }
            Some(d) => Some(d.clone()),
        }
    }

    /// `by` takes the draft. A draft someone else holds is not taken from
    /// them (two people would write the same reply); the SLA moves drafts
    /// that wait too long.
    pub(super) fn claim_draft(&mut self, now: Timestamp, by: &str, did: u64, out: &mut Decisions) {
        let Some(d) = self.pending_draft(now, by, did, out) else {
            return;
        };
        let reject = |why: String, out: &mut Decisions| {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(&d.incident));
        };
        if !self.config.staff.contains_key(by) {
            return reject(
                format!("{by} is not a staff member: only staff hold drafts."),
                out,
            );
        }
        match d.assignee.as_deref() {
            Some(holder) if holder == by && d.claimed => return,
            Some(holder) if holder == by => {} // routed to them: now claimed
            Some(holder) => {
                return reject(
                    format!("Draft #{did} is held by {holder}; they or the SLA can release it."),
                    out,
                )
            }
            None => {}
        }
        self.drafts.claim(did, by);
        out.drafts.insert(did);
        out.event(
            Event::new(
                now,
                EventKind::DraftAssigned,
                by,
                format!("Draft #{did} claimed by {by}."),
            )
            .incident(&d.incident)
            .with("draft", did)
            .with("staff", by),
        );
    }

    /// `by` rewrites a pending draft. The text is a person's, so it is kept
    /// as written (a follow-up from the customer re-renders only drafts
    /// nobody has edited; see `respond.rs`).
    pub(super) fn edit_draft(
        &mut self,
        now: Timestamp,
        by: &str,
        did: u64,
        text: String,
        out: &mut Decisions,
    ) {
        let Some(d) = self.pending_draft(now, by, did, out) else {
            return;
        };
        if let Some(why) = self.claimed_by_other(&d, by) {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(&d.incident));
            return;
        }
        if let Some(why) = self.too_long(&d, &text) {
            out.event(Event::new(now, EventKind::CommandRejected, by, why).incident(&d.incident));
            return;
        }
        if text.trim().is_empty() {
            out.event(
                Event::new(
                    now,
                    EventKind::CommandRejected,
                    by,
                    format!("Draft #{did} cannot be edited to an empty text."),
                )
                .incident(&d.incident),
            );
            return;
        }
        if let Some(dm) = self.drafts.drafts.get_mut(&did) {
            dm.text = text;
            dm.edited_by = Some(by.to_string());
        }
        out.drafts.insert(did);
        out.event(
            Event::new(
                now,
                EventKind::DraftUpdated,
                by,
                format!("Draft #{did} edited by {by}."),
            )
            .incident(&d.incident)
            .with("draft", did),
        );
    }
}
