-- Waiting waste by sourcing (of the waste instance, else of its case) and by reason: in a
-- vendor waiting state (detail = 'vendor', e.g. Awaiting Vendor) or other waiting; the
-- $max_keys sourcings with the most waiting hours (from pm_render_waste_agg). Only instances
-- without a sourcing of their own are joined to their case. Exact decimal sums (see
-- waste_agg.sql).
WITH waiting AS (SELECT * FROM pm_render_waste_rows WHERE waste_type = 'waiting'),
w AS (
    SELECT coalesce(x.sourcing, c.sourcing, '(none)') AS sourcing,
           CASE WHEN x.detail = 'vendor' THEN 'In a vendor waiting state' ELSE 'Other waiting' END
               AS reason,
           x.case_id, CAST(x.hours AS DECIMAL(38, 12)) AS hours,
           CAST(x.cost AS DECIMAL(38, 12)) AS cost
    FROM (SELECT * FROM waiting WHERE sourcing IS NULL) AS x
    LEFT JOIN pm_render_case AS c ON c.case_id = x.case_id
    UNION ALL
    SELECT sourcing,
           CASE WHEN detail = 'vendor' THEN 'In a vendor waiting state' ELSE 'Other waiting' END,
           case_id, CAST(hours AS DECIMAL(38, 12)), CAST(cost AS DECIMAL(38, 12))
    FROM waiting WHERE sourcing IS NOT NULL
),
top AS (   -- the same sums from the shared aggregate (w is then read once)
    SELECT coalesce(sourcing, '(none)') AS sourcing FROM pm_render_waste_agg
    WHERE waste_type = 'waiting' GROUP BY 1
    ORDER BY sum(hours) DESC NULLS LAST, 1 LIMIT $max_keys
)
SELECT sourcing, reason, count(DISTINCT case_id) AS cases,
       CAST(round(coalesce(sum(hours), 0), 3) AS DOUBLE) AS hours,
       CAST(round(coalesce(sum(cost), 0), 2) AS DOUBLE) AS cost,
       count(*) AS instances
FROM w WHERE sourcing IN (SELECT sourcing FROM top)
GROUP BY sourcing, reason
ORDER BY sourcing, reason;
