//! Digest e-mails: each staff member hears about the drafts assigned to
//! them at most once every `notify.digest_every`, in one message listing
//! them all with links to act, never one e-mail per mention (an outage
//! would bury people in mail exactly when they need to read it).
//!
//! The digest is decided here, purely: assignments are collected per staff
//! member, a timer fires after the period, and the message (plain text and
//! HTML, each escaped for its output) becomes one outbox intent. Customer
//! text appears only masked (no personal data in mail).

use super::events::{Event, EventKind};
use super::{context, guard, later, Decisions, Engine, Timer};
use crate::actions::{ActionIntent, Keyed};
use crate::clock::Timestamp;

/// Longest excerpt of the customer's words in a digest line.
const EXCERPT: usize = 120;

impl Engine {
    /// Remembers that `staff` should hear about draft `did`; starts their
    /// digest period if none is running.
    pub(super) fn queue_digest(&mut self, now: Timestamp, staff: &str, did: u64) {
        let due = self.drafts.digests.entry(staff.to_string()).or_default();
        if due.is_empty() {
            self.timers.insert((
                later(now, self.config.notify.digest_every),
                Timer::Digest {
                    staff: staff.to_string(),
                },
            ));
        }
        if !due.contains(&did) {
            due.push(did);
        }
    }

    /// The period is over: one e-mail listing the drafts `staff` still holds
    /// pending among those assigned to them since the last digest.
    pub(super) fn send_digest(&mut self, at: Timestamp, staff: &str, out: &mut Decisions) {
        let ids = self.drafts.digests.remove(staff).unwrap_or_default();
        let drafts: Vec<_> = ids
            .iter()
            .filter_map(|id| self.drafts.drafts.get(id))
            .filter(|d| d.is_pending() && d.assignee.as_deref() == Some(staff))
            .cloned()
            .collect();
        let Some(person) = self.config.staff.get(staff) else {
            return;
        };
        if drafts.is_empty() {
            return;
        }
        if person.email.is_none() {
            out.event(Event::new(
                at,
                EventKind::ActionFailed,
                "engine",
                format!(
                    "No digest for {}: no e-mail address in the config.",
                    person.name
                ),
            ));
            return;
        }
        let base = &self.config.notify.link_base;
        let n = drafts.len();
        let subject = format!(
            "[{}] {} to answer",
            self.config.brand.name,
            super::plural(n as u32, "new reply draft")
        );
        let mut text = format!(
            "Hello {},\n\n{} assigned to you, oldest first:\n\n",
            person.name,
            super::plural(n as u32, "draft")
        );
        let mut html = format!(
            "<p>Hello {},</p>\n<p>{} assigned to you, oldest first:</p>\n<ol>\n",
            escape_html(&person.name),
            escape_html(&super::plural(n as u32, "draft"))
        );
        let mut sorted = drafts;
        sorted.sort_by_key(|d| (d.mention_at, d.id));
        for d in &sorted {
            let said = context::excerpt(&guard::mask(&d.mention_text), EXCERPT);
            let flags = if d.flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", d.flags.join(", "))
            };
            let link = format!("{base}/#/drafts/{}", d.id);
            let wrote = d.mention_at.format("%H:%M UTC");
            text.push_str(&format!(
                "#{} {} ({}, {wrote}){flags}\n  \"{said}\"\n  Open: {link}\n  Or: squall drafts approve {}\n\n",
                d.id, d.author_handle, d.lang, d.id
            ));
            html.push_str(&format!(
                "<li><b>#{}</b> {} ({}, {wrote}){}<br><q>{}</q><br><a href=\"{}\">Open the draft</a></li>\n",
                d.id,
                escape_html(&d.author_handle),
                escape_html(&d.lang),
                escape_html(&flags),
                escape_html(&said),
                escape_html(&link)
            ));
        }
        text.push_str("Nothing is sent until you approve it.\n");
        html.push_str("</ol>\n<p>Nothing is sent until you approve it.</p>\n");
        let ids: Vec<u64> = sorted.iter().map(|d| d.id).collect();
        out.actions.push(Keyed {
            key: format!("digest/{staff}/{}", at.timestamp()),
            intent: ActionIntent::Digest {
                staff: staff.to_string(),
                subject,
                text,
                html,
                drafts: ids,
            },
        });
    }
}

/// Escapes text for an HTML body: customer words and names are data.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn html_escaping_leaves_no_markup_of_the_customer() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
