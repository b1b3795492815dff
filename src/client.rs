//! `squall incident ...` and `squall drafts ...`: the commanders' and
//! staff's client of a running `squall serve`.
//!
//! A thin layer over the HTTP API (`/v1/incidents`, `/v1/drafts`): it sends the request
//! with the bearer token, and prints either a readable table or, with
//! `--json`, the server's JSON unchanged (for scripts). The server's error
//! code and message are shown as they are; the token is never printed.

use crate::server::drafts::{DraftPage, DraftView};
use crate::server::incidents::{IncidentDetail, IncidentView};
use serde_json::{json, Value};

/// Where the server is and who is asking.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub token: Option<String>,
}

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot reach squall at {url}: is `squall serve` running there? (set --url or SQUALL_URL)"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error (its code and message).
    #[error("squall answered {status}: {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer from squall: {0}")]
    Decode(String),
}

/// One client request.
#[derive(Debug, Clone)]
pub enum Request {
    Declare {
        playbook: String,
        note: Option<String>,
    },
    List {
        all: bool,
    },
    Show {
        id: String,
    },
    Ack {
        id: String,
    },
    State {
        id: String,
        state: String,
    },
    Resolve {
        id: String,
        note: Option<String>,
    },
    /// Replace the status text (waiting for approval, or posted).
    EditStatus {
        id: String,
        text: String,
    },
    /// Approve the status text waiting for approval, optionally replacing it.
    ApproveStatus {
        id: String,
        text: Option<String>,
    },
    Drafts {
        state: String,
        assignee: Option<String>,
        incident: Option<String>,
        limit: u32,
        after: Option<String>,
    },
    Draft {
        id: i64,
    },
    Claim {
        id: i64,
    },
    Edit {
        id: i64,
        text: String,
    },
    Approve {
        id: i64,
        /// Send this text instead of the draft's.
        text: Option<String>,
    },
    Discard {
        id: i64,
        reason: String,
    },
}

/// Sends `req` and returns the server's JSON answer.
///
/// # Errors
/// The server cannot be reached or answered with an error.
pub async fn call(target: &Target, req: &Request) -> Result<Value, ClientError> {
    let base = target.url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let inc = |id: &str, tail: &str| format!("{base}/v1/incidents/{id}{tail}");
    let draft = |id: i64, tail: &str| format!("{base}/v1/drafts/{id}{tail}");
    let builder = match req {
        Request::Declare { playbook, note } => http
            .post(format!("{base}/v1/incidents"))
            .json(&json!({"playbook": playbook, "note": note})),
        Request::List { all } => http.get(format!("{base}/v1/incidents?all={all}")),
        Request::Show { id } => http.get(inc(id, "")),
        Request::Ack { id } => http.post(inc(id, "/ack")),
        Request::State { id, state } => http.post(inc(id, "/state")).json(&json!({"state": state})),
        Request::Resolve { id, note } => {
            http.post(inc(id, "/resolve")).json(&json!({"note": note}))
        }
        Request::EditStatus { id, text } => {
            http.put(inc(id, "/status")).json(&json!({"text": text}))
        }
        Request::ApproveStatus { id, text } => {
            let req = http.post(inc(id, "/status/approve"));
            match text {
                Some(t) => req.json(&json!({"text": t})),
                None => req,
            }
        }
        Request::Drafts {
            state,
            assignee,
            incident,
            limit,
            after,
        } => {
            let mut q = vec![("state", state.clone()), ("limit", limit.to_string())];
            q.extend(assignee.clone().map(|a| ("assignee", a)));
            q.extend(incident.clone().map(|i| ("incident", i)));
            q.extend(after.clone().map(|a| ("after", a)));
            http.get(format!("{base}/v1/drafts")).query(&q)
        }
        Request::Draft { id } => http.get(draft(*id, "")),
        Request::Claim { id } => http.post(draft(*id, "/claim")),
        Request::Edit { id, text } => http.put(draft(*id, "")).json(&json!({"text": text})),
        Request::Approve { id, text } => {
            let req = http.post(draft(*id, "/approve"));
            match text {
                Some(t) => req.json(&json!({"text": t})),
                None => req,
            }
        }
        Request::Discard { id, reason } => http
            .post(draft(*id, "/discard"))
            .json(&json!({"reason": reason})),
    };
    let builder = match &target.token {
        Some(t) => builder.bearer_auth(t),
        None => builder,
    };
    let resp = builder
        .send()
        .await
        .map_err(|source| ClientError::Unreachable {
            url: base.to_string(),
            source,
        })?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| ClientError::Decode(e.to_string()))?;
    if status.is_success() {
        Ok(body)
    } else {
        let field = |k: &str| {
            body.pointer(&format!("/error/{k}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Err(ClientError::Api {
            status: status.as_u16(),
            code: field("code"),
            message: field("message"),
        })
    }
}

/// The answer as people read it: a table of incidents, or one incident with
/// its timeline.
///
/// # Errors
/// The JSON is not what the server documents.
pub fn render(req: &Request, answer: &Value) -> Result<String, ClientError> {
    let decode = |e: serde_json::Error| ClientError::Decode(e.to_string());
    match req {
        Request::List { .. } => {
            let list: Vec<IncidentView> = serde_json::from_value(answer.clone()).map_err(decode)?;
            Ok(table(&list))
        }
        Request::Drafts { .. } => {
            let page: DraftPage = serde_json::from_value(answer.clone()).map_err(decode)?;
            Ok(draft_table(&page))
        }
        Request::Draft { .. }
        | Request::Claim { .. }
        | Request::Edit { .. }
        | Request::Approve { .. }
        | Request::Discard { .. } => {
            let d: DraftView = serde_json::from_value(answer.clone()).map_err(decode)?;
            Ok(draft_detail(&d))
        }
        _ => {
            let d: IncidentDetail = serde_json::from_value(answer.clone()).map_err(decode)?;
            Ok(detail(&d))
        }
    }
}

fn table(list: &[IncidentView]) -> String {
    if list.is_empty() {
        return "No incidents.\n".to_string();
    }
    let rows: Vec<[String; 5]> = list
        .iter()
        .map(|i| {
            [
                i.id.clone(),
                i.state.as_str().to_string(),
                i.opened_at.format("%Y-%m-%d %H:%M").to_string(),
                i.status.state.clone(),
                i.title.clone(),
            ]
        })
        .collect();
    let head = ["ID", "STATE", "OPENED (UTC)", "STATUS POST", "TITLE"];
    let mut width = head.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 4 {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    out
}

fn detail(d: &IncidentDetail) -> String {
    let i = &d.incident;
    let mut out = format!(
        "{}  {}\n  playbook {}, opened {} by {} trigger, state {}\n",
        i.id,
        i.title,
        i.playbook,
        i.opened_at.format("%Y-%m-%d %H:%M:%S UTC"),
        i.trigger_kind,
        i.state.as_str()
    );
    match (&i.status.state[..], &i.status.text) {
        ("none", _) | (_, None) => out.push_str("  status post: none\n"),
        (state, Some(text)) => out.push_str(&format!("  status post ({state}): {text}\n")),
    }
    if let Some(note) = &i.note {
        out.push_str(&format!("  note: {note}\n"));
    }
    out.push_str("\nTimeline:\n");
    for e in &d.timeline {
        out.push_str(&format!(
            "  {}  {:<26} {:<10} {}\n",
            e.at.format("%H:%M:%S"),
            e.kind,
            e.actor,
            e.message
        ));
    }
    if !d.actions.is_empty() {
        out.push_str("\nActions:\n");
        for a in &d.actions {
            out.push_str(&format!(
                "  {:<10} {:<14} {:<16} attempts {}{}\n",
                a.state,
                a.kind,
                a.account.as_deref().unwrap_or("-"),
                a.attempts,
                a.last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

fn draft_table(page: &DraftPage) -> String {
    if page.drafts.is_empty() {
        return "No drafts.\n".to_string();
    }
    let mut out = format!(
        "{:<6} {:<17} {:<9} {:<10} {:<4} {:<28} FLAGS\n",
        "ID", "WROTE (UTC)", "STATE", "ASSIGNEE", "LANG", "AUTHOR"
    );
    for d in &page.drafts {
        out.push_str(&format!(
            "{:<6} {:<17} {:<9} {:<10} {:<4} {:<28} {}\n",
            d.id,
            d.mention_at.format("%Y-%m-%d %H:%M"),
            d.state,
            d.assignee.as_deref().unwrap_or("-"),
            d.lang.as_deref().unwrap_or("-"),
            d.author.handle,
            d.flags.join(",")
        ));
    }
    out.push_str(&format!("{} of {}", page.drafts.len(), page.total));
    match &page.next {
        Some(next) => out.push_str(&format!("; next page: --after {next}\n")),
        None => out.push('\n'),
    }
    out
}

fn draft_detail(d: &DraftView) -> String {
    let mut out = format!(
        "Draft #{} ({}) for {} ({}) on {}/{}, incident {}\n",
        d.id, d.state, d.author.handle, d.author.name, d.platform, d.account, d.incident
    );
    out.push_str(&format!(
        "  wrote {} ({} mention(s), {} earlier contact(s)), waiting {}s, assignee {}\n",
        d.mention_at.format("%Y-%m-%d %H:%M:%S UTC"),
        d.mentions,
        d.previous_contacts,
        d.waiting_seconds,
        d.assignee.as_deref().unwrap_or("-")
    ));
    if !d.flags.is_empty() {
        out.push_str(&format!("  flags: {}\n", d.flags.join(", ")));
    }
    out.push_str(&format!("  they wrote: {}\n", d.mention_text));
    let how = if d.private {
        "private message"
    } else {
        "public reply"
    };
    out.push_str(&format!("  {how}: {}\n", d.text));
    if let Some(r) = &d.discard_reason {
        out.push_str(&format!("  discarded: {r}\n"));
    }
    out
}
