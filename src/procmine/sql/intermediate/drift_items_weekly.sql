-- Per week of the drift window, the cases with each directly-follows edge, hand-off edge and
-- variant, from the mining index: counted per variant (a case's edges and variant are its
-- variant's) and per distinct hand-off edge of each case. Items seen in at least
-- $min_item_cases cases of the window. Inputs: _drift_case (drift_cases.sql: week, ci, vi),
-- _mine_variant (vi, activities), _mine_drift_handoff (ci, code), _mine_drift_handoff_name
-- (code, item).
WITH cases AS (
    SELECT * FROM _drift_case
),
variants AS (
    SELECT vi, activities FROM _mine_variant
),
handoff_edges AS (
    SELECT * FROM _mine_drift_handoff
),
handoff_names AS (
    SELECT * FROM _mine_drift_handoff_name
),
week_variants AS (
    SELECT week, vi, count(*) AS cases FROM cases GROUP BY ALL
),
window_variants AS (
    SELECT v.vi, v.activities FROM variants AS v
    SEMI JOIN week_variants AS w ON w.vi = v.vi
),
variant_positions AS (
    SELECT vi, activities, unnest(range(1, len(activities))) AS i FROM window_variants
),
variant_edges AS (   -- each variant's distinct directly-follows edges
    SELECT DISTINCT vi, activities[i] || ' → ' || activities[i + 1] AS item
    FROM variant_positions
),
items AS (
    SELECT w.week, 'edge' AS kind, e.item, w.cases
    FROM week_variants AS w JOIN variant_edges AS e ON e.vi = w.vi
    UNION ALL
    SELECT c.week, 'handoff' AS kind, n.item, 1 AS cases
    FROM handoff_edges AS h
    JOIN cases AS c ON c.ci = h.ci
    JOIN handoff_names AS n ON n.code = h.code
    UNION ALL
    SELECT w.week, 'variant' AS kind, array_to_string(v.activities, ' → ') AS item, w.cases
    FROM week_variants AS w JOIN window_variants AS v ON v.vi = w.vi
),
weekly AS (
    SELECT week, kind, item, sum(cases)::BIGINT AS cases
    FROM items GROUP BY ALL
),
final AS (
    SELECT week, kind, item, cases
    FROM weekly
    QUALIFY sum(cases) OVER (PARTITION BY kind, item) >= $min_item_cases
)
SELECT * FROM final
ORDER BY kind, item, week
