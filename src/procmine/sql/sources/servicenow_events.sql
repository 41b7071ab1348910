-- ServiceNow audit snapshots -> canonical events and cases (rules: docs/sources.md).
-- {raw_table} and the column placeholders ({number}, {state}, ...) are quoted identifiers
-- from the source's column mapping (or NULL::VARCHAR when the column is absent); {content}
-- hashes a row's exported values; {attributes} is the JSON of the case attribute columns.
-- Params: $file_ids (files of this load), $null_tokens, $source, $case_type, $case_prefix,
-- $date_format, $timezone, $level_pattern, $run_id.

-- Records that appear in the new files (their whole history is re-derived).
CREATE OR REPLACE TEMP TABLE _sn_records AS
SELECT DISTINCT pm_null({number}, $null_tokens) AS number
FROM {raw_table}
WHERE list_contains($file_ids, _file_id) AND pm_null({number}, $null_tokens) IS NOT NULL;

-- All raw snapshots of those records (earlier files too); a snapshot exported twice counts
-- once, attributed to its earliest-loaded copy; then ordered by update time, mod count, row
-- (k), with the last known (non-null) state, group and category before each snapshot. Only
-- the columns events need are kept; case attributes are read back for the last snapshots.
CREATE OR REPLACE TEMP TABLE _sn_changes AS
SELECT *,
       row_number() OVER ordered AS k,
       count(*) OVER (PARTITION BY number) AS n_rows,
       coalesce(last_value(state IGNORE NULLS) OVER before, 'New') AS prev_state,
       last_value(grp IGNORE NULLS) OVER before AS prev_group,
       last_value(category IGNORE NULLS) OVER before AS prev_category,
       $case_prefix || number AS case_id,
       CASE
           WHEN starts_with(number, 'INC') THEN 'incident'
           WHEN starts_with(number, 'PRB') THEN 'problem'
           WHEN starts_with(number, 'CHG') THEN 'change'
           WHEN starts_with(number, 'RITM') OR starts_with(number, 'REQ') THEN 'request'
           WHEN starts_with(number, 'IMS') OR starts_with(number, 'INT') THEN 'interaction'
           ELSE $case_type
       END AS case_type,
       CASE WHEN regexp_extract(grp, $level_pattern, 1) IN ('L1', 'L2', 'L3')
            THEN regexp_extract(grp, $level_pattern, 1) END AS support_level
FROM (
    SELECT * EXCLUDE (content),
           pm_parse_ts(updated_raw, $date_format, $timezone) AS updated_ts,
           try_cast(mod_raw AS BIGINT) AS mod_n
    FROM (
        SELECT _file_id, _source_file, _source_row, _loaded_at,
               pm_null({number}, $null_tokens) AS number,
               pm_null({state}, $null_tokens) AS state,
               pm_null({updated_at}, $null_tokens) AS updated_raw,
               pm_null({mod_count}, $null_tokens) AS mod_raw,
               pm_null({opened_at}, $null_tokens) AS opened_raw,
               pm_null({group}, $null_tokens) AS grp,
               pm_null({resource}, $null_tokens) AS resource,
               pm_null({category}, $null_tokens) AS category,
               {content} AS content
        FROM {raw_table}
        WHERE pm_null({number}, $null_tokens) IN (SELECT number FROM _sn_records)
    )
    QUALIFY row_number() OVER (PARTITION BY number, content
                               ORDER BY _loaded_at, _source_file, _source_row) = 1
)
WINDOW ordered AS (PARTITION BY number ORDER BY updated_ts NULLS LAST, mod_n NULLS LAST,
                                               _loaded_at, _source_file, _source_row),
       before AS (PARTITION BY number ORDER BY updated_ts NULLS LAST, mod_n NULLS LAST,
                                              _loaded_at, _source_file, _source_row
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING);

-- Events: Open (seq 0) at opened_at on the first snapshot; per snapshot a state change
-- (seq 1), Assign/Reassign (seq 2), Reclassify (seq 3). Only events whose lineage row came
-- from the new files are staged (the others were staged when their file was loaded).
INSERT INTO staging.events BY NAME
WITH snapshots AS (
    SELECT _file_id, _source_file, _source_row, case_id, case_type, resource, grp,
           support_level, k, state, prev_state, prev_group, category, prev_category,
           opened_raw, updated_raw, updated_ts, mod_raw
    FROM _sn_changes
    WHERE list_contains($file_ids, _file_id)
),
derived AS (
    SELECT *, 'Open' AS activity, opened_raw AS ts_raw,
           pm_parse_ts(opened_raw, $date_format, $timezone) AS ts, '' AS extra, 0 AS seq
    FROM snapshots WHERE k = 1
    UNION ALL BY NAME
    SELECT *, state AS activity, updated_raw AS ts_raw, updated_ts AS ts, mod_raw AS extra,
           1 AS seq
    FROM snapshots WHERE state IS NOT NULL AND state <> prev_state
    UNION ALL BY NAME
    SELECT *, CASE WHEN prev_group IS NULL THEN 'Assign' ELSE 'Reassign' END AS activity,
           updated_raw AS ts_raw, updated_ts AS ts, mod_raw AS extra, 2 AS seq
    FROM snapshots WHERE grp IS NOT NULL AND grp IS DISTINCT FROM prev_group
    UNION ALL BY NAME
    SELECT *, 'Reclassify' AS activity, updated_raw AS ts_raw, updated_ts AS ts,
           mod_raw AS extra, 3 AS seq
    FROM snapshots
    WHERE k > 1 AND category IS NOT NULL AND category IS DISTINCT FROM prev_category
)
SELECT
    pm_event_id($source, case_id, activity, ts_raw, extra) AS event_id,
    case_id, case_type, activity, ts,
    resource, grp AS org_group, support_level,
    $source AS source, _source_file AS source_file, _source_row AS source_row, seq,
    ts_raw, $run_id AS run_id
FROM derived;

-- A snapshot without a record number cannot be placed in a history: staged as one event
-- with an empty case id, so validation quarantines it with the reason (never dropped).
INSERT INTO staging.events BY NAME
SELECT
    pm_event_id($source, NULL, pm_null({state}, $null_tokens),
                pm_null({updated_at}, $null_tokens), _source_row::VARCHAR) AS event_id,
    NULL AS case_id, $case_type AS case_type,
    pm_null({state}, $null_tokens) AS activity,
    pm_parse_ts(pm_null({updated_at}, $null_tokens), $date_format, $timezone) AS ts,
    pm_null({resource}, $null_tokens) AS resource,
    pm_null({group}, $null_tokens) AS org_group,
    $source AS source, _source_file AS source_file, _source_row AS source_row, 1 AS seq,
    pm_null({updated_at}, $null_tokens) AS ts_raw, $run_id AS run_id
FROM {raw_table}
WHERE list_contains($file_ids, _file_id) AND pm_null({number}, $null_tokens) IS NULL;

-- Cases: attributes from each record's last snapshot (replacing any staged earlier in the
-- run: this derivation saw every snapshot).
DELETE FROM staging.cases
WHERE source = $source AND case_id IN (SELECT $case_prefix || number FROM _sn_records);

INSERT INTO staging.cases BY NAME
SELECT c.case_id, c.case_type, $source AS source, r.* EXCLUDE (_file_id, _source_row)
FROM (
    SELECT _file_id, _source_row,
           pm_null({priority}, $null_tokens) AS priority,
           pm_null({category}, $null_tokens) AS category,
           pm_null({service}, $null_tokens) AS service,
           pm_parse_ts(pm_null({opened_at}, $null_tokens), $date_format, $timezone) AS opened_at,
           pm_parse_ts(pm_null({resolved_at}, $null_tokens), $date_format, $timezone)
               AS resolved_at,
           pm_parse_ts(pm_null({closed_at}, $null_tokens), $date_format, $timezone) AS closed_at,
           CASE WHEN lower(pm_null({sla_met}, $null_tokens)) IN ('true', 't', '1', 'yes') THEN true
                WHEN lower(pm_null({sla_met}, $null_tokens)) IN ('false', 'f', '0', 'no')
                THEN false END AS sla_met,
           try_cast(pm_null({reopen_count}, $null_tokens) AS INTEGER) AS reopen_count,
           pm_null({problem_id}, $null_tokens) AS problem_id,
           pm_null({change_id}, $null_tokens) AS change_id,
           pm_null({vendor}, $null_tokens) AS vendor,
           {attributes} AS attributes
    FROM {raw_table} AS raw_row
    WHERE EXISTS (SELECT 1 FROM _sn_changes AS l
                  WHERE l.k = l.n_rows AND l._file_id = raw_row._file_id
                    AND l._source_row = raw_row._source_row)
) AS r
JOIN _sn_changes AS c ON c._file_id = r._file_id AND c._source_row = r._source_row
WHERE c.k = c.n_rows;

DROP TABLE _sn_changes;
DROP TABLE _sn_records;
