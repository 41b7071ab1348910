-- Opened, resolved and end-of-period backlog per period from marts.kpi_daily, with the
-- median resolution time of the cases resolved in the period (case grain when marts.case_kpis
-- has dates, else the resolved-weighted mean of the daily medians).
WITH kpi_daily AS (
    SELECT * FROM marts.kpi_daily
),
cases AS (
    SELECT * FROM pm_render_case
),
charted_days AS (
    SELECT *, CAST(date_trunc($grain, day) AS DATE) AS period FROM kpi_daily
    WHERE day >= CAST($chart_start AS DATE)
),
per_period AS (
    SELECT period, sum(opened) AS opened, sum(resolved) AS resolved,
           arg_max(backlog, day) AS backlog,
           sum(median_resolution_s * resolved) / nullif(sum(resolved) FILTER (
               WHERE median_resolution_s IS NOT NULL), 0) AS daily_median_s
    FROM charted_days GROUP BY period
),
case_median AS (
    SELECT CAST(date_trunc($grain, resolved_day) AS DATE) AS period,
           median(resolution_s) AS median_s
    FROM cases WHERE resolution_s IS NOT NULL AND opened_at IS NOT NULL
    GROUP BY 1
),
final AS (
    SELECT p.period, p.opened, p.resolved, p.backlog,
           round(coalesce(m.median_s, p.daily_median_s), 3) AS median_resolution_s
    FROM per_period AS p LEFT JOIN case_median AS m USING (period)
)
SELECT * FROM final
ORDER BY period
