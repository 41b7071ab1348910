-- Step 2 of publishing into an empty core (a first or --full load): every staged event once,
-- nothing to check against. Afterwards all of core.events are the run's events, so the cases
-- and the mining index read core.events whole (no filter by case). A copy dropped by
-- _staged_once is an event of the same case as the copy kept (the event_id digests the
-- case id), so every case of the staged events has events in core.
INSERT INTO core.events BY NAME SELECT * FROM _staged_once($run_id);

CREATE OR REPLACE TEMP VIEW _case_events AS SELECT * FROM core.events;

CREATE OR REPLACE TEMP TABLE _cases_in_core AS SELECT case_id FROM _event_cases;

CREATE OR REPLACE TEMP VIEW _reindex_events AS SELECT * FROM core.events;

-- The run's new events, by case key (for core/publish_partitions.sql, read after the mining
-- index is refreshed): every event of core, counted through the index's integer keys.
CREATE OR REPLACE TEMP VIEW _run_event_keys AS SELECT case_key FROM core.event_codes;
