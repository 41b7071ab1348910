-- A run whose staged event ids are all distinct (no hash in _dup_keys): _staged_once is the
-- staged rows as they are, a plain scan, so that inserting them into core.events runs in
-- parallel (the de-duplicating version of core/publish_scope.sql joins to _dup_keys, and
-- DuckDB then inserts on one thread).
CREATE OR REPLACE TEMP MACRO _staged_once(run) AS TABLE
SELECT event_id, case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, source_file, source_row, seq
FROM staging.events
WHERE run_id = run;
