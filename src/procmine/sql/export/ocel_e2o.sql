-- OCEL 2.0 export, part 1: every core event with its OCEL event and object (_ocel_e2o).
-- An event is one OCEL event related to its case, the object, with qualifier $qualifier;
-- events loaded from an OCEL file (the temp table _ocel_lineage: source, source_file,
-- source_row -> ocel_event_id, qualifier, from the raw rows of ocel2 sources) get their
-- file's event id and qualifier back, so the events flattened per object are one event again.
-- An OCEL event id that files loaded into different sources or from different files share
-- is written as "<source>:<file>:<id>" (distinct events must not merge).
-- `rank` is the canonical order (ts, source_file, source_row, seq), in which the export
-- writes its rows; `tie` the place of the event among its object's events at the same time
-- (0, 1, ...): OCEL orders events by time alone, so the export writes it as nanoseconds below
-- the store's microseconds (ocel_events.sql), and an OCEL reader sees procmine's order.
-- Params: $qualifier.
WITH events AS (
    SELECT event_id, case_id, case_type, activity, ts, resource, org_group, support_level,
           sourcing, d2c_stage, source, source_file, source_row, seq
    FROM core.events
),
lineage AS (
    SELECT source, source_file, source_row, activity,
           any_value(ocel_event_id) AS ocel_event_id, any_value(qualifier) AS qualifier
    FROM _ocel_lineage
    GROUP BY source, source_file, source_row, activity
),
shared AS (  -- event ids of more than one loaded file (e.g. pm4py numbers events 0, 1, ...)
    SELECT ocel_event_id
    FROM lineage
    GROUP BY ocel_event_id
    HAVING count(DISTINCT (source, source_file)) > 1
),
linked AS (
    SELECT CASE WHEN l.ocel_event_id IS NULL THEN e.event_id
                WHEN l.ocel_event_id IN (SELECT ocel_event_id FROM shared)
                THEN concat_ws(':', l.source, l.source_file, l.ocel_event_id)
                ELSE l.ocel_event_id END AS ocel_id,
           coalesce(l.qualifier, $qualifier) AS qualifier, e.*
    FROM events AS e
    LEFT JOIN lineage AS l USING (source, source_file, source_row, activity)
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY ts, source_file, source_row, seq, case_id) AS rank
    FROM linked
),
final AS (
    SELECT *, row_number() OVER (PARTITION BY case_id, ts ORDER BY rank) - 1 AS tie
    FROM ranked
)
SELECT * FROM final
