-- ServiceNow audit snapshots, part 2: events and cases from the narrow snapshots of part 1
-- (servicenow_rows.sql: temp tables _sn_records, _sn_files, _sn_rows; rules: docs/sources.md).
-- {raw_table} is raw.<source>; the column placeholders ({number}, {state}, ...) are its
-- columns named by the source's mapping, quoted and qualified as raw_row (or NULL::VARCHAR
-- when absent);
-- {attributes} is the JSON of the case attribute columns. The stage and sourcing mapping is
-- joined in from the temp tables _stage_map(source, activity, d2c_stage) and
-- _sourcing_map(org_group, sourcing) (procmine.sources.base.create_mapping_tables).
-- Params: $file_ids (files of this load), $null_tokens, $source, $case_type, $case_prefix,
-- $date_format, $timezone, $level_pattern, $run_id.

CREATE OR REPLACE TEMP MACRO pm_sn_case_type(number, fallback) AS
    CASE
        WHEN starts_with(number, 'INC') THEN 'incident'
        WHEN starts_with(number, 'PRB') THEN 'problem'
        WHEN starts_with(number, 'CHG') THEN 'change'
        WHEN starts_with(number, 'RITM') OR starts_with(number, 'REQ') THEN 'request'
        WHEN starts_with(number, 'IMS') OR starts_with(number, 'INT') THEN 'interaction'
        ELSE fallback
    END;

-- Each assignment group of the new snapshots once: its support level and sourcing.
CREATE OR REPLACE TEMP TABLE _sn_groups AS
SELECT org_group AS grp, sourcing,
       CASE WHEN regexp_extract(org_group, $level_pattern, 1) IN ('L1', 'L2', 'L3')
            THEN regexp_extract(org_group, $level_pattern, 1) END AS support_level
FROM _sourcing_map;

-- Events: snapshots ordered by update time, mod count, load, row (k), with the last known
-- (non-null) state, group and category before each; Open (seq 0) at opened_at on the first
-- snapshot; per snapshot a state change (seq 1), Assign/Reassign (seq 2), Reclassify (seq 3).
-- Only events whose lineage row came from the new files are staged (the others were staged
-- when their file was loaded). Stage and sourcing are mapped here (no later UPDATE).
INSERT INTO staging.events BY NAME
WITH snapshots AS (
    SELECT * EXCLUDE (same, raw_rowid),
           row_number() OVER ordered AS k,
           coalesce(lag(state IGNORE NULLS) OVER ordered, 'New') AS prev_state,
           lag(grp IGNORE NULLS) OVER ordered AS prev_group,
           lag(category IGNORE NULLS) OVER ordered AS prev_category
    FROM _sn_rows
    WINDOW ordered AS (PARTITION BY rid ORDER BY updated_ts NULLS LAST, mod_n NULLS LAST,
                                                file_order, _source_row)
),
derived AS (  -- each snapshot against each kind of event (seq), kept where it happened
    SELECT file_order, _source_row, number, resource, grp, seq,
           CASE seq WHEN 0 THEN 'Open' WHEN 1 THEN state
                    WHEN 2 THEN CASE WHEN prev_group IS NULL THEN 'Assign' ELSE 'Reassign' END
                    ELSE 'Reclassify' END AS activity,
           CASE seq WHEN 0 THEN opened_raw ELSE updated_raw END AS ts_raw,
           CASE seq WHEN 0 THEN pm_parse_ts(opened_raw, $date_format, $timezone)
                    ELSE updated_ts END AS ts,
           CASE seq WHEN 0 THEN '' ELSE mod_raw END AS extra
    FROM snapshots CROSS JOIN (VALUES (0), (1), (2), (3)) AS kinds(seq)
    WHERE is_new AND CASE seq
        WHEN 0 THEN k = 1
        WHEN 1 THEN state IS NOT NULL AND state <> prev_state
        WHEN 2 THEN grp IS NOT NULL AND grp IS DISTINCT FROM prev_group
        ELSE k > 1 AND category IS NOT NULL AND category IS DISTINCT FROM prev_category
    END
)
SELECT
    pm_event_id($source, $case_prefix || number, derived.activity, ts_raw, extra, NULL)
        AS event_id,
    $case_prefix || number AS case_id, pm_sn_case_type(number, $case_type) AS case_type,
    derived.activity, ts,
    resource, derived.grp AS org_group, g.support_level,
    coalesce(g.sourcing, 'unmapped') AS sourcing, m.d2c_stage,
    $source AS source, _source_file AS source_file, _source_row AS source_row, seq,
    ts_raw, $run_id AS run_id
FROM derived
JOIN _sn_files USING (file_order)
LEFT JOIN _sn_groups AS g ON g.grp = derived.grp
LEFT JOIN _stage_map AS m ON m.source = $source AND m.activity = derived.activity;

-- A snapshot without a record number cannot be placed in a history: staged as one event
-- with an empty case id, so validation quarantines it with the reason (never dropped).
INSERT INTO staging.events BY NAME
SELECT
    pm_event_id($source, NULL, pm_null({state}, $null_tokens),
                pm_null({updated_at}, $null_tokens), _source_row::VARCHAR, NULL) AS event_id,
    NULL AS case_id, $case_type AS case_type,
    pm_null({state}, $null_tokens) AS activity,
    pm_parse_ts(pm_null({updated_at}, $null_tokens), $date_format, $timezone) AS ts,
    pm_null({resource}, $null_tokens) AS resource,
    pm_null({group}, $null_tokens) AS org_group,
    $source AS source, _source_file AS source_file, _source_row AS source_row, 1 AS seq,
    pm_null({updated_at}, $null_tokens) AS ts_raw, $run_id AS run_id
FROM {raw_table} AS raw_row
WHERE list_contains($file_ids, _file_id) AND pm_null({number}, $null_tokens) IS NULL;

-- Each record's last snapshot in the same order as the events (NULL times and mod counts
-- last).
CREATE OR REPLACE TEMP TABLE _sn_last AS
SELECT last.number, last.raw_rowid
FROM (
    SELECT arg_max({{'number': number, 'raw_rowid': raw_rowid}},
                   (updated_ts IS NULL, coalesce(updated_ts, '1970-01-01'::TIMESTAMPTZ),
                    mod_n IS NULL, coalesce(mod_n, 0), file_order, _source_row)) AS last
    FROM _sn_rows
    GROUP BY rid
);

-- Cases: attributes from each record's last snapshot (replacing any staged earlier in the
-- run: this derivation saw every snapshot).
DELETE FROM staging.cases
WHERE source = $source AND case_id IN (SELECT $case_prefix || number FROM _sn_records);

INSERT INTO staging.cases BY NAME
SELECT $case_prefix || l.number AS case_id, pm_sn_case_type(l.number, $case_type) AS case_type,
       $source AS source, r.* EXCLUDE (raw_rowid)
FROM (
    SELECT raw_row.rowid AS raw_rowid,
           pm_null({priority}, $null_tokens) AS priority,
           pm_null({category}, $null_tokens) AS category,
           pm_null({service}, $null_tokens) AS service,
           pm_parse_ts(pm_null({opened_at}, $null_tokens), $date_format, $timezone) AS opened_at,
           pm_parse_ts(pm_null({resolved_at}, $null_tokens), $date_format, $timezone)
               AS resolved_at,
           pm_parse_ts(pm_null({closed_at}, $null_tokens), $date_format, $timezone) AS closed_at,
           pm_bool(pm_null({sla_met}, $null_tokens)) AS sla_met,
           try_cast(pm_number(pm_null({reopen_count}, $null_tokens)) AS INTEGER) AS reopen_count,
           pm_null({problem_id}, $null_tokens) AS problem_id,
           pm_null({change_id}, $null_tokens) AS change_id,
           pm_null({vendor}, $null_tokens) AS vendor,
           {attributes} AS attributes
    FROM {raw_table} AS raw_row
    WHERE raw_row.rowid IN (SELECT raw_rowid FROM _sn_last)
) AS r
JOIN _sn_last AS l USING (raw_rowid);

DROP TABLE _sn_last;
DROP TABLE _sn_groups;
DROP TABLE _sn_rows;
DROP TABLE _sn_files;
DROP TABLE _sn_records;
