-- OCEL 2.0 (raw.<source>: one row per event-object relation, sources/ocel2.py) -> canonical
-- events, one per (event, object of a case type), and cases = those objects.
-- {raw_table} is raw.<source>, {objects_table} raw.<source>_objects (quoted identifiers).
-- Params: $file_ids, $null_tokens, $source, $case_types (empty: every object type),
-- $case_prefix, $date_format, $timezone, $resolve_activities, $close_activities, $run_id.

-- The relations of the new files whose object is of a case type (one per event and object:
-- a second qualifier of the same pair is kept in raw only), and events related to no object.
CREATE OR REPLACE TEMP TABLE _ocel_rows AS
WITH relations AS (
    SELECT _file_id, _source_file, _source_row,
           pm_null(ocel_event_id, $null_tokens) AS ocel_event_id,
           pm_null(ocel_object_id, $null_tokens) AS object_id,
           pm_null(ocel_object_type, $null_tokens) AS object_type,
           pm_null(ocel_activity, $null_tokens) AS activity,
           pm_null(ocel_time, $null_tokens) AS ts_raw
    FROM {raw_table}
    WHERE list_contains($file_ids, _file_id)
),
flattened AS (
    SELECT *
    FROM relations
    WHERE object_id IS NULL OR len($case_types) = 0 OR list_contains($case_types, object_type)
    QUALIFY object_id IS NULL
         OR row_number() OVER (PARTITION BY _file_id, ocel_event_id, object_id
                               ORDER BY _source_row) = 1
),
final AS (
    SELECT _source_file, _source_row, ocel_event_id, activity, ts_raw,
           $case_prefix || object_id AS case_id,
           coalesce(object_type, 'object') AS case_type, object_id,
           pm_parse_ts(ts_raw, $date_format, $timezone) AS ts
    FROM flattened
)
SELECT * FROM final;

INSERT INTO staging.events BY NAME
SELECT
    pm_event_id($source, case_id, activity, ts_raw, ocel_event_id, NULL) AS event_id,
    case_id, case_type, activity, ts,
    $source AS source, _source_file AS source_file, _source_row AS source_row, 0 AS seq,
    ts_raw, $run_id AS run_id
FROM _ocel_rows;

-- Cases: the objects of the new files' events, with their attributes (the object table of
-- the latest file that has them) and opened/resolved/closed times from their events in every
-- file loaded (an object may span files; this row replaces the case's row in core).
DELETE FROM staging.cases
WHERE source = $source AND case_id IN (SELECT case_id FROM _ocel_rows);

INSERT INTO staging.cases BY NAME
WITH touched AS (
    SELECT DISTINCT object_id FROM _ocel_rows WHERE object_id IS NOT NULL
),
objects AS (
    SELECT ocel_object_id AS object_id, arg_max(ocel_attributes, _loaded_at) AS attributes
    FROM {objects_table}
    WHERE ocel_object_id IN (SELECT object_id FROM touched)
    GROUP BY ocel_object_id
),
relations AS (
    SELECT pm_null(ocel_object_id, $null_tokens) AS object_id,
           pm_null(ocel_object_type, $null_tokens) AS object_type,
           pm_null(ocel_activity, $null_tokens) AS activity,
           pm_parse_ts(pm_null(ocel_time, $null_tokens), $date_format, $timezone) AS ts
    FROM {raw_table}
    WHERE pm_null(ocel_object_id, $null_tokens) IN (SELECT object_id FROM touched)
),
events AS (
    SELECT $case_prefix || object_id AS case_id, object_id,
           coalesce(any_value(object_type), 'object') AS case_type, min(ts) AS opened_at,
           max(ts) FILTER (WHERE list_contains($resolve_activities, activity)) AS resolved_at,
           max(ts) FILTER (WHERE list_contains($close_activities, activity)) AS closed_at
    FROM relations
    GROUP BY object_id
),
final AS (
    SELECT e.case_id, e.case_type, $source AS source, e.opened_at, e.resolved_at, e.closed_at,
           o.attributes::JSON ->> 'priority' AS priority,
           o.attributes::JSON ->> 'category' AS category,
           o.attributes::JSON ->> 'service' AS service,
           o.attributes::JSON AS attributes
    FROM events AS e
    LEFT JOIN objects AS o USING (object_id)
)
SELECT * FROM final;

DROP TABLE _ocel_rows;
