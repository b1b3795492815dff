-- One account's outbox rows run in order across workers: a claim looks for
-- an earlier unfinished row of the same account (store::sql::CLAIM_NEXT).
CREATE INDEX outbox_by_account ON outbox (account, id);
