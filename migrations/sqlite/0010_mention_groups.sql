-- Mentions are journaled a group at a time (kind 'mentions': payload is the
-- JSON array of the group's new mentions, in the order received), and
-- their keys go to `mention_keys`, which says whether a mention was seen
-- before. A row in `mentions` is kept only for a mention attached to an
-- incident (the report and the incident's mention list read it). Ingest
-- writes one index entry per mention instead of four, and one journal row
-- per group instead of one per mention.
CREATE TABLE mention_keys (
    platform TEXT NOT NULL,
    id       TEXT NOT NULL,
    PRIMARY KEY (platform, id)
) WITHOUT ROWID;
INSERT INTO mention_keys (platform, id) SELECT platform, id FROM mentions;

-- Nothing reads mentions by author.
DROP INDEX mentions_by_author;

-- SQLite cannot change a CHECK constraint in place: the journal is rebuilt
-- (seq values, and so the AUTOINCREMENT counter, are kept).
CREATE TABLE inputs_v10 (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    at               TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('boot', 'mention', 'mentions', 'alert', 'command', 'tick', 'outcome')),
    payload          TEXT NOT NULL,
    mention_platform TEXT,
    mention_id       TEXT
);
INSERT INTO inputs_v10 (seq, at, kind, payload, mention_platform, mention_id)
    SELECT seq, at, kind, payload, mention_platform, mention_id FROM inputs;
DROP TABLE inputs;
ALTER TABLE inputs_v10 RENAME TO inputs;
