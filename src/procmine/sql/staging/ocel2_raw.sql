-- OCEL 2.0 SQLite, the file's tables copied as they are into temp tables (sources/ocel2.py:
-- _ocel_in_e2o, _ocel_in_event, _ocel_in_object, _ocel_in_time, each with pos = row order)
-- -> the rows for raw.<source> (_procmine_ocel_batch): one per event_object row (its
-- position is _source_row) with the event's type and time and the object's type, then one
-- per event related to no object. An id twice in a table: its first row counts.
CREATE OR REPLACE TEMP TABLE _procmine_ocel_batch AS
WITH e2o AS (
    SELECT pos, ocel_event_id, ocel_object_id, ocel_qualifier FROM _ocel_in_e2o
),
events AS (
    SELECT ocel_id, ocel_type, pos FROM _ocel_in_event
    QUALIFY row_number() OVER (PARTITION BY ocel_id ORDER BY pos) = 1
),
times AS (
    SELECT ocel_id, ocel_time FROM _ocel_in_time
    QUALIFY row_number() OVER (PARTITION BY ocel_id ORDER BY pos) = 1
),
objects AS (
    SELECT ocel_id, ocel_type FROM _ocel_in_object
    QUALIFY row_number() OVER (PARTITION BY ocel_id ORDER BY pos) = 1
),
related AS (
    SELECT e2o.pos AS _source_row, e2o.ocel_event_id, e2o.ocel_object_id, e2o.ocel_qualifier,
           e.ocel_type AS ocel_activity, t.ocel_time, o.ocel_type AS ocel_object_type
    FROM e2o
    LEFT JOIN events AS e ON e.ocel_id = e2o.ocel_event_id
    LEFT JOIN times AS t ON t.ocel_id = e2o.ocel_event_id
    LEFT JOIN objects AS o ON o.ocel_id = e2o.ocel_object_id
),
unrelated AS (
    SELECT (SELECT count(*) FROM e2o) + row_number() OVER (ORDER BY e.pos) AS _source_row,
           e.ocel_id AS ocel_event_id, NULL::VARCHAR AS ocel_object_id,
           NULL::VARCHAR AS ocel_qualifier, e.ocel_type AS ocel_activity, t.ocel_time,
           NULL::VARCHAR AS ocel_object_type
    FROM events AS e
    LEFT JOIN times AS t USING (ocel_id)
    WHERE e.ocel_id NOT IN (SELECT ocel_event_id FROM e2o WHERE ocel_event_id IS NOT NULL)
),
final AS (
    SELECT * FROM related
    UNION ALL
    SELECT * FROM unrelated
)
SELECT * FROM final;
