-- Additive KPI counts per period × priority × source × sourcing (the filters of the trend
-- explorer); each dimension keeps its $max_categories most frequent values, the rest is
-- 'other'. Rates are computed in the browser from these sums, so filters stay exact.
WITH c AS (
    SELECT *, CAST(date_trunc($grain, CAST(opened_at AS DATE)) AS DATE) AS period
    FROM pm_render_case
    WHERE CAST(opened_at AS DATE) >= CAST($chart_start AS DATE)
),
top_priority AS (
    SELECT coalesce(priority, '(none)') AS v FROM c GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
top_source AS (
    SELECT coalesce(source, '(none)') AS v FROM c GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
top_sourcing AS (
    SELECT coalesce(sourcing, '(none)') AS v FROM c GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
waste_per_case AS (
    SELECT case_id, sum(hours) AS hours, sum(cost) AS cost FROM pm_render_waste GROUP BY 1
)
SELECT c.period,
       CASE WHEN coalesce(c.priority, '(none)') IN (SELECT v FROM top_priority)
            THEN coalesce(c.priority, '(none)') ELSE 'other' END AS priority,
       CASE WHEN coalesce(c.source, '(none)') IN (SELECT v FROM top_source)
            THEN coalesce(c.source, '(none)') ELSE 'other' END AS source,
       CASE WHEN coalesce(c.sourcing, '(none)') IN (SELECT v FROM top_sourcing)
            THEN coalesce(c.sourcing, '(none)') ELSE 'other' END AS sourcing,
       count(*) AS cases,
       count(*) FILTER (WHERE c.reopened) AS reopened,
       count(*) FILTER (WHERE c.handoffs > 0) AS reassigned,
       count(*) FILTER (WHERE c.sla_met) AS sla_met,
       count(c.sla_met) AS sla_known,
       round(coalesce(sum(w.hours), 0), 3) AS waste_hours,
       round(coalesce(sum(w.cost), 0), 2) AS waste_cost
FROM c LEFT JOIN waste_per_case w USING (case_id)
GROUP BY ALL ORDER BY ALL;
