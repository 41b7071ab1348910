-- Additive KPI counts per period × priority × source × sourcing (the filters of the trend
-- explorer); each dimension keeps its $max_categories most frequent values, the rest is
-- 'other'. Rates are computed in the browser from these sums, so filters stay exact. Waste
-- comes from pm_render_waste_agg by the same case attributes (= summed per case, then over
-- the cases).
WITH cases AS NOT MATERIALIZED (
    SELECT * FROM pm_render_case
),
waste_by_case_attributes AS (
    SELECT * FROM pm_render_waste_agg
),
charted_cases AS MATERIALIZED (   -- read four times: computed once
    SELECT *, CAST(date_trunc($grain, opened_day) AS DATE) AS period
    FROM cases
    WHERE opened_day >= CAST($chart_start AS DATE)
),
top_priority AS (
    SELECT coalesce(priority, '(none)') AS v FROM charted_cases GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
top_source AS (
    SELECT coalesce(source, '(none)') AS v FROM charted_cases GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
top_sourcing AS (
    SELECT coalesce(sourcing, '(none)') AS v FROM charted_cases GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
case_cells AS (
    SELECT period, priority, source, sourcing, count(*) AS cases,
           count(*) FILTER (WHERE reopened) AS reopened,
           count(*) FILTER (WHERE handoffs > 0) AS reassigned,
           count(*) FILTER (WHERE sla_met) AS sla_met,
           count(sla_met) AS sla_known
    FROM charted_cases GROUP BY ALL
),
waste_cells AS (
    SELECT CAST(date_trunc($grain, opened_day) AS DATE) AS period, priority, source,
           case_sourcing AS sourcing, sum(hours) AS hours, sum(cost) AS cost
    FROM waste_by_case_attributes
    WHERE in_case AND opened_day >= CAST($chart_start AS DATE)
    GROUP BY ALL
),
final AS (
    SELECT c.period,
           CASE WHEN coalesce(c.priority, '(none)') IN (SELECT v FROM top_priority)
                THEN coalesce(c.priority, '(none)') ELSE 'other' END AS priority,
           CASE WHEN coalesce(c.source, '(none)') IN (SELECT v FROM top_source)
                THEN coalesce(c.source, '(none)') ELSE 'other' END AS source,
           CASE WHEN coalesce(c.sourcing, '(none)') IN (SELECT v FROM top_sourcing)
                THEN coalesce(c.sourcing, '(none)') ELSE 'other' END AS sourcing,
           CAST(sum(c.cases) AS BIGINT) AS cases,
           CAST(sum(c.reopened) AS BIGINT) AS reopened,
           CAST(sum(c.reassigned) AS BIGINT) AS reassigned,
           CAST(sum(c.sla_met) AS BIGINT) AS sla_met,
           CAST(sum(c.sla_known) AS BIGINT) AS sla_known,
           CAST(round(coalesce(sum(w.hours), 0), 3) AS DOUBLE) AS waste_hours,
           CAST(round(coalesce(sum(w.cost), 0), 2) AS DOUBLE) AS waste_cost
    FROM case_cells AS c
    LEFT JOIN waste_cells AS w ON w.period = c.period
        AND w.priority IS NOT DISTINCT FROM c.priority AND w.source IS NOT DISTINCT FROM c.source
        AND w.sourcing IS NOT DISTINCT FROM c.sourcing
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY ALL
