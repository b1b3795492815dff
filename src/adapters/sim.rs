//! The built-in simulated platform: records every post, pin, reply and
//! message, and enforces each real platform's limits, so that playbooks can
//! be rehearsed (and squall run) with no credentials and no network.
//!
//! A world can be [persistent](SimWorld::persistent): every record is
//! appended (and synced) to an NDJSON file with its idempotency key, and a
//! restarted squall reloads it, so that posts, pins and delivered
//! notifications survive a crash the way they would on a real platform, and
//! a retried call with the same key is answered with the first result.

use super::{
    capabilities_for, AdapterError, Capabilities, Notifier, Platform, PostRef, WebhookSender,
};
use crate::config::{PlatformKind, Staff};
use crate::playbook::Channel;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One thing the simulated world saw, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SimRecord {
    Post {
        account: String,
        id: String,
        text: String,
    },
    Edit {
        account: String,
        id: String,
        text: String,
    },
    Pin {
        account: String,
        id: String,
    },
    Unpin {
        account: String,
        id: String,
    },
    Reply {
        account: String,
        id: String,
        in_reply_to: String,
        text: String,
    },
    Direct {
        account: String,
        id: String,
        to: String,
        text: String,
    },
    Notify {
        staff: String,
        channel: Channel,
        subject: String,
    },
    Webhook {
        url: String,
        body: String,
    },
}

/// The shared log of a simulated world (every account, notifier and webhook).
#[derive(Debug, Clone, Default)]
pub struct SimWorld {
    log: Arc<Mutex<Vec<SimRecord>>>,
    /// Where records are appended, for a persistent world.
    file: Option<Arc<Mutex<std::fs::File>>>,
    /// Records loaded from the file with their keys; accounts replay them.
    history: Arc<Vec<Line>>,
    /// Keys of notifications and webhooks delivered (persistent worlds only).
    delivered: Arc<Mutex<BTreeSet<String>>>,
    /// How long each platform call takes.
    latency: Duration,
}

/// One line of a persistent world's file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    #[serde(default)]
    key: Option<String>,
    record: SimRecord,
}

impl SimWorld {
    /// A world recorded in `path` (NDJSON, created if missing), starting
    /// from what the file already holds.
    ///
    /// A last line without its newline is a write that a crash cut short:
    /// its call never returned, so the caller retries it with the same key.
    /// If it is a whole record, it is kept and its newline added; if not, it
    /// is cut off. Either way the next record starts on a line of its own.
    ///
    /// # Errors
    /// The file cannot be opened, read or written, or a complete line is
    /// not a record (with its line number).
    pub fn persistent(path: &std::path::Path) -> std::io::Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let (lines, tail) = bytes.split_at(complete);
        let mut history = Vec::new();
        for (number, line) in lines.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let l: Line = serde_json::from_slice(line).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("line {}: {e}", number + 1),
                )
            })?;
            history.push(l);
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        if !tail.is_empty() {
            match serde_json::from_slice::<Line>(tail) {
                Ok(l) => {
                    history.push(l);
                    file.write_all(b"\n")?;
                }
                Err(_) => {
                    tracing::warn!(path = %path.display(), bytes = tail.len(), "simulated platform log: cut off a record a crash left half-written");
                    file.set_len(complete as u64)?;
                }
            }
            file.sync_data()?;
        }
        let delivered = history
            .iter()
            .filter(|l| {
                matches!(
                    l.record,
                    SimRecord::Notify { .. } | SimRecord::Webhook { .. }
                )
            })
            .filter_map(|l| l.key.clone())
            .collect();
        Ok(Self {
            log: Arc::new(Mutex::new(
                history.iter().map(|l| l.record.clone()).collect(),
            )),
            file: Some(Arc::new(Mutex::new(file))),
            history: Arc::new(history),
            delivered: Arc::new(Mutex::new(delivered)),
            latency: Duration::ZERO,
        })
    }

    /// Every platform call takes `latency` (half before its effect, half after).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn records(&self) -> Vec<SimRecord> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn push_unkeyed(&self, record: SimRecord) {
        self.push_keyed(record, None);
    }

    fn push_keyed(&self, record: SimRecord, key: Option<&str>) {
        if let Some(file) = &self.file {
            let line = Line {
                key: key.map(str::to_string),
                record: record.clone(),
            };
            if let (Ok(mut f), Ok(mut text)) = (file.lock(), serde_json::to_string(&line)) {
                // One write for the record and its newline (`writeln!` makes
                // two: a crash between them left a line that the next record
                // joined), synced before the call returns: a crash right
                // after it must not forget the effect.
                text.push('\n');
                let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_data());
                if let Err(error) = written {
                    tracing::error!(%error, "simulated platform log not written");
                }
            }
        }
        if let Ok(mut l) = self.log.lock() {
            l.push(record);
        }
    }

    /// For a persistent world: whether a notification or webhook with this
    /// key was delivered already (and, if not, that it is being now).
    fn first_delivery(&self, key: &str) -> bool {
        if self.file.is_none() {
            return true;
        }
        self.delivered
            .lock()
            .map(|mut d| d.insert(key.to_string()))
            .unwrap_or(true)
    }

    async fn delay(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency / 2).await;
        }
    }
}

#[derive(Debug, Default)]
struct AccountState {
    posts: BTreeMap<String, String>,
    /// Pinned post ids, oldest first.
    pins: Vec<String>,
    /// Idempotency key → post id: a retried call returns the first post.
    by_key: BTreeMap<String, String>,
    next: u64,
}

impl AccountState {
    /// The account as a persistent world's history left it.
    /// The account as its recorded history left it. `one_pin_field`: the
    /// platform keeps one pinned post and a new pin replaces it (Bluesky),
    /// as [`SimPlatform::pin`] does live.
    fn replay(account: &str, history: &[Line], one_pin_field: bool) -> Self {
        let mut s = AccountState::default();
        for l in history {
            match &l.record {
                SimRecord::Post {
                    account: a,
                    id,
                    text,
                }
                | SimRecord::Reply {
                    account: a,
                    id,
                    text,
                    ..
                }
                | SimRecord::Direct {
                    account: a,
                    id,
                    text,
                    ..
                } if a == account => {
                    s.posts.insert(id.clone(), text.clone());
                    if let Some(k) = &l.key {
                        s.by_key.insert(k.clone(), id.clone());
                    }
                    let n = id
                        .rsplit('-')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    s.next = s.next.max(n);
                }
                SimRecord::Edit {
                    account: a,
                    id,
                    text,
                } if a == account => {
                    s.posts.insert(id.clone(), text.clone());
                }
                SimRecord::Pin { account: a, id } if a == account && !s.pins.contains(id) => {
                    if one_pin_field {
                        s.pins.clear();
                    }
                    s.pins.push(id.clone());
                }
                SimRecord::Unpin { account: a, id } if a == account => {
                    s.pins.retain(|p| p != id);
                }
                _ => {}
            }
        }
        s
    }
}

/// One simulated account on a platform of a given kind.
#[derive(Debug)]
pub struct SimPlatform {
    account: String,
    kind: PlatformKind,
    caps: Capabilities,
    state: Mutex<AccountState>,
    world: SimWorld,
    /// Injected failures: (operation, error), consumed by the next call of
    /// that operation. For rehearsing rate limits, outages and crashes.
    faults: Mutex<std::collections::VecDeque<(Op, AdapterError)>>,
}

/// A platform operation, for fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Post,
    Edit,
    Pin,
    Unpin,
    Reply,
    Direct,
}

impl SimPlatform {
    pub fn new(account: &str, kind: PlatformKind, world: SimWorld) -> Self {
        let state = AccountState::replay(account, &world.history, kind == PlatformKind::Bluesky);
        Self {
            account: account.to_string(),
            kind,
            caps: capabilities_for(kind),
            state: Mutex::new(state),
            world,
            faults: Mutex::new(Default::default()),
        }
    }

    /// The next call of `op` fails with `error` (queued in order).
    pub fn fail_next(&self, op: Op, error: AdapterError) {
        if let Ok(mut f) = self.faults.lock() {
            f.push_back((op, error));
        }
    }

    fn fault(&self, op: Op) -> Result<(), AdapterError> {
        let Ok(mut f) = self.faults.lock() else {
            return Ok(());
        };
        match f.iter().position(|(o, _)| *o == op) {
            Some(i) => Err(f
                .remove(i)
                .map(|(_, e)| e)
                .unwrap_or(AdapterError::Transient("injected".into()))),
            None => Ok(()),
        }
    }

    /// Starts the account with a post already pinned (as brands usually
    /// have), so that rehearsals show it displaced and restored.
    pub fn with_pinned(self, text: &str) -> Self {
        if self.caps.can_pin() {
            if let Ok(mut s) = self.state.lock() {
                let id = format!("{}-welcome", self.account);
                s.posts.insert(id.clone(), text.to_string());
                s.pins.push(id);
            }
        }
        self
    }

    /// Currently pinned ids, oldest first.
    pub fn pins(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.pins.clone())
            .unwrap_or_default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, AccountState>, AdapterError> {
        self.state
            .lock()
            .map_err(|_| AdapterError::Transient("simulated account state poisoned".into()))
    }

    fn create(&self, text: &str, key: &str) -> Result<(PostRef, bool), AdapterError> {
        let length = super::post_length(self.kind, text);
        if length > self.caps.max_chars {
            return Err(AdapterError::Rejected(format!(
                "text is {length} characters; {} allows {}",
                self.kind.as_str(),
                self.caps.max_chars
            )));
        }
        let mut s = self.lock()?;
        if let Some(id) = s.by_key.get(key) {
            return Ok((
                PostRef {
                    id: id.clone(),
                    url: Some(format!("sim://{}/{id}", self.account)),
                },
                false,
            ));
        }
        s.next += 1;
        let id = format!("{}-{}", self.account, s.next);
        s.posts.insert(id.clone(), text.to_string());
        s.by_key.insert(key.to_string(), id.clone());
        Ok((
            PostRef {
                id: id.clone(),
                url: Some(format!("sim://{}/{id}", self.account)),
            },
            true,
        ))
    }
}

#[async_trait]
impl Platform for SimPlatform {
    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    async fn post(&self, text: &str, key: &str) -> Result<PostRef, AdapterError> {
        self.world.delay().await;
        self.fault(Op::Post)?;
        let (p, new) = self.create(text, key)?;
        if new {
            self.world.push_keyed(
                SimRecord::Post {
                    account: self.account.clone(),
                    id: p.id.clone(),
                    text: text.to_string(),
                },
                Some(key),
            );
        }
        self.world.delay().await;
        Ok(p)
    }

    async fn edit(&self, post: &PostRef, text: &str) -> Result<(), AdapterError> {
        self.world.delay().await;
        self.fault(Op::Edit)?;
        if !self.caps.can_edit {
            return Err(AdapterError::Unsupported("editing posts"));
        }
        let mut s = self.lock()?;
        match s.posts.get_mut(&post.id) {
            Some(t) => *t = text.to_string(),
            None => return Err(AdapterError::Rejected(format!("no post {}", post.id))),
        }
        self.world.push_unkeyed(SimRecord::Edit {
            account: self.account.clone(),
            id: post.id.clone(),
            text: text.to_string(),
        });
        Ok(())
    }

    async fn pinned(&self) -> Result<Vec<PostRef>, AdapterError> {
        Ok(self
            .lock()?
            .pins
            .iter()
            .map(|id| PostRef {
                id: id.clone(),
                url: None,
            })
            .collect())
    }

    async fn pin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.world.delay().await;
        self.fault(Op::Pin)?;
        if !self.caps.can_pin() {
            return Err(AdapterError::Unsupported("pinning"));
        }
        let mut s = self.lock()?;
        if s.pins.contains(&post.id) {
            return Ok(());
        }
        if !s.posts.contains_key(&post.id) {
            return Err(AdapterError::Rejected(format!("no post {}", post.id)));
        }
        if s.pins.len() >= self.caps.max_pins {
            if self.kind == PlatformKind::Bluesky {
                // One `pinnedPost` field: writing it replaces the old one.
                s.pins.clear();
            } else {
                return Err(AdapterError::Rejected(format!(
                    "{} allows at most {} pinned posts",
                    self.kind.as_str(),
                    self.caps.max_pins
                )));
            }
        }
        s.pins.push(post.id.clone());
        self.world.push_unkeyed(SimRecord::Pin {
            account: self.account.clone(),
            id: post.id.clone(),
        });
        Ok(())
    }

    async fn unpin(&self, post: &PostRef) -> Result<(), AdapterError> {
        self.world.delay().await;
        self.fault(Op::Unpin)?;
        let mut s = self.lock()?;
        let before = s.pins.len();
        s.pins.retain(|p| p != &post.id);
        if s.pins.len() != before {
            self.world.push_unkeyed(SimRecord::Unpin {
                account: self.account.clone(),
                id: post.id.clone(),
            });
        }
        Ok(())
    }

    async fn reply(
        &self,
        in_reply_to: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.world.delay().await;
        self.fault(Op::Reply)?;
        if !self.caps.can_reply {
            return Err(AdapterError::Unsupported("replies"));
        }
        let (p, new) = self.create(text, key)?;
        if new {
            self.world.push_keyed(
                SimRecord::Reply {
                    account: self.account.clone(),
                    id: p.id.clone(),
                    in_reply_to: in_reply_to.to_string(),
                    text: text.to_string(),
                },
                Some(key),
            );
        }
        Ok(p)
    }

    async fn direct_message(
        &self,
        author_id: &str,
        text: &str,
        key: &str,
    ) -> Result<PostRef, AdapterError> {
        self.world.delay().await;
        self.fault(Op::Direct)?;
        if !self.caps.can_message_privately {
            return Err(AdapterError::Unsupported("private messages"));
        }
        let (p, new) = self.create(text, key)?;
        if new {
            self.world.push_keyed(
                SimRecord::Direct {
                    account: self.account.clone(),
                    id: p.id.clone(),
                    to: author_id.to_string(),
                    text: text.to_string(),
                },
                Some(key),
            );
        }
        Ok(p)
    }
}

/// Records notifications instead of sending them.
#[derive(Debug, Clone)]
pub struct SimNotifier(pub SimWorld);

#[async_trait]
impl Notifier for SimNotifier {
    async fn send(
        &self,
        staff: &Staff,
        channel: Channel,
        subject: &str,
        _text: &str,
        key: &str,
    ) -> Result<(), AdapterError> {
        if self.0.first_delivery(key) {
            self.0.push_keyed(
                SimRecord::Notify {
                    staff: staff.id.clone(),
                    channel,
                    subject: subject.to_string(),
                },
                Some(key),
            );
        }
        Ok(())
    }
}

/// Records webhook calls instead of making them.
#[derive(Debug, Clone)]
pub struct SimWebhooks(pub SimWorld);

#[async_trait]
impl WebhookSender for SimWebhooks {
    async fn post(
        &self,
        url: &str,
        body: &str,
        _secret_env: Option<&str>,
        key: &str,
    ) -> Result<(), AdapterError> {
        if self.0.first_delivery(key) {
            self.0.push_keyed(
                SimRecord::Webhook {
                    url: url.to_string(),
                    body: body.to_string(),
                },
                Some(key),
            );
        }
        Ok(())
    }
}

/// One simulated account per configured account, all in one world. Tests
/// keep these to look at what is pinned; [`adapters`] wraps them.
pub fn sim_platforms(
    config: &crate::config::Config,
    world: &SimWorld,
    pre_pinned: bool,
) -> BTreeMap<String, Arc<SimPlatform>> {
    config
        .accounts
        .values()
        .map(|a| {
            let p = SimPlatform::new(&a.name, a.platform, world.clone());
            let p = if pre_pinned {
                p.with_pinned("Welcome! Our support hours and FAQ.")
            } else {
                p
            };
            (a.name.clone(), Arc::new(p))
        })
        .collect()
}

/// The adapter set over simulated accounts, notifier and webhooks.
pub fn adapters(
    platforms: &BTreeMap<String, Arc<SimPlatform>>,
    world: &SimWorld,
) -> super::Adapters {
    let platforms = platforms
        .iter()
        .map(|(k, v)| (k.clone(), v.clone() as Arc<dyn Platform>))
        .collect();
    super::Adapters {
        platforms,
        sources: BTreeMap::new(),
        notifier: Arc::new(SimNotifier(world.clone())),
        webhooks: Arc::new(SimWebhooks(world.clone())),
    }
}

/// Simulated adapters for every configured account, all in one world.
pub fn sim_adapters(
    config: &crate::config::Config,
    world: &SimWorld,
    pre_pinned: bool,
) -> super::Adapters {
    adapters(&sim_platforms(config, world, pre_pinned), world)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(n: u32) -> SimRecord {
        SimRecord::Webhook {
            url: "https://hooks.example/".into(),
            body: format!("call {n}"),
        }
    }

    fn world_after(log: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, SimWorld) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("platforms.ndjson");
        std::fs::write(&path, log).expect("log");
        let world = SimWorld::persistent(&path).expect("a log a crash left behind loads");
        (dir, path, world)
    }

    fn line(n: u32) -> String {
        serde_json::to_string(&Line {
            key: Some(format!("k{n}")),
            record: hook(n),
        })
        .expect("JSON")
    }

    #[tokio::test]
    async fn after_a_restart_a_bluesky_account_still_has_only_its_last_pin() {
        let (_dir, path, world) = world_after(b"");
        let before = SimPlatform::new("acme-bsky", PlatformKind::Bluesky, world);
        let old = before.post("old status", "k-old").await.expect("post");
        let new = before.post("new status", "k-new").await.expect("post");
        before.pin(&old).await.expect("pin");
        before
            .pin(&new)
            .await
            .expect("a new pin replaces the old one");
        let again = SimWorld::persistent(&path).expect("reloads");
        let after = SimPlatform::new("acme-bsky", PlatformKind::Bluesky, again);
        let pinned: Vec<String> = after
            .pinned()
            .await
            .expect("pins")
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(pinned, vec![new.id]);
    }

    #[test]
    fn a_record_a_crash_cut_short_is_dropped_and_the_next_starts_on_its_own_line() {
        let whole = line(1);
        let torn = &line(2)[..20];
        let (_dir, path, world) = world_after(format!("{whole}\n{torn}").as_bytes());
        assert_eq!(world.records(), vec![hook(1)]);
        world.push_keyed(hook(3), Some("k3"));
        let again = SimWorld::persistent(&path).expect("reloads");
        assert_eq!(again.records(), vec![hook(1), hook(3)]);
    }

    #[test]
    fn a_whole_record_that_lost_only_its_newline_is_kept() {
        let (_dir, path, world) = world_after(format!("{}\n{}", line(1), line(2)).as_bytes());
        assert_eq!(world.records(), vec![hook(1), hook(2)]);
        world.push_keyed(hook(3), Some("k3"));
        let again = SimWorld::persistent(&path).expect("reloads");
        assert_eq!(again.records(), vec![hook(1), hook(2), hook(3)]);
    }

    #[test]
    fn a_damaged_line_before_the_last_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("platforms.ndjson");
        std::fs::write(&path, format!("{}\nnot json\n{}\n", line(1), line(2))).expect("log");
        let err = SimWorld::persistent(&path).expect_err("damage is not silently skipped");
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }
}
