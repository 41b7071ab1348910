-- Record tables (procmine.sources.records), part 3: from _rec (part 2) the events (one per
-- configured timestamp column holding a value: the events placeholder is the list of event i's structs,
-- activity = $activities[i + 1], seq = i so that events at one instant keep the configured
-- order), the rows with data but no record id (staged without a case: validation
-- quarantines them) and the cases ($case_source: the source whose cases these are).
INSERT INTO staging.events BY NAME
SELECT
    pm_event_id($source, _record_id, $activities[e.i + 1], e.raw, NULL, NULL) AS event_id,
    $case_prefix || _record_id AS case_id, $case_type AS case_type,
    $activities[e.i + 1] AS activity, e.ts AS ts,
    c_resource AS resource, c_group AS org_group, NULL AS support_level,
    $source AS source, _file AS source_file, _row AS source_row, e.i AS seq,
    e.raw AS ts_raw, $run_id AS run_id
FROM (SELECT _record_id, _file, _row, c_resource, c_group, unnest({events}) AS e FROM _rec)
WHERE e.raw IS NOT NULL;

INSERT INTO staging.events BY NAME
SELECT
    pm_event_id($source, NULL, NULL, NULL, _source_file, _source_row::VARCHAR) AS event_id,
    NULL AS case_id, $case_type AS case_type, NULL AS activity, NULL::TIMESTAMPTZ AS ts,
    $source AS source, _source_file AS source_file, _source_row AS source_row, 0 AS seq,
    NULL AS ts_raw, $run_id AS run_id
FROM _rec_rows
WHERE _record_id IS NULL AND NOT _blank;

-- a later export of a record replaces what an earlier file of the run staged
DELETE FROM staging.cases
WHERE source = $case_source AND case_id IN (SELECT $case_prefix || _record_id FROM _rec);

INSERT INTO staging.cases BY NAME
SELECT
    $case_prefix || _record_id AS case_id, $case_type AS case_type, $case_source AS source,
    c_priority AS priority, c_category AS category, c_service AS service,
    c_opened_at AS opened_at, c_resolved_at AS resolved_at, c_closed_at AS closed_at,
    c_problem_id AS problem_id, c_change_id AS change_id, c_vendor AS vendor,
    {attributes} AS attributes
FROM _rec;

DROP TABLE _rec;
DROP TABLE _rec_rows;
