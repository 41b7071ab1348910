-- XES events (rows of raw.xes: one per event, trace attributes prefixed "case:") ->
-- canonical events and cases. {raw_table} and the column placeholders are quoted identifiers
-- from the source's column mapping (NULL::VARCHAR when absent); {attributes} is the JSON of
-- an event's trace attributes.
-- Params: $file_ids, $null_tokens, $source, $case_type, $case_prefix, $date_format,
-- $timezone, $resolve_activities, $close_activities, $run_id.

-- The events of the cases in the new files (earlier files too: a case may span files).
CREATE OR REPLACE TEMP TABLE _xes_rows AS
SELECT
    list_contains($file_ids, _file_id) AS is_new, _source_file, _source_row,
    $case_prefix || pm_null({case}, $null_tokens) AS case_id,
    coalesce(pm_null({case_type}, $null_tokens), $case_type) AS case_type,
    pm_null({activity}, $null_tokens) AS activity,
    pm_null({timestamp}, $null_tokens) AS ts_raw,
    pm_parse_ts(pm_null({timestamp}, $null_tokens), $date_format, $timezone) AS ts,
    pm_null({resource}, $null_tokens) AS resource,
    pm_null({group}, $null_tokens) AS org_group,
    CASE WHEN pm_null({level}, $null_tokens) IN ('L1', 'L2', 'L3')
         THEN pm_null({level}, $null_tokens) END AS support_level,
    pm_null({priority}, $null_tokens) AS priority,
    pm_null({category}, $null_tokens) AS category,
    pm_null({service}, $null_tokens) AS service,
    {attributes} AS attributes
FROM {raw_table}
WHERE pm_null({case}, $null_tokens) IN (
    SELECT pm_null({case}, $null_tokens) FROM {raw_table} WHERE list_contains($file_ids, _file_id)
) OR (list_contains($file_ids, _file_id) AND pm_null({case}, $null_tokens) IS NULL);

-- One event per XES <event> element. Identical events of one trace share a key here and
-- are told apart by their occurrence in file order (validation/occurrences.sql); the same
-- event in an earlier, overlapping file of this run is dropped when publishing.
INSERT INTO staging.events BY NAME
SELECT
    pm_event_id($source, case_id, activity, ts_raw, resource, org_group) AS event_id,
    case_id, case_type, activity, ts, resource, org_group, support_level,
    $source AS source, _source_file AS source_file, _source_row AS source_row, 0 AS seq,
    ts_raw, $run_id AS run_id
FROM _xes_rows
WHERE is_new;

-- Cases: trace attributes, and opened/resolved/closed times from the events.
DELETE FROM staging.cases
WHERE source = $source AND case_id IN (SELECT case_id FROM _xes_rows);

INSERT INTO staging.cases BY NAME
SELECT
    case_id, any_value(case_type) AS case_type, $source AS source,
    any_value(priority) AS priority, any_value(category) AS category,
    any_value(service) AS service,
    min(ts) AS opened_at,
    max(ts) FILTER (WHERE list_contains($resolve_activities, activity)) AS resolved_at,
    max(ts) FILTER (WHERE list_contains($close_activities, activity)) AS closed_at,
    any_value(attributes) AS attributes
FROM _xes_rows
WHERE case_id IS NOT NULL
GROUP BY case_id;

DROP TABLE _xes_rows;
