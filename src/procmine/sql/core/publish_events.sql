-- Step 2 of publishing into a core that holds events: the run's new events into core.events.
-- An event_id digests the source and the case id (pm_event_id), so an event already in core
-- is one of the same case: the staged events are checked against the core events of the
-- cases the run touched (_prior_events), found through the mining index's case keys (every
-- case of core.events has one: publish_core checks the index is in step first), instead of
-- against every event id of core.

-- every case the run touched, by events or by attributes alone (e.g. a later export that only
-- changed a priority)
CREATE OR REPLACE TEMP TABLE _touched_cases AS
SELECT case_id FROM _event_cases
UNION
SELECT case_id FROM staging.cases;

CREATE OR REPLACE TEMP TABLE _prior_events AS
SELECT * FROM core.events
WHERE case_id IN (SELECT case_id FROM _touched_cases SEMI JOIN core.case_keys USING (case_id));

CREATE OR REPLACE TEMP TABLE _new_events AS
SELECT * FROM _staged_once($run_id) AS s
WHERE NOT EXISTS (SELECT 1 FROM _prior_events AS p WHERE p.event_id = s.event_id);

INSERT INTO core.events BY NAME SELECT * FROM _new_events;

-- Every core event of the touched cases (for the cases and the mining index).
CREATE OR REPLACE TEMP VIEW _case_events AS
SELECT * FROM _prior_events UNION ALL BY NAME SELECT * FROM _new_events;

CREATE OR REPLACE TEMP TABLE _cases_in_core AS SELECT DISTINCT case_id FROM _case_events;

CREATE OR REPLACE TEMP VIEW _reindex_events AS
SELECT * FROM _case_events WHERE case_id IN (SELECT case_id FROM _event_cases);

-- The run's new events, by case key (for core/publish_partitions.sql, read after the mining
-- index gave new cases their keys).
CREATE OR REPLACE TEMP VIEW _run_event_keys AS
SELECT k.case_key FROM _new_events JOIN core.case_keys AS k USING (case_id);
