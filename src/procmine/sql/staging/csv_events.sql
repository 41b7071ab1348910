-- Generic CSV: one event per row. {case}, {activity}, {timestamp}, {resource}, {group},
-- {case_type} are quoted column identifiers from the source's column mapping.
INSERT INTO staging.events BY NAME
WITH rows AS (
    SELECT
        pm_null({case}, $null_tokens) AS case_id,
        pm_null({activity}, $null_tokens) AS activity,
        pm_null({timestamp}, $null_tokens) AS ts_raw,
        pm_null({resource}, $null_tokens) AS resource,
        pm_null({group}, $null_tokens) AS org_group,
        coalesce(pm_null({case_type}, $null_tokens), $case_type) AS case_type,
        _source_file, _source_row
    FROM {raw_table}
    WHERE list_contains($file_ids, _file_id)
)
SELECT
    pm_event_id($source, case_id, activity, ts_raw, resource, NULL) AS event_id,
    case_id, case_type, activity,
    pm_parse_ts(ts_raw, $date_format, $timezone) AS ts,
    resource, org_group,
    NULL AS support_level,
    $source AS source, _source_file AS source_file, _source_row AS source_row, 0 AS seq,
    ts_raw, $run_id AS run_id
FROM rows;
