-- BPIC 2013 (Volvo IT) activity log -> canonical events and cases: one event per row.
-- {raw_table} and the column placeholders are quoted identifiers from the source's column
-- mapping (NULL::VARCHAR when absent). {activity} is NULL::VARCHAR unless columns.activity is
-- set, and then the activity is "Status-Sub Status". Temp table _bpic_sourcing(org_group,
-- org_line, sourcing) holds the sourcing decided by procmine.sources.bpic2013.
-- Params: $file_ids, $null_tokens, $source, $case_type, $case_prefix, $date_format,
-- $timezone, $level_pattern, $resolve_activities, $close_activities, $run_id.

-- A list without repeats, in order of first appearance.
CREATE OR REPLACE TEMP MACRO pm_first_seen(l) AS
    list_filter(l, lambda x, i: list_position(l, x) = i);

CREATE OR REPLACE TEMP TABLE _bpic_rows AS
SELECT
    _file_id, _source_file, _source_row,
    pm_null({case}, $null_tokens) AS number,
    coalesce(pm_null({activity}, $null_tokens),
             pm_null({status}, $null_tokens) || '-' || pm_null({sub_status}, $null_tokens))
        AS activity,
    pm_null({timestamp}, $null_tokens) AS ts_raw,
    pm_null({resource}, $null_tokens) AS resource,
    pm_null({group}, $null_tokens) AS org_group,
    pm_null({level}, $null_tokens) AS level_raw,
    pm_null({org_line}, $null_tokens) AS org_line,
    pm_null({function_div}, $null_tokens) AS function_div,
    pm_null({product}, $null_tokens) AS product,
    pm_null({country}, $null_tokens) AS country,
    pm_null({owner_country}, $null_tokens) AS owner_country,
    pm_null({impact}, $null_tokens) AS impact
FROM {raw_table}
WHERE pm_null({case}, $null_tokens) IN (
    SELECT pm_null({case}, $null_tokens) FROM {raw_table} WHERE list_contains($file_ids, _file_id)
) OR (list_contains($file_ids, _file_id) AND pm_null({case}, $null_tokens) IS NULL);

-- One event per row of the new files. Identical rows of one file share a key here and are
-- told apart by their occurrence (validation/occurrences.sql); the same row in an earlier,
-- overlapping file of this run is dropped when publishing (core/publish_scope.sql).
INSERT INTO staging.events BY NAME
SELECT
    r.event_id, r.case_id, $case_type AS case_type, r.activity,
    pm_parse_ts(r.ts_raw, $date_format, $timezone) AS ts,
    r.resource, r.org_group,
    CASE WHEN regexp_extract(r.level_raw, $level_pattern, 1) IN ('L1', 'L2', 'L3')
         THEN regexp_extract(r.level_raw, $level_pattern, 1) END AS support_level,
    m.sourcing,
    $source AS source, r._source_file AS source_file, r._source_row AS source_row, 0 AS seq,
    r.ts_raw, $run_id AS run_id
FROM (
    SELECT *, $case_prefix || number AS case_id,
           pm_event_id($source, $case_prefix || number, activity, ts_raw,
                       resource, org_group) AS event_id
    FROM _bpic_rows
    WHERE list_contains($file_ids, _file_id)
) AS r
LEFT JOIN _bpic_sourcing AS m
       ON m.org_group IS NOT DISTINCT FROM r.org_group AND m.org_line IS NOT DISTINCT FROM r.org_line;

-- Cases, over all rows of the cases in the new files: the latest impact is the priority;
-- product and country are case-level; org lines, function divisions and owner countries
-- the case passed through are kept as lists in order of first appearance. "Latest" is by
-- (time, file, row): rows at the same time are taken in the export's order.
DELETE FROM staging.cases
WHERE source = $source AND case_id IN (SELECT DISTINCT $case_prefix || number FROM _bpic_rows);

INSERT INTO staging.cases BY NAME
WITH timed AS (
    SELECT *, pm_parse_ts(ts_raw, $date_format, $timezone) AS ts
    FROM _bpic_rows WHERE number IS NOT NULL
)
SELECT
    $case_prefix || number AS case_id, $case_type AS case_type, $source AS source,
    arg_max(impact, (ts, _source_file, _source_row)) AS priority,
    min(ts) AS opened_at,
    max(ts) FILTER (WHERE list_contains($resolve_activities, activity)) AS resolved_at,
    max(ts) FILTER (WHERE list_contains($close_activities, activity)) AS closed_at,
    to_json(struct_pack(
        impact := arg_max(impact, (ts, _source_file, _source_row)),
        product := arg_max(product, (ts, _source_file, _source_row)),
        country := arg_max(country, (ts, _source_file, _source_row)),
        org_lines := pm_first_seen(list(org_line ORDER BY ts, _source_file, _source_row)
                                   FILTER (WHERE org_line IS NOT NULL)),
        function_divs := pm_first_seen(list(function_div ORDER BY ts, _source_file, _source_row)
                                       FILTER (WHERE function_div IS NOT NULL)),
        owner_countries := pm_first_seen(list(owner_country ORDER BY ts, _source_file, _source_row)
                                         FILTER (WHERE owner_country IS NOT NULL))
    )) AS attributes
FROM timed
GROUP BY number;

DROP TABLE _bpic_rows;
