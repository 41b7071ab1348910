-- Per week of the drift window, the cases with each directly-follows edge, hand-off edge and
-- variant (_drift_case, intermediate/drift_cases.sql); items seen in at least $min_item_cases
-- cases of the window.
WITH cases AS NOT MATERIALIZED (
    SELECT * FROM _drift_case
),
items AS (
    SELECT week, 'edge' AS kind, unnest(edges) AS item FROM cases
    UNION ALL
    SELECT week, 'handoff' AS kind, unnest(handoff_edges) AS item FROM cases
    UNION ALL
    SELECT week, 'variant' AS kind, variant AS item FROM cases
),
weekly AS (
    SELECT week, kind, item, count(*)::BIGINT AS cases
    FROM items GROUP BY ALL
),
final AS (
    SELECT week, kind, item, cases
    FROM weekly
    QUALIFY sum(cases) OVER (PARTITION BY kind, item) >= $min_item_cases
)
SELECT * FROM final
ORDER BY kind, item, week
