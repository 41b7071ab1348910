-- marts.ocdfg: the object-centric directly-follows graph, one per object type (the case's
-- case_type), as pm4py's discover_ocdfg on procmine's OCEL 2.0 export: each object's (case's)
-- steps in the canonical order, i.e. marts.transitions split by record type.
-- Inputs: _mine_steps (variants.py: ci, from_a, to_a, has_next), _mine_activity (code, name),
-- _mine_case_id (events.py: ci, case_id), core.cases.
WITH steps AS (
    SELECT ci, from_a, to_a, has_next FROM _mine_steps
),
active_steps AS (
    SELECT ci, from_a, to_a FROM steps WHERE has_next
),
activities AS NOT MATERIALIZED (
    SELECT code, name FROM _mine_activity
),
cases AS (
    SELECT case_id, case_type FROM core.cases
),
case_ids AS (
    SELECT ci, case_id FROM _mine_case_id
),
case_types AS (
    SELECT i.ci, coalesce(c.case_type, 'unknown') AS case_type
    FROM case_ids AS i
    LEFT JOIN (SELECT case_id, any_value(case_type) AS case_type
               FROM cases GROUP BY case_id) AS c USING (case_id)
),
edges AS (
    SELECT t.case_type, s.from_a, s.to_a,
           count(*)::BIGINT AS count, count(DISTINCT s.ci)::BIGINT AS objects
    FROM active_steps AS s
    JOIN case_types AS t USING (ci)
    GROUP BY t.case_type, s.from_a, s.to_a
),
final AS (
    SELECT e.case_type AS object_type, f.name AS from_activity, t.name AS to_activity,
           e.count, e.objects
    FROM edges AS e
    JOIN activities AS f ON f.code = e.from_a
    JOIN activities AS t ON t.code = e.to_a
)
SELECT * FROM final
ORDER BY object_type, count DESC, from_activity, to_activity
