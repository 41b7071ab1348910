-- Waste hours and cost per period (of the case's opening) × waste type × sourcing ×
-- priority; sourcing and priority keep their $max_categories largest values (by hours), the
-- rest is 'other'. Waste of cases opened before the charts start (or undated) has no period.
-- From pm_render_waste_agg (marts.waste grouped by the attributes of its case).
WITH waste_by_case_attributes AS NOT MATERIALIZED (
    SELECT * FROM pm_render_waste_agg
),
charted_waste AS MATERIALIZED (   -- read three times: computed once
    SELECT *, CASE WHEN opened_day >= CAST($chart_start AS DATE)
                   THEN CAST(date_trunc($grain, opened_day) AS DATE) END AS period
    FROM waste_by_case_attributes
),
top_sourcing AS (
    SELECT coalesce(sourcing, '(none)') AS v FROM charted_waste GROUP BY 1
    ORDER BY sum(hours) DESC NULLS LAST, 1 LIMIT $max_categories
),
top_priority AS (
    SELECT coalesce(priority, '(none)') AS v FROM charted_waste GROUP BY 1
    ORDER BY sum(hours) DESC NULLS LAST, 1 LIMIT $max_categories
),
final AS (
    SELECT period, waste_type,
           CASE WHEN coalesce(sourcing, '(none)') IN (SELECT v FROM top_sourcing)
                THEN coalesce(sourcing, '(none)') ELSE 'other' END AS sourcing,
           CASE WHEN coalesce(priority, '(none)') IN (SELECT v FROM top_priority)
                THEN coalesce(priority, '(none)') ELSE 'other' END AS priority,
           CAST(round(coalesce(sum(hours), 0), 3) AS DOUBLE) AS hours,
           CAST(round(coalesce(sum(cost), 0), 2) AS DOUBLE) AS cost,
           CAST(sum(instances) AS BIGINT) AS instances
    FROM charted_waste GROUP BY ALL
)
SELECT * FROM final
ORDER BY ALL
