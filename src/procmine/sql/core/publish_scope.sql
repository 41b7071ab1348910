-- What a run publishes into (pipeline.publish_core, step 1): the cases its staged events
-- belong to (_event_cases). The staged event ids that occur more than once are in _dup_keys
-- (by a 64-bit hash, found by pipeline.publish_core with validation.repeats: only those rows
-- need a window to pick one copy; a hash shared by two different ids just sends both to that
-- window). When there are none, core/staged_unique.sql replaces _staged_once by a plain
-- scan (which DuckDB inserts in parallel).
CREATE OR REPLACE TEMP TABLE _event_cases AS
SELECT DISTINCT case_id FROM staging.events WHERE run_id = $run_id;

-- The run's staged events, each event_id once: its first copy by (source_file, source_row,
-- seq). Copies within one file were quarantined by validation (event_id_unique); what is left
-- are the same events in overlapping files.
CREATE OR REPLACE TEMP MACRO _staged_once(run) AS TABLE
SELECT event_id, case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, source_file, source_row, seq
FROM staging.events
WHERE run_id = run AND hash(event_id) NOT IN (SELECT h FROM _dup_keys)
UNION ALL
SELECT event_id, case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, source_file, source_row, seq
FROM (
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY source_file, source_row, seq) AS n
    FROM staging.events
    WHERE run_id = run AND hash(event_id) IN (SELECT h FROM _dup_keys)
)
WHERE n = 1;
