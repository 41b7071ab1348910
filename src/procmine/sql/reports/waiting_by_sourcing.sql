-- Waiting waste by sourcing (of the waste instance, else of its case) and by reason: in a
-- vendor waiting state (detail = 'vendor', e.g. Awaiting Vendor) or other waiting; the
-- $max_keys sourcings with the most waiting hours (from pm_render_waste_agg). Only instances
-- without a sourcing of their own are joined to their case. Exact decimal sums (see
-- waste_agg.sql).
WITH waste_rows AS NOT MATERIALIZED (
    SELECT * FROM pm_render_waste_rows
),
cases AS (
    SELECT * FROM pm_render_case
),
waste_by_case_attributes AS (
    SELECT * FROM pm_render_waste_agg
),
waiting AS MATERIALIZED (   -- read twice: only the waiting rows, once
    SELECT * FROM waste_rows WHERE waste_type = 'waiting'
),
waiting_by_reason AS (
    SELECT coalesce(x.sourcing, c.sourcing, '(none)') AS sourcing,
           CASE WHEN x.detail = 'vendor' THEN 'In a vendor waiting state' ELSE 'Other waiting' END
               AS reason,
           x.case_id, CAST(x.hours AS DECIMAL(38, 12)) AS hours,
           CAST(x.cost AS DECIMAL(38, 12)) AS cost
    FROM (SELECT * FROM waiting WHERE sourcing IS NULL) AS x
    LEFT JOIN cases AS c ON c.case_id = x.case_id
    UNION ALL
    SELECT sourcing,
           CASE WHEN detail = 'vendor' THEN 'In a vendor waiting state' ELSE 'Other waiting' END,
           case_id, CAST(hours AS DECIMAL(38, 12)), CAST(cost AS DECIMAL(38, 12))
    FROM waiting WHERE sourcing IS NOT NULL
),
top_sourcings AS (   -- the same sums from the shared aggregate (waiting is then read once)
    SELECT coalesce(sourcing, '(none)') AS sourcing FROM waste_by_case_attributes
    WHERE waste_type = 'waiting' GROUP BY 1
    ORDER BY sum(hours) DESC NULLS LAST, 1 LIMIT $max_keys
),
final AS (
    SELECT sourcing, reason, count(DISTINCT case_id) AS cases,
           CAST(round(coalesce(sum(hours), 0), 3) AS DOUBLE) AS hours,
           CAST(round(coalesce(sum(cost), 0), 2) AS DOUBLE) AS cost,
           count(*) AS instances
    FROM waiting_by_reason WHERE sourcing IN (SELECT sourcing FROM top_sourcings)
    GROUP BY sourcing, reason
)
SELECT * FROM final
ORDER BY sourcing, reason
