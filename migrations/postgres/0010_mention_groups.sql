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
);
INSERT INTO mention_keys (platform, id) SELECT platform, id FROM mentions;

-- Nothing reads mentions by author.
DROP INDEX mentions_by_author;

ALTER TABLE inputs DROP CONSTRAINT inputs_kind_check;
ALTER TABLE inputs ADD CONSTRAINT inputs_kind_check
    CHECK (kind IN ('boot', 'mention', 'mentions', 'alert', 'command', 'tick', 'outcome'));
