-- marts.kpi_daily: per day, cases opened and resolved (finally), open cases at the day's end
-- (the backlog: open stages of marts.backlog), median resolution time and SLA rate of the
-- cases resolved that day.
CREATE OR REPLACE TABLE marts.kpi_daily AS
WITH bounds AS (
    SELECT least(min(CAST(opened_at AS DATE)), min(CAST(first_event_at AS DATE))) AS lo,
           greatest(max(CAST(last_event_at AS DATE)), max(CAST(resolved_at AS DATE))) AS hi
    FROM marts.case_kpis
),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM bounds, range(CAST(bounds.lo AS TIMESTAMP), CAST(bounds.hi AS TIMESTAMP) + INTERVAL 1 DAY,
                       INTERVAL 1 DAY) AS r(d)
    WHERE bounds.lo IS NOT NULL
),
opened AS (
    SELECT CAST(opened_at AS DATE) AS day, count(*) AS opened
    FROM marts.case_kpis GROUP BY 1
),
resolved AS (
    SELECT CAST(resolved_at AS DATE) AS day, count(*) AS resolved,
           median(resolution_s) AS median_resolution_s,
           avg(CAST(sla_met AS DOUBLE)) AS sla_rate,
           count(*) FILTER (WHERE sla_met = false) AS sla_breaches
    FROM marts.case_kpis WHERE resolved_at IS NOT NULL GROUP BY 1
),
backlog AS (
    SELECT day, sum(open_cases) AS backlog
    FROM marts.backlog
    WHERE d2c_stage IS NULL OR d2c_stage NOT IN ('resolve', 'close')
    GROUP BY day
)
SELECT days.day,
       coalesce(o.opened, 0)::BIGINT AS opened,
       coalesce(r.resolved, 0)::BIGINT AS resolved,
       coalesce(b.backlog, 0)::BIGINT AS backlog,
       r.median_resolution_s,
       r.sla_rate,
       coalesce(r.sla_breaches, 0)::BIGINT AS sla_breaches
FROM days
LEFT JOIN opened AS o USING (day)
LEFT JOIN resolved AS r USING (day)
LEFT JOIN backlog AS b USING (day)
ORDER BY days.day;
