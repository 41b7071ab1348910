-- marts.ocdfg: the object-centric directly-follows graph, one per object type (the case's
-- case_type), as pm4py's discover_ocdfg on procmine's OCEL 2.0 export: each object's (case's)
-- steps in the canonical order, i.e. marts.transitions split by record type. Computed per
-- variant (a case's steps are its variant's): cases per variant and object type times each
-- variant's steps, so the events are not read again.
-- Inputs: _mine_variant (variants.py: vi, activities), _mine_case_id (intermediate/case_ids.sql:
-- each case's vi and case_type).
WITH variants AS (
    SELECT vi, activities FROM _mine_variant
),
case_ids AS (
    SELECT vi, case_type FROM _mine_case_id
),
variant_types AS (   -- cases per variant and object type
    SELECT vi, coalesce(case_type, 'unknown') AS case_type, count(*) AS cases
    FROM case_ids
    GROUP BY ALL
),
variant_positions AS (
    SELECT vi, activities, unnest(range(1, len(activities))) AS i
    FROM variants
),
variant_steps AS (   -- each variant's directly-follows steps and how often each occurs in it
    SELECT vi, activities[i] AS from_activity, activities[i + 1] AS to_activity,
           count(*) AS times
    FROM variant_positions
    GROUP BY ALL
),
edges AS (
    SELECT t.case_type, s.from_activity, s.to_activity,
           sum(t.cases * s.times)::BIGINT AS count, sum(t.cases)::BIGINT AS objects
    FROM variant_types AS t
    JOIN variant_steps AS s USING (vi)
    GROUP BY ALL
),
final AS (
    SELECT case_type AS object_type, from_activity, to_activity, count, objects
    FROM edges
)
SELECT * FROM final
ORDER BY object_type, count DESC, from_activity, to_activity
