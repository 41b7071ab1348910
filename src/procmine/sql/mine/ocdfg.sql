-- marts.ocdfg: the object-centric directly-follows graph, one per object type (case_type), as
-- pm4py's discover_ocdfg on procmine's OCEL 2.0 export: each object's events in the canonical
-- order (ts, source_file, source_row, seq), an edge per consecutive pair.
CREATE OR REPLACE TABLE marts.ocdfg AS
WITH events AS (
    SELECT case_id, case_type, activity, ts, source_file, source_row, seq
    FROM core.events
),
steps AS (
    SELECT case_id, case_type, activity AS from_activity,
           lead(activity) OVER (PARTITION BY case_id
                                ORDER BY ts, source_file, source_row, seq) AS to_activity
    FROM events
),
final AS (
    SELECT case_type AS object_type, from_activity, to_activity,
           count(*)::BIGINT AS count, count(DISTINCT case_id)::BIGINT AS objects
    FROM steps
    WHERE to_activity IS NOT NULL
    GROUP BY case_type, from_activity, to_activity
)
SELECT * FROM final
ORDER BY object_type, count DESC, from_activity, to_activity;
