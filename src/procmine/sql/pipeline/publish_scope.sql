-- What a run publishes into (pipeline.publish_core, step 1): the cases its staged events
-- belong to (_event_cases), every case it touched by events or by attributes alone
-- (_touched_cases; e.g. a later export that only changed a priority), and the staged event
-- ids that occur more than once (_dup_keys, by a 64-bit hash: only those rows need a window
-- to pick one copy; a hash shared by two different ids just sends both to that window).
CREATE OR REPLACE TEMP TABLE _event_cases AS
SELECT DISTINCT case_id FROM staging.events WHERE run_id = $run_id;

CREATE OR REPLACE TEMP TABLE _touched_cases AS
SELECT case_id FROM _event_cases
UNION
SELECT case_id FROM staging.cases;

CREATE OR REPLACE TEMP TABLE _dup_keys AS
SELECT hash(event_id) AS h FROM staging.events WHERE run_id = $run_id
GROUP BY 1 HAVING count(*) > 1;

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
