-- Empty the mining index and mark every case of core.events, and all its events, for
-- event_index.sql.
DELETE FROM core.event_codes;
DELETE FROM core.case_keys;
DELETE FROM core.step_codes;
DELETE FROM core.holder_codes;
-- mining.case_state is keyed by case key: new keys invalidate it (mine/changes.py)
DELETE FROM mining.case_state;
DELETE FROM mining.run_state;
CREATE OR REPLACE TEMP TABLE _reindex_cases AS SELECT DISTINCT case_id FROM core.events;
CREATE OR REPLACE TEMP VIEW _reindex_events AS SELECT * FROM core.events;
