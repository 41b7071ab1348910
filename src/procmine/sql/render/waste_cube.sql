-- Waste hours and cost per period (of the case's opening) × waste type × sourcing ×
-- priority; sourcing and priority keep their $max_categories largest values (by hours), the
-- rest is 'other'. Waste of cases opened before the charts start (or undated) has no period.
WITH w AS (
    SELECT *, CASE WHEN CAST(opened_at AS DATE) >= CAST($chart_start AS DATE)
                   THEN CAST(date_trunc($grain, CAST(opened_at AS DATE)) AS DATE) END AS period
    FROM pm_render_waste
),
top_sourcing AS (
    SELECT coalesce(sourcing, '(none)') AS v FROM w GROUP BY 1
    ORDER BY sum(hours) DESC NULLS LAST, 1 LIMIT $max_categories
),
top_priority AS (
    SELECT coalesce(priority, '(none)') AS v FROM w GROUP BY 1
    ORDER BY sum(hours) DESC NULLS LAST, 1 LIMIT $max_categories
)
SELECT period, waste_type,
       CASE WHEN coalesce(sourcing, '(none)') IN (SELECT v FROM top_sourcing)
            THEN coalesce(sourcing, '(none)') ELSE 'other' END AS sourcing,
       CASE WHEN coalesce(priority, '(none)') IN (SELECT v FROM top_priority)
            THEN coalesce(priority, '(none)') ELSE 'other' END AS priority,
       round(coalesce(sum(hours), 0), 3) AS hours, round(coalesce(sum(cost), 0), 2) AS cost,
       count(*) AS instances
FROM w GROUP BY ALL ORDER BY ALL;
