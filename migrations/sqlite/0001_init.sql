-- squall store, SQLite schema (version 1).
--
-- Conventions, shared with the Postgres schema that lives in its own directory:
-- * Timestamps are TEXT in RFC 3339, UTC, fixed microsecond precision
--   ("2024-05-01T09:30:00.000000Z"), so that lexical order is time order and
--   the same comparisons work unchanged on both databases.
-- * JSON is TEXT (serde_json on the Rust side).
-- * Enumerations are TEXT guarded by CHECK constraints.
-- * Generated ids are INTEGER PRIMARY KEY AUTOINCREMENT here (never reused, so
--   cursors such as the timeline's `seq` only move forward); Postgres uses
--   BIGINT GENERATED ALWAYS AS IDENTITY.

CREATE TABLE incidents (
    id                 TEXT PRIMARY KEY,
    playbook           TEXT NOT NULL,
    group_key          TEXT NOT NULL,
    state              TEXT NOT NULL
        CHECK (state IN ('open', 'acknowledged', 'mitigated', 'resolved')),
    title              TEXT NOT NULL,
    trigger_kind       TEXT NOT NULL,
    opened_at          TEXT NOT NULL,
    acknowledged_at    TEXT,
    mitigated_at       TEXT,
    resolved_at        TEXT,
    status_text        TEXT,
    status_approved_by TEXT,
    detail             TEXT NOT NULL,
    CHECK (state <> 'resolved' OR resolved_at IS NOT NULL)
);
CREATE INDEX incidents_by_open ON incidents (state, opened_at);

CREATE TABLE mentions (
    platform      TEXT NOT NULL,
    id            TEXT NOT NULL,
    account       TEXT NOT NULL,
    author_id     TEXT NOT NULL,
    author_handle TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    lang          TEXT,
    body          TEXT NOT NULL,
    incident_id   TEXT REFERENCES incidents (id),
    PRIMARY KEY (platform, id)
);
CREATE INDEX mentions_by_author ON mentions (platform, author_id, created_at);
CREATE INDEX mentions_by_incident ON mentions (incident_id);

CREATE TABLE timeline (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT REFERENCES incidents (id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    message     TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX timeline_by_incident ON timeline (incident_id, seq);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key    TEXT NOT NULL UNIQUE,
    incident_id TEXT REFERENCES incidents (id),
    kind        TEXT NOT NULL,
    account     TEXT,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL
        CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    not_before  TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    result      TEXT,
    last_error  TEXT,
    CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
);
CREATE INDEX outbox_claimable ON outbox (state, not_before, id);
CREATE INDEX outbox_by_incident ON outbox (incident_id, id);

CREATE TABLE pins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    post_id     TEXT NOT NULL,
    post_url    TEXT,
    incident_id TEXT REFERENCES incidents (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('status', 'off_hours')),
    pinned_at   TEXT NOT NULL,
    unpinned_at TEXT,
    displaced   TEXT NOT NULL,
    restored_at TEXT
);
-- An account never holds two active squall pins of the same purpose.
CREATE UNIQUE INDEX pins_one_active ON pins (account, purpose) WHERE unpinned_at IS NULL;
CREATE INDEX pins_by_incident ON pins (incident_id);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     TEXT NOT NULL REFERENCES incidents (id),
    platform        TEXT NOT NULL,
    author_id       TEXT NOT NULL,
    author_handle   TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    last_mention_at TEXT NOT NULL,
    mention_count   BIGINT NOT NULL,
    UNIQUE (incident_id, platform, author_id)
);

CREATE TABLE drafts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id      TEXT NOT NULL REFERENCES incidents (id),
    conversation_id  BIGINT NOT NULL REFERENCES conversations (id),
    mention_platform TEXT NOT NULL,
    mention_id       TEXT NOT NULL,
    mention_at       TEXT NOT NULL,
    lang             TEXT,
    text             TEXT NOT NULL,
    private          BOOLEAN NOT NULL,
    flags            TEXT NOT NULL,
    state            TEXT NOT NULL
        CHECK (state IN ('pending', 'approved', 'sent', 'discarded')),
    assignee         TEXT,
    assigned_at      TEXT,
    approved_by      TEXT,
    approved_at      TEXT,
    sent_at          TEXT,
    discarded_reason TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    -- Nothing reaches a customer without a named human approving it.
    CHECK (state NOT IN ('approved', 'sent') OR (approved_by IS NOT NULL AND approved_at IS NOT NULL)),
    CHECK (state <> 'sent' OR sent_at IS NOT NULL),
    CHECK (state <> 'discarded' OR discarded_reason IS NOT NULL)
);
-- A conversation has at most one pending draft: follow-ups update it.
CREATE UNIQUE INDEX drafts_one_pending ON drafts (conversation_id) WHERE state = 'pending';
CREATE INDEX drafts_queue ON drafts (state, mention_at, id);
CREATE INDEX drafts_by_assignee ON drafts (assignee, state);

CREATE TABLE processed (
    key TEXT PRIMARY KEY,
    at  TEXT NOT NULL
);
