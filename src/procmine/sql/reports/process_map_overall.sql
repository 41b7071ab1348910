-- The process map of the whole log, from the marts: directly-follows pairs with their
-- absolute frequency and waits (marts.transitions), their case frequency (cases whose variant
-- holds the pair, marts.variants), the start and end pairs (from_activity / to_activity NULL:
-- marts.activities start_count / end_count) and one 'node' row per activity (events, cases).
WITH transitions AS (
    SELECT * FROM marts.transitions
),
activities AS NOT MATERIALIZED (
    SELECT * FROM marts.activities
),
variants AS (
    SELECT variant_id, activities, case_count FROM marts.variants
),
variant_positions AS (
    SELECT variant_id, case_count, activities,
           unnest(range(1, len(activities))) AS i
    FROM variants
),
variant_pairs AS (
    SELECT DISTINCT variant_id, case_count, activities[i] AS from_activity,
           activities[i + 1] AS to_activity
    FROM variant_positions
),
case_frequency AS (
    SELECT from_activity, to_activity, sum(case_count) AS cases
    FROM variant_pairs GROUP BY ALL
),
final AS (
    SELECT 'edge' AS kind, t.from_activity, t.to_activity, CAST(t.count AS BIGINT) AS count,
           CAST(f.cases AS BIGINT) AS cases, t.median_wait_s, t.mean_wait_s,
           coalesce(t.total_wait_s, t.mean_wait_s * t.count) AS total_wait_s
    FROM transitions AS t
    LEFT JOIN case_frequency AS f USING (from_activity, to_activity)
    UNION ALL
    SELECT 'edge', NULL, activity, start_count, start_count, NULL, NULL, NULL
    FROM activities WHERE start_count > 0
    UNION ALL
    SELECT 'edge', activity, NULL, end_count, end_count, NULL, NULL, NULL
    FROM activities WHERE end_count > 0
    UNION ALL
    SELECT 'node', activity, NULL, event_count, case_count, NULL, NULL, NULL
    FROM activities
)
SELECT * FROM final
ORDER BY kind, from_activity NULLS FIRST, to_activity NULLS FIRST
