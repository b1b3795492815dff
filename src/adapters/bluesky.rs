//! Bluesky, through the AT Protocol XRPC API of the account's PDS.
//!
//! - **Session**: `com.atproto.server.createSession` with the handle and an
//!   app password; an `ExpiredToken` answer is met with `refreshSession`
//!   (and, if the refresh token is gone too, a new session) and one retry.
//! - **Posts** are `app.bsky.feed.post` records made with `createRecord`,
//!   with facets (byte ranges) for links, mentions and hashtags, `langs`,
//!   and reply refs (`root` and `parent` strong refs) for replies. There is
//!   no edit and no private message in the protocol.
//! - **Pin**: the profile record `app.bsky.actor.profile/self` has one
//!   `pinnedPost` strong ref `{uri, cid}`. Pinning reads the whole record
//!   with `getRecord`, sets that one field and writes the whole record back
//!   with `putRecord` and `swapRecord`, so that every other field a person
//!   set (display name, description, avatar, fields squall does not know)
//!   survives; a concurrent profile edit answers `InvalidSwap` and the
//!   read-modify-write starts again.
//! - **Idempotency**: the protocol has no idempotency key, so each post
//!   carries its key in an extra record field ([`KEY_FIELD`]; lexicon
//!   objects are open) and a post looks for its key among the account's
//!   latest posts before creating one. A retry after a crash finds the
//!   first post instead of making a second.

use super::http::{field, url, ApiError, Http, RateHeaders, Secret};
use super::{capabilities_for, AdapterError, Capabilities, Platform, PostRef};
use crate::config::PlatformKind;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The record field that carries squall's idempotency key.
pub const KEY_FIELD: &str = "squallIdempotencyKey";
const POST: &str = "app.bsky.feed.post";
const PROFILE: &str = "app.bsky.actor.profile";
/// Read-modify-write attempts of the profile before giving up for now.
const SWAP_ATTEMPTS: usize = 5;

#[derive(Clone)]
struct Session {
    access: Secret,
    refresh: Secret,
    did: String,
}

pub struct Bluesky {
    http: Http,
    /// The PDS root, `https://bsky.social`.
    base: String,
    handle: String,
    password: Secret,
    language: Option<String>,
    session: tokio::sync::Mutex<Option<Session>>,
    /// Post URI → CID, for strong refs without another round trip.
    cids: Mutex<HashMap<String, String>>,
}

enum Call<'a> {
    Get(&'a [(&'a str, &'a str)]),
    Post(Value),
}

impl Bluesky {
    /// # Errors
    /// `Transient` if the HTTP client cannot be built.
    pub fn new(
        base: &str,
        handle: &str,
        password: Secret,
        language: Option<String>,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new("bluesky", RateHeaders::Atproto, timeout)?,
            base: base.to_owned(),
            handle: handle.trim_start_matches('@').to_owned(),
            password,
            language,
            session: tokio::sync::Mutex::new(None),
            cids: Mutex::new(HashMap::new()),
        })
    }

    async fn raw(
        &self,
        nsid: &str,
        call: &Call<'_>,
        token: Option<&Secret>,
    ) -> Result<Value, ApiError> {
        let u = url(&self.base, &format!("/xrpc/{nsid}"));
        let mut rb = match call {
            Call::Get(query) => self.http.client().get(u).query(query),
            Call::Post(body) => self.http.client().post(u).json(body),
        };
        if let Some(t) = token {
            rb = rb.bearer_auth(t.expose());
        }
        self.http.send(rb).await
    }

    async fn create_session(&self) -> Result<Session, AdapterError> {
        let body = json!({"identifier": self.handle, "password": self.password.expose()});
        let s = self
            .raw("com.atproto.server.createSession", &Call::Post(body), None)
            .await?;
        session(&s)
    }

    /// The current session, refreshed (or recreated) when `stale` is the
    /// access token the platform just called expired.
    async fn session(&self, stale: Option<&str>) -> Result<Session, AdapterError> {
        let mut guard = self.session.lock().await;
        match guard.as_ref() {
            Some(s) if stale != Some(s.access.expose()) => return Ok(s.clone()),
            _ => {}
        }
        let fresh = match guard.as_ref() {
            Some(old) => {
                match self
                    .raw(
                        "com.atproto.server.refreshSession",
                        &Call::Post(Value::Null),
                        Some(&old.refresh),
                    )
                    .await
                {
                    Ok(s) => session(&s)?,
                    Err(e) if e.status == Some(400) || e.status == Some(401) => {
                        tracing::info!(handle = %self.handle, code = ?e.code, "refresh token refused; new session");
                        self.create_session().await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            None => self.create_session().await?,
        };
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// An authenticated XRPC call; an expired access token is refreshed once.
    async fn xrpc(&self, nsid: &str, call: Call<'_>) -> Result<Value, ApiError> {
        let s = self.session(None).await?;
        match self.raw(nsid, &call, Some(&s.access)).await {
            Err(e) if e.code.as_deref() == Some("ExpiredToken") => {
                let s = self.session(Some(s.access.expose())).await?;
                self.raw(nsid, &call, Some(&s.access)).await
            }
            other => other,
        }
    }

    async fn did(&self) -> Result<String, AdapterError> {
        Ok(self.session(None).await?.did)
    }

    fn remember(&self, uri: &str, cid: &str) {
        if let Ok(mut c) = self.cids.lock() {
            c.insert(uri.to_owned(), cid.to_owned());
        }
    }

    fn post_ref(&self, uri: &str) -> PostRef {
        let rkey = uri.rsplit('/').next().unwrap_or_default();
        PostRef {
            id: uri.to_owned(),
            url: Some(format!(
                "https://bsky.app/profile/{}/post/{rkey}",
                self.handle
            )),
        }
    }

    /// `getRecord` of an `at://` URI: (cid, value).
    async fn get_uri(&self, uri: &str) -> Result<(String, Value), AdapterError> {
        let rest = uri.strip_prefix("at://").unwrap_or(uri);
        let parts: Vec<&str> = rest.splitn(3, '/').collect();
        let [repo, collection, rkey] = parts[..] else {
            return Err(AdapterError::Rejected(format!(
                "`{uri}` is not a record URI"
            )));
        };
        let r = self
            .xrpc(
                "com.atproto.repo.getRecord",
                Call::Get(&[("repo", repo), ("collection", collection), ("rkey", rkey)]),
            )
            .await?;
        let cid = field(&r, "/cid", "bluesky")?;
        self.remember(uri, &cid);
        Ok((cid, r.get("value").cloned().unwrap_or(Value::Null)))
    }

    /// A strong ref `{uri, cid}` to a post.
    async fn strong_ref(&self, uri: &str) -> Result<Value, AdapterError> {
        let known = self.cids.lock().ok().and_then(|c| c.get(uri).cloned());
        let cid = match known {
            Some(cid) => cid,
            None => self.get_uri(uri).await?.0,
        };
        Ok(json!({"uri": uri, "cid": cid}))
    }

    /// A post made earlier with this idempotency key, among the latest.
    async fn find_by_key(&self, did: &str, key: &str) -> Result<Option<PostRef>, AdapterError> {
        let list = self
            .xrpc(
                "com.atproto.repo.listRecords",
                Call::Get(&[("repo", did), ("collection", POST), ("limit", "25")]),
            )
            .await?;
        let found = list
            .get("records")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| {
                r.pointer(&format!("/value/{KEY_FIELD}"))
                    .and_then(Value::as_str)
                    == Some(key)
            });
        Ok(match found {
            Some(r) => {
                let uri = field(r, "/uri", "bluesky")?;
                self.remember(&uri, &field(r, "/cid", "bluesky")?);
                Some(self.post_ref(&uri))
            }
            None => None,
        })
    }

    async fn create_post(
        &self,
        text: &str,
        key: &str,
        reply: Option<Value>,
    ) -> Result<PostRef, AdapterError> {
        let did = self.did().await?;
        if let Some(found) = self.find_by_key(&did, key).await? {
            return Ok(found);
        }
        let mut record = json!({
            "$type": POST,
            "text": text,
            "createdAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            KEY_FIELD: key,
        });
        let facets = self.facets(text).await;
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        if let Some(lang) = &self.language {
            record["langs"] = json!([lang]);
        }
        if let Some(reply) = reply {
            record["reply"] = reply;
        }
        let made = self
            .xrpc(
                "com.atproto.repo.createRecord",
                Call::Post(json!({"repo": did, "collection": POST, "record": record})),
            )
            .await?;
        let uri = field(&made, "/uri", "bluesky")?;
        self.remember(&uri, &field(&made, "/cid", "bluesky")?);
        Ok(self.post_ref(&uri))
    }

    /// Rich-text facets: links, mentions (resolved to DIDs; a handle that
    /// does not resolve stays plain text) and hashtags, as UTF-8 byte ranges.
    async fn facets(&self, text: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for (start, end, kind, value) in scan_facets(text) {
            let feature = match kind {
                Facet::Link => json!({"$type": "app.bsky.richtext.facet#link", "uri": value}),
                Facet::Tag => json!({"$type": "app.bsky.richtext.facet#tag", "tag": value}),
                Facet::Mention => {
                    let resolved = self
                        .raw(
                            "com.atproto.identity.resolveHandle",
                            &Call::Get(&[("handle", value.as_str())]),
                            None,
                        )
                        .await;
                    match resolved
                        .ok()
                        .and_then(|r| r.get("did").and_then(Value::as_str).map(str::to_owned))
                    {
                        Some(did) => {
                            json!({"$type": "app.bsky.richtext.facet#mention", "did": did})
                        }
                        None => continue,
                    }
                }
            };
            out.push(json!({"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}));
        }
        out
    }

    /// Reads the profile record, changes `pinnedPost` with `change`, and
    /// writes it back whole, guarded by `swapRecord`; again on `InvalidSwap`.
    async fn edit_profile(
        &self,
        change: impl Fn(&mut serde_json::Map<String, Value>) -> bool,
    ) -> Result<(), AdapterError> {
        let did = self.did().await?;
        for attempt in 1..=SWAP_ATTEMPTS {
            let (cid, mut value) = match self
                .xrpc(
                    "com.atproto.repo.getRecord",
                    Call::Get(&[("repo", &did), ("collection", PROFILE), ("rkey", "self")]),
                )
                .await
            {
                Ok(r) => (
                    Some(field(&r, "/cid", "bluesky")?),
                    r.get("value").cloned().unwrap_or_else(|| json!({})),
                ),
                Err(e) if e.code.as_deref() == Some("RecordNotFound") => (None, json!({})),
                Err(e) => return Err(e.into()),
            };
            let Some(map) = value.as_object_mut() else {
                return Err(AdapterError::Rejected(
                    "the profile record is not an object".into(),
                ));
            };
            map.insert("$type".into(), json!(PROFILE));
            if !change(map) {
                return Ok(()); // already as wanted
            }
            let mut body =
                json!({"repo": did, "collection": PROFILE, "rkey": "self", "record": value});
            if let Some(cid) = cid {
                body["swapRecord"] = json!(cid);
            }
            match self
                .xrpc("com.atproto.repo.putRecord", Call::Post(body))
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.code.as_deref() == Some("InvalidSwap") => {
                    tracing::info!(handle = %self.handle, attempt, "profile changed under us; reading it again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AdapterError::Transient(format!(
            "bluesky: the profile kept changing ({SWAP_ATTEMPTS} InvalidSwap answers)"
        )))
    }
}

fn session(s: &Value) -> Result<Session, AdapterError> {
    Ok(Session {
        access: Secret::new(field(s, "/accessJwt", "bluesky")?),
        refresh: Secret::new(field(s, "/refreshJwt", "bluesky")?),
        did: field(s, "/did", "bluesky")?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Link,
    Mention,
    Tag,
}

/// Byte ranges of links, `@handle.domain` mentions and `#tags` in `text`.
fn scan_facets(text: &str) -> Vec<(usize, usize, Facet, String)> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?P<link>https?://[^\s]+)|(?:^|[\s(])(?P<mention>@[a-zA-Z0-9][a-zA-Z0-9.-]*\.[a-zA-Z]{2,})|(?:^|\s)(?P<tag>#[^\s#\p{P}][^\s#]*)")
            .expect("facet pattern")
    });
    let mut out = Vec::new();
    for c in RE.captures_iter(text) {
        if let Some(m) = c.name("link") {
            let trimmed = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
            out.push((
                m.start(),
                m.start() + trimmed.len(),
                Facet::Link,
                trimmed.to_owned(),
            ));
        } else if let Some(m) = c.name("mention") {
            out.push((
                m.start(),
                m.end(),
                Facet::Mention,
                m.as_str()[1..].to_owned(),
            ));
        } else if let Some(m) = c.name("tag") {
            let trimmed = m
                .as_str()
                .trim_end_matches(|ch: char| ch.is_ascii_punctuation());
            out.push((
                m.start(),
                m.start() + trimmed.len(),
                Facet::Tag,
                trimmed[1..].to_owned(),
            ));
        }
    }
    out
}

#[async_trait]
impl Platform for Bluesky {
    fn capabilities(&self) -> Capabilities {
        capabilities_for(PlatformKind::Bluesky)
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.create_post(text, key, None).await
    }

    async fn edit(&self, _post: &PostRef, _text: &str) -> Result<(), AdapterError> {
        Err(AdapterError::Unsupported("editing posts"))
    }

    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        let did = self.did().await?;
        let profile = match self
            .xrpc(
                "com.atproto.repo.getRecord",
                Call::Get(&[("repo", &did), ("collection", PROFILE), ("rkey", "self")]),
            )
            .await
        {
            Ok(r) => r,
            Err(e) if e.code.as_deref() == Some("RecordNotFound") => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let Some(pin) = profile.pointer("/value/pinnedPost") else {
            return Ok(Vec::new());
        };
        let uri = field(pin, "/uri", "bluesky")?;
        if let Ok(cid) = field(pin, "/cid", "bluesky") {
            self.remember(&uri, &cid);
        }
        Ok(vec![self.post_ref(&uri)])
    }

    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError> {
        let target = self.strong_ref(&post.id).await?;
        self.edit_profile(|profile| {
            if profile.get("pinnedPost").and_then(|p| p.get("uri")) == target.get("uri") {
                return false;
            }
            profile.insert("pinnedPost".into(), target.clone());
            true
        })
        .await
    }

    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.edit_profile(|profile| {
            let ours = profile
                .get("pinnedPost")
                .and_then(|p| p.get("uri"))
                .and_then(Value::as_str)
                == Some(post.id.as_str());
            if ours {
                profile.remove("pinnedPost");
            }
            ours
        })
        .await
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        let (cid, value) = self.get_uri(in_reply_to).await?;
        let parent = json!({"uri": in_reply_to, "cid": cid});
        let root = value
            .pointer("/reply/root")
            .cloned()
            .unwrap_or_else(|| parent.clone());
        self.create_post(text, key, Some(json!({"root": root, "parent": parent})))
            .await
    }
}

/// Mentions and replies from `app.bsky.notification.listNotifications`.
/// The list runs newest first and its `cursor` pages backwards, so the
/// persisted cursor is the newest `indexedAt` read: a poll walks pages back
/// until it reaches it. Notifications indexed at that same instant are read
/// again and left out by the store (mentions are unique on their URI).
#[async_trait]
impl super::ingest::MentionSource for Bluesky {
    async fn mentions_since(
        &self,
        account: &str,
        cursor: Option<&str>,
    ) -> Result<(Vec<crate::mention::Mention>, Option<String>), AdapterError> {
        let since = cursor.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok());
        let mut read = Vec::new();
        let mut newest: Option<String> = None;
        let mut page_cursor: Option<String> = None;
        'pages: for _ in 0..super::ingest::MAX_PAGES {
            let mut query = vec![("limit", "50")];
            if let Some(c) = &page_cursor {
                query.push(("cursor", c.as_str()));
            }
            let page = self
                .xrpc("app.bsky.notification.listNotifications", Call::Get(&query))
                .await?;
            let list = page
                .get("notifications")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for n in &list {
                let indexed = field(n, "/indexedAt", "bluesky")?;
                let at = chrono::DateTime::parse_from_rfc3339(&indexed).ok();
                if let (Some(at), Some(since)) = (at, since) {
                    if at < since {
                        break 'pages;
                    }
                }
                newest.get_or_insert(indexed);
                let reason = n.get("reason").and_then(Value::as_str);
                if matches!(reason, Some("mention" | "reply")) {
                    read.push(self.mention_of(account, n)?);
                }
            }
            match page.get("cursor").and_then(Value::as_str) {
                Some(c) if !list.is_empty() => page_cursor = Some(c.to_owned()),
                _ => break,
            }
        }
        read.reverse(); // oldest first
        Ok((read, newest))
    }
}

impl Bluesky {
    fn mention_of(
        &self,
        account: &str,
        n: &Value,
    ) -> Result<crate::mention::Mention, AdapterError> {
        use super::http::{opt_str, time};
        let uri = field(n, "/uri", "bluesky")?;
        let handle = field(n, "/author/handle", "bluesky")?;
        let rkey = uri.rsplit('/').next().unwrap_or_default().to_owned();
        Ok(crate::mention::Mention {
            id: uri,
            platform: "bluesky".into(),
            account: account.to_owned(),
            author: crate::mention::Author {
                id: field(n, "/author/did", "bluesky")?,
                handle: format!("@{handle}"),
                name: opt_str(n, "/author/displayName").filter(|s| !s.is_empty()),
                followers: None,
                bot: false,
            },
            text: opt_str(n, "/record/text").unwrap_or_default(),
            lang: opt_str(n, "/record/langs/0"),
            created_at: time(n, "/record/createdAt", "bluesky")?,
            in_reply_to: opt_str(n, "/record/reply/parent/uri"),
            url: Some(format!("https://bsky.app/profile/{handle}/post/{rkey}")),
            direct: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_are_byte_ranges_of_links_mentions_and_tags() {
        let text = "Zażółć: see https://status.acme.example/x. Ask @help.acme.example #outage!";
        let got: Vec<(&str, Facet, String)> = scan_facets(text)
            .into_iter()
            .map(|(s, e, k, v)| (&text[s..e], k, v))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "https://status.acme.example/x",
                    Facet::Link,
                    "https://status.acme.example/x".into()
                ),
                (
                    "@help.acme.example",
                    Facet::Mention,
                    "help.acme.example".into()
                ),
                ("#outage", Facet::Tag, "outage".into()),
            ]
        );
    }
}
