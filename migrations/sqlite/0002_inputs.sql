-- The input journal (version 2): every input `squall serve` handed the engine,
-- in order, with the engine time it was handled at. The engine is
-- deterministic, so replaying this journal at start rebuilds its in-memory
-- state (detector windows, timers, open incidents, drafts) exactly.
--
-- kind: 'boot' (the engine's start time, written once), 'mention', 'alert',
-- 'command', or 'tick' (time passed and timers fired with effects: replayed
-- as the engine's tick at `at`). payload is the input as JSON (null for
-- boot and tick).

CREATE TABLE inputs (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('boot', 'mention', 'alert', 'command', 'tick')),
    payload TEXT NOT NULL
);
