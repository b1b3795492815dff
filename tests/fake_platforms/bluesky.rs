//! An AT Protocol PDS (atproto.com/specs/xrpc, the `com.atproto.*` lexicons):
//! sessions (`createSession`, `refreshSession`, `ExpiredToken`), records
//! (`createRecord`, `getRecord`, `putRecord` with `swapRecord` →
//! `InvalidSwap`, `listRecords` newest first), `resolveHandle`, the
//! 300-grapheme post limit, and `RateLimit-*` headers. Errors are
//! `{"error": "Name", "message": "..."}`, as a real PDS sends them
//! (captured samples in `tests/data/atproto_pds_samples.json`).

use super::{bearer, body_value, json, Fake, Post, RateStyle, Server};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const DID: &str = "did:plc:fw2drz2iq6tdldu6q6jf2qpk";
pub const HANDLE: &str = "acme.bsky.example";
const POST: &str = "app.bsky.feed.post";
const PROFILE: &str = "app.bsky.actor.profile";

pub async fn start(password: &str) -> Server {
    let server = super::serve(router(), password, RateStyle::Atproto).await;
    {
        let mut w = server.fake.world();
        w.profile = Some(json!({
            "$type": PROFILE,
            "displayName": "Acme",
            "description": "Official Acme account",
            "avatar": {"$type": "blob", "ref": {"$link": "bafkreiavatar"}, "mimeType": "image/png", "size": 1234},
        }));
        w.profile_cid = "bafyreiprofile0".into();
    }
    server
}

pub fn router() -> Router<Fake> {
    Router::new()
        .route(
            "/xrpc/com.atproto.server.createSession",
            post(create_session),
        )
        .route(
            "/xrpc/com.atproto.server.refreshSession",
            post(refresh_session),
        )
        .route("/xrpc/com.atproto.repo.createRecord", post(create_record))
        .route("/xrpc/com.atproto.repo.getRecord", get(get_record))
        .route("/xrpc/com.atproto.repo.putRecord", post(put_record))
        .route("/xrpc/com.atproto.repo.listRecords", get(list_records))
        .route(
            "/xrpc/com.atproto.identity.resolveHandle",
            get(resolve_handle),
        )
        .route(
            "/xrpc/app.bsky.notification.listNotifications",
            get(list_notifications),
        )
}

fn error(status: u16, name: &str, message: &str) -> Response {
    json(status, json!({"error": name, "message": message}))
}

/// The session's access token must be current; an expired one is
/// `ExpiredToken` (400), as a PDS answers it.
fn auth(f: &Fake, h: &HeaderMap) -> Result<(), Response> {
    let Some(token) = bearer(h) else {
        return Err(error(401, "AuthMissing", "Authentication Required"));
    };
    let w = f.world();
    if w.expired.contains(&token) {
        return Err(error(400, "ExpiredToken", "Token has expired"));
    }
    // Like a PDS, every session created stays valid until it expires:
    // several clients (cluster instances) may hold one each.
    if token.is_empty() || (token != w.access && !w.sessions.contains(&token)) {
        return Err(error(401, "InvalidToken", "Token could not be verified"));
    }
    Ok(())
}

/// Ends the current access token's life, as time would.
pub fn expire_access(f: &Fake) {
    let mut w = f.world();
    let a = w.access.clone();
    w.expired.push(a);
}

/// Ends the refresh token's life too: only a new session helps.
pub fn expire_refresh(f: &Fake) {
    let mut w = f.world();
    let r = w.refresh.clone();
    w.expired.push(r);
}

fn new_tokens(w: &mut super::World) -> Value {
    let n = w.next_id();
    w.access = format!("access-{n}");
    w.refresh = format!("refresh-{n}");
    json!({"accessJwt": w.access, "refreshJwt": w.refresh, "handle": HANDLE, "did": DID, "active": true})
}

async fn create_session(State(f): State<Fake>, body: Bytes) -> Response {
    let body = body_value(&body);
    let id = body
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pw = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if (id != HANDLE && id != DID) || pw != f.token {
        return error(
            401,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    }
    let mut w = f.world();
    w.sessions_created += 1;
    let tokens = new_tokens(&mut w);
    let access = w.access.clone();
    w.sessions.push(access);
    json(200, tokens)
}

async fn refresh_session(State(f): State<Fake>, h: HeaderMap) -> Response {
    let token = bearer(&h).unwrap_or_default();
    let mut w = f.world();
    if w.expired.contains(&token) {
        return error(400, "ExpiredToken", "Token has expired");
    }
    if token.is_empty() || token != w.refresh {
        return error(400, "InvalidToken", "Token could not be verified");
    }
    w.refreshes += 1;
    let old = w.access.clone();
    w.expired.push(old);
    json(200, new_tokens(&mut w))
}

fn post_cid(uri: &str) -> String {
    format!("bafyreipost{}", uri.rsplit('/').next().unwrap_or_default())
}

/// Seeds a post by another account (a customer's mention to reply to).
pub fn seed_foreign(f: &Fake, did: &str, text: &str, reply: Option<Value>) -> String {
    let mut w = f.world();
    let uri = format!("at://{did}/{POST}/3kforeign{}", w.next_id());
    let mut record = json!({"$type": POST, "text": text, "createdAt": "2026-11-24T07:00:00.000Z"});
    if let Some(r) = reply {
        record["reply"] = r;
    }
    w.seed(uri, text, record, false)
}

/// Seeds a post of the brand's own, pinned on the profile if asked.
pub fn seed(f: &Fake, text: &str, pinned: bool) -> String {
    let uri = {
        let mut w = f.world();
        let uri = format!("at://{DID}/{POST}/3kseed{:06}", w.next_id());
        let record = json!({"$type": POST, "text": text, "createdAt": "2026-11-20T07:00:00.000Z"});
        w.seed(uri, text, record, false)
    };
    if pinned {
        let mut w = f.world();
        let cid = post_cid(&uri);
        if let Some(p) = w.profile.as_mut() {
            p["pinnedPost"] = json!({"uri": uri, "cid": cid});
        }
        w.pins = vec![uri.clone()];
    }
    uri
}

async fn create_record(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let body = body_value(&body);
    if body.get("repo").and_then(Value::as_str) != Some(DID) {
        return error(400, "InvalidRequest", "Could not find repo");
    }
    if body.get("collection").and_then(Value::as_str) != Some(POST) {
        return error(400, "InvalidRequest", "this fake only creates posts");
    }
    let record = body.get("record").cloned().unwrap_or(Value::Null);
    let text = record
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let graphemes = text.chars().count();
    if graphemes > 300 {
        return error(400, "InvalidRequest", &format!("Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got {graphemes}) at $.record.text"));
    }
    if record.get("createdAt").and_then(Value::as_str).is_none() {
        return error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: Record must have the property \"createdAt\"",
        );
    }
    let mut w = f.world();
    let uri = format!("at://{DID}/{POST}/3n2yb{:08}", w.next_id());
    let reply_to = record
        .pointer("/reply/parent/uri")
        .and_then(Value::as_str)
        .map(str::to_owned);
    w.posts
        .push(Post::made(uri.clone(), text, reply_to, record));
    let cid = post_cid(&uri);
    json(
        200,
        json!({"uri": uri, "cid": cid, "commit": {"cid": "bafyreicommit", "rev": "3n2yb3bd6d226"}, "validationStatus": "valid"}),
    )
}

async fn get_record(State(f): State<Fake>, Query(q): Query<HashMap<String, String>>) -> Response {
    let repo = q.get("repo").cloned().unwrap_or_default();
    let collection = q.get("collection").cloned().unwrap_or_default();
    let rkey = q.get("rkey").cloned().unwrap_or_default();
    let uri = format!("at://{repo}/{collection}/{rkey}");
    let w = f.world();
    if collection == PROFILE && repo == DID && rkey == "self" {
        return match &w.profile {
            Some(p) => json(200, json!({"uri": uri, "cid": w.profile_cid, "value": p})),
            None => error(
                400,
                "RecordNotFound",
                &format!("Could not locate record: {uri}"),
            ),
        };
    }
    match w.post(&uri) {
        Some(p) => json(
            200,
            json!({"uri": uri, "cid": post_cid(&uri), "value": p.raw}),
        ),
        None => error(
            400,
            "RecordNotFound",
            &format!("Could not locate record: {uri}"),
        ),
    }
}

async fn put_record(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let body = body_value(&body);
    if body.get("repo").and_then(Value::as_str) != Some(DID)
        || body.get("collection").and_then(Value::as_str) != Some(PROFILE)
        || body.get("rkey").and_then(Value::as_str) != Some("self")
    {
        return error(
            400,
            "InvalidRequest",
            "this fake only writes the profile record",
        );
    }
    let mut w = f.world();
    if w.profile_races > 0 {
        // A person saves the profile in the app between our read and write.
        w.profile_races -= 1;
        if let Some(p) = w.profile.as_mut() {
            p["description"] = json!("Edited by a person just now");
        }
        let n = w.next_id();
        w.profile_cid = format!("bafyreiprofile{n}");
    }
    if let Some(swap) = body.get("swapRecord").and_then(Value::as_str) {
        if swap != w.profile_cid {
            let current = w.profile_cid.clone();
            return error(400, "InvalidSwap", &format!("Record was at {current}"));
        }
    }
    let record = body.get("record").cloned().unwrap_or(Value::Null);
    if record.get("$type").and_then(Value::as_str) != Some(PROFILE) {
        return error(
            400,
            "InvalidRequest",
            "Invalid $type: must be app.bsky.actor.profile",
        );
    }
    if let Some(pin) = record.get("pinnedPost") {
        let (Some(uri), Some(_cid)) = (
            pin.get("uri").and_then(Value::as_str),
            pin.get("cid").and_then(Value::as_str),
        ) else {
            return error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.actor.profile record: pinnedPost must be a strongRef",
            );
        };
        w.pins = vec![uri.to_owned()];
    } else {
        w.pins.clear();
    }
    w.profile = Some(record);
    let n = w.next_id();
    w.profile_cid = format!("bafyreiprofile{n}");
    let uri = format!("at://{DID}/{PROFILE}/self");
    let cid = w.profile_cid.clone();
    json(
        200,
        json!({"uri": uri, "cid": cid, "commit": {"cid": "bafyreicommit", "rev": "3n2yb3be3mk26"}, "validationStatus": "valid"}),
    )
}

async fn list_records(State(f): State<Fake>, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    let prefix = format!(
        "at://{}/{}/",
        q.get("repo").cloned().unwrap_or_default(),
        q.get("collection").cloned().unwrap_or_default()
    );
    let w = f.world();
    let records: Vec<Value> = w
        .posts
        .iter()
        .rev()
        .filter(|p| p.id.starts_with(&prefix))
        .take(limit)
        .map(|p| json!({"uri": p.id, "cid": post_cid(&p.id), "value": p.raw}))
        .collect();
    json(200, json!({"records": records}))
}

async fn resolve_handle(Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("handle").map(String::as_str) {
        Some(HANDLE) => json(200, json!({"did": DID})),
        Some("help.acme.example") => json(200, json!({"did": "did:plc:helpdesk0000000000000000"})),
        _ => error(400, "InvalidRequest", "Unable to resolve handle"),
    }
}

/// A notification of `reason` (`mention`, `reply`, `like`, `follow`) from
/// `author`, indexed one second after the previous one. Returns its URI.
pub fn notify(f: &Fake, reason: &str, author: &str, text: &str) -> String {
    let mut w = f.world();
    let n = w.next_id();
    let did = format!("did:plc:{author}");
    let uri = format!("at://{did}/{POST}/3kmention{n:06}");
    let at = format!("2026-11-24T07:{:02}:{:02}.000Z", (n / 60) % 60, n % 60);
    let note = json!({
        "uri": uri, "cid": post_cid(&uri),
        "author": {"did": did, "handle": format!("{author}.bsky.example"), "displayName": author.to_uppercase()},
        "reason": reason,
        "record": {"$type": POST, "text": text, "createdAt": at, "langs": ["en"]},
        "isRead": false, "indexedAt": at, "labels": [],
    });
    w.notifications.push(note);
    uri
}

/// Newest first, `limit` per page, an opaque `cursor` to the next (older)
/// page, as the AppView pages it.
async fn list_notifications(
    State(f): State<Fake>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .min(100);
    let skip: usize = q
        .get("cursor")
        .and_then(|c| c.strip_prefix("page-"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let w = f.world();
    let page: Vec<Value> = w
        .notifications
        .iter()
        .rev()
        .skip(skip)
        .take(limit)
        .cloned()
        .collect();
    let mut body = json!({"notifications": page, "priority": false});
    if skip + page.len() < w.notifications.len() {
        body["cursor"] = json!(format!("page-{}", skip + page.len()));
    }
    json(200, body)
}
