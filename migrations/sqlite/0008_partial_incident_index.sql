-- Most mentions belong to no incident: index only those that do, which
-- spares every ingested mention one index write. `incident_id = $1` (the
-- only query by incident) implies `IS NOT NULL`, so it still uses the index.
DROP INDEX mentions_by_incident;
CREATE INDEX mentions_by_incident ON mentions (incident_id) WHERE incident_id IS NOT NULL;
