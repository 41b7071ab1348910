-- After event_index_clear.sql: mark every case of core.events, and all its events, for
-- event_index.sql.
CREATE OR REPLACE TEMP TABLE _reindex_cases AS SELECT DISTINCT case_id FROM core.events;
CREATE OR REPLACE TEMP VIEW _reindex_events AS SELECT * FROM core.events;
