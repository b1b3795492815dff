-- Cluster coordination (Postgres only): several `squall serve` instances on
-- one database. Numbered apart from the schema shared with SQLite so that
-- ports of later SQLite migrations keep their numbers.
--
-- cluster_leader: the one row naming the engine leader. `epoch` grows by one
-- at every take-over; the leader's batches check it in their transaction
-- (fencing), so a deposed leader cannot write. The leader holds a
-- session-level advisory lock while it leads; `applied_seq` is the last
-- journal entry its engine has applied and committed.
CREATE TABLE cluster_leader (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    epoch       BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    since       TEXT NOT NULL,
    applied_seq BIGINT NOT NULL DEFAULT 0
);
INSERT INTO cluster_leader (id, epoch, holder, since) VALUES (1, 0, '', '');

-- What the engine answered to a journaled alert or command, for the
-- instance that took the request and waits for the leader to handle it.
CREATE TABLE input_results (
    seq    BIGINT PRIMARY KEY REFERENCES inputs (seq),
    events TEXT NOT NULL
);
