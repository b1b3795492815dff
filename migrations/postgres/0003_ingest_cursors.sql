-- Where each ingest connector stopped reading a platform's notifications
-- (Mastodon `since_id`, Bluesky the newest `indexedAt` seen). Advanced only
-- after the mentions it covers are stored, so a restart leaves no gap, and
-- mentions are unique on (platform, id), so it leaves no duplicate.
CREATE TABLE ingest_cursors (
    source     TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
