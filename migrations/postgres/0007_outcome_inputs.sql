-- Outbox workers of a cluster journal what became of each action (kind
-- 'outcome', payload {key, ok, intent}) in the transaction that ends its
-- outbox row; the engine leader applies them like any other input.
ALTER TABLE inputs DROP CONSTRAINT inputs_kind_check;
ALTER TABLE inputs ADD CONSTRAINT inputs_kind_check
    CHECK (kind IN ('boot', 'mention', 'alert', 'command', 'tick', 'outcome'));
