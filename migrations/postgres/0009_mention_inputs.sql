-- A mention's journal entry names its row in `mentions` instead of holding
-- a second copy of its body: the replay reads the body from there (one
-- primary-key lookup), and ingest writes each mention once. Entries written
-- before this keep their payload and have no name.
ALTER TABLE inputs ADD COLUMN mention_platform TEXT;
ALTER TABLE inputs ADD COLUMN mention_id TEXT;
