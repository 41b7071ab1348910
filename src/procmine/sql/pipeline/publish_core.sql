-- Move this run's validated staged events into core (de-duplicated by event_id), refresh the
-- cases they touch, and empty staging. Quarantined rows were already removed from staging.
INSERT INTO core.events BY NAME
SELECT event_id, case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, source_file, source_row, seq
FROM (
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY source_file, source_row, seq) AS n
    FROM staging.events
    WHERE run_id = $run_id
) AS s
WHERE n = 1 AND NOT EXISTS (SELECT 1 FROM core.events AS c WHERE c.event_id = s.event_id);

-- Cases: the adapter's latest attributes for the cases this run touched (by events or by
-- attributes alone, e.g. a later export that only changed a priority) that have events in core.
CREATE OR REPLACE TEMP TABLE _touched_cases AS
SELECT DISTINCT case_id FROM staging.events WHERE run_id = $run_id
UNION
SELECT DISTINCT case_id FROM staging.cases;

DELETE FROM core.cases AS c WHERE EXISTS (
    SELECT 1 FROM staging.cases AS s WHERE s.case_id = c.case_id AND s.source = c.source
);
INSERT INTO core.cases BY NAME
SELECT * EXCLUDE (n) FROM (
    SELECT *, row_number() OVER (PARTITION BY source, case_id ORDER BY opened_at NULLS LAST) AS n
    FROM staging.cases
) WHERE n = 1 AND case_id IN (SELECT case_id FROM core.events);

-- Cases an adapter gave no attributes for: derived from their events.
INSERT INTO core.cases BY NAME
SELECT case_id, any_value(case_type) AS case_type, any_value(source) AS source,
       min(ts) AS opened_at,
       max(ts) FILTER (WHERE d2c_stage = 'resolve') AS resolved_at,
       max(ts) FILTER (WHERE d2c_stage = 'close') AS closed_at
FROM core.events
WHERE case_id IN (SELECT case_id FROM _touched_cases)
  AND case_id NOT IN (SELECT case_id FROM core.cases)
GROUP BY case_id;

-- Derived cases this run touched (no adapter attributes this run): their times again from all
-- their events, so that a later export closing a case updates it (incremental = full rebuild).
UPDATE core.cases AS c
SET opened_at = d.opened_at, resolved_at = d.resolved_at, closed_at = d.closed_at
FROM (
    SELECT source, case_id, min(ts) AS opened_at,
           max(ts) FILTER (WHERE d2c_stage = 'resolve') AS resolved_at,
           max(ts) FILTER (WHERE d2c_stage = 'close') AS closed_at
    FROM core.events
    WHERE case_id IN (SELECT case_id FROM _touched_cases)
    GROUP BY source, case_id
) AS d
WHERE c.case_id = d.case_id AND c.source = d.source
  AND NOT EXISTS (SELECT 1 FROM staging.cases AS s WHERE s.case_id = c.case_id
                                                      AND s.source = c.source);

-- A case's sourcing: that of the last group that held it.
UPDATE core.cases AS c
SET sourcing = last.sourcing
FROM (
    SELECT case_id, arg_max(sourcing, ts) AS sourcing
    FROM core.events
    WHERE org_group IS NOT NULL AND case_id IN (SELECT case_id FROM _touched_cases)
    GROUP BY case_id
) AS last
WHERE c.case_id = last.case_id;

-- The cases this run gave events: pipeline/event_index.sql re-codes them (mining index).
CREATE OR REPLACE TEMP TABLE _reindex_cases AS
SELECT DISTINCT case_id FROM staging.events WHERE run_id = $run_id;

DELETE FROM staging.events WHERE run_id = $run_id;
DELETE FROM staging.cases;
