-- The data window of the dashboards: first and last day of the data (a case opened or
-- resolved), and where the trend charts start (the day by which 2% of cases were opened, so
-- a thin tail of old tickets does not stretch every chart). Case dates come from
-- marts.case_kpis when it has them, else from marts.kpi_daily.
WITH cases AS NOT MATERIALIZED (
    SELECT * FROM pm_render_case
),
kpi_daily AS NOT MATERIALIZED (
    SELECT * FROM marts.kpi_daily
),
case_days AS (
    SELECT opened_day AS day, count(*) AS n
    FROM cases WHERE opened_at IS NOT NULL GROUP BY ALL
),
daily_days AS (
    SELECT day, opened AS n FROM kpi_daily
    WHERE opened > 0 AND NOT EXISTS (SELECT 1 FROM case_days)
),
days AS (
    SELECT * FROM case_days UNION ALL SELECT * FROM daily_days
),
running AS (
    SELECT day, n, sum(n) OVER (ORDER BY day) AS cum, sum(n) OVER () AS total FROM days
),
last_resolution AS (
    SELECT max(resolved_day) AS day FROM cases
    UNION ALL
    SELECT max(day) FROM kpi_daily WHERE resolved > 0
),
final AS (
    SELECT min(day) AS first_day,
           greatest(max(day), (SELECT max(day) FROM last_resolution)) AS last_day,
           min(day) FILTER (WHERE cum >= 0.02 * total) AS chart_start,
           coalesce(max(total), 0) AS dated_cases,
           (SELECT count(*) FROM cases) AS cases,
           EXISTS (SELECT 1 FROM case_days) AS case_dates
    FROM running
)
SELECT * FROM final
