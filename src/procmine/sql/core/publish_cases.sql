-- Step 3 of publishing: core.cases for the touched cases, from _case_events (every core event
-- of the touched cases, the run's new ones included) and _cases_in_core (touched cases with
-- events in core). The adapter's latest attributes replace a case's row; cases without
-- attributes this run are derived from their events. A case's sourcing is that of the last
-- group that held it: set as rows are inserted, then on the other touched rows that differ
-- (core/publish_cases_sourcing.sql; not needed when core.cases was empty: every row is
-- then inserted here, and an UPDATE of every case costs more than the insert).
CREATE OR REPLACE TEMP TABLE _last_sourcing AS
SELECT case_id, arg_max(sourcing, (ts, source_file, source_row, seq)) AS sourcing  -- canonical order
FROM _case_events
WHERE org_group IS NOT NULL
GROUP BY case_id;

DELETE FROM core.cases AS c WHERE EXISTS (
    SELECT 1 FROM staging.cases AS s WHERE s.case_id = c.case_id AND s.source = c.source
);
-- staging.cases rows of a (source, case) given more than once (their hashes are in
-- _case_dups, made by pipeline.publish_core): only they need ranking. The sourcing is looked
-- up per row (DuckDB then hashes the narrow _last_sourcing, not the wide staging rows).
INSERT INTO core.cases BY NAME
SELECT s.* REPLACE (coalesce((SELECT l.sourcing FROM _last_sourcing AS l
                              WHERE l.case_id = s.case_id), s.sourcing) AS sourcing)
FROM (
    SELECT * FROM staging.cases WHERE hash(source, case_id) NOT IN (SELECT h FROM _case_dups)
    UNION ALL
    SELECT * EXCLUDE (n) FROM (
        SELECT *, row_number() OVER (PARTITION BY source, case_id
                                     ORDER BY opened_at NULLS LAST) AS n
        FROM staging.cases WHERE hash(source, case_id) IN (SELECT h FROM _case_dups)
    ) WHERE n = 1
) AS s
WHERE s.case_id IN (SELECT case_id FROM _cases_in_core);

-- The events of touched (source, case) pairs the adapter gave no attributes this run: their
-- times come from all their events again, so that a later export closing a case updates it
-- (incremental = full rebuild).
CREATE OR REPLACE TEMP TABLE _derived_times AS
SELECT source, case_id, any_value(case_type) AS case_type, min(ts) AS opened_at,
       max(ts) FILTER (WHERE d2c_stage = 'resolve') AS resolved_at,
       max(ts) FILTER (WHERE d2c_stage = 'close') AS closed_at
FROM _case_events AS e
WHERE NOT EXISTS (SELECT 1 FROM staging.cases AS s WHERE s.case_id = e.case_id
                                                      AND s.source = e.source)
GROUP BY source, case_id;

-- Cases with no row yet: derived from their events (a case id with no adapter attributes in
-- any source, so all its events are in _derived_times).
INSERT INTO core.cases BY NAME
SELECT d.*, l.sourcing
FROM (
    SELECT case_id, any_value(case_type) AS case_type, any_value(source) AS source,
           min(opened_at) AS opened_at, max(resolved_at) AS resolved_at,
           max(closed_at) AS closed_at
    FROM _derived_times
    WHERE case_id NOT IN (SELECT case_id FROM core.cases  -- (scan core.cases, hash the few)
                          WHERE case_id IN (SELECT case_id FROM _derived_times))
    GROUP BY case_id
) AS d
LEFT JOIN _last_sourcing AS l USING (case_id);

UPDATE core.cases AS c
SET opened_at = d.opened_at, resolved_at = d.resolved_at, closed_at = d.closed_at
FROM _derived_times AS d
WHERE c.case_id = d.case_id AND c.source = d.source;

-- The cases this run gave events: core/event_index.sql re-codes them (mining index) from
-- _reindex_events.
CREATE OR REPLACE TEMP TABLE _reindex_cases AS SELECT case_id FROM _event_cases;
