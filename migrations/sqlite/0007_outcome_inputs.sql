-- The journal may hold action outcomes (kind 'outcome', payload {key, ok,
-- intent}), which a cluster's outbox workers write; kept in step with the
-- Postgres schema. SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt (seq values, and so the AUTOINCREMENT counter, are kept).
CREATE TABLE inputs_v7 (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('boot', 'mention', 'alert', 'command', 'tick', 'outcome')),
    payload TEXT NOT NULL
);
INSERT INTO inputs_v7 (seq, at, kind, payload) SELECT seq, at, kind, payload FROM inputs;
DROP TABLE inputs;
ALTER TABLE inputs_v7 RENAME TO inputs;
