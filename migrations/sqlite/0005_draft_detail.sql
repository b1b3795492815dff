-- What staff see of a reply draft beyond its lifecycle: the account it
-- answers from, the author (name, follower count for the `influential`
-- flag), the customer's words with personal data masked, how many mentions
-- it answers and how many times it was escalated. Kept as one JSON document
-- because nothing queries inside it; `sla_deadline` is a column because
-- `GET /v1/staff` counts breaches with it.
ALTER TABLE drafts ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
ALTER TABLE drafts ADD COLUMN sla_deadline TEXT;
