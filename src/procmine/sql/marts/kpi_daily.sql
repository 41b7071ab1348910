-- marts.kpi_daily: per day, cases opened and resolved (finally), open cases at the day's end
-- (the backlog: open stages of marts.backlog), median resolution time and SLA rate of the
-- cases resolved that day.
WITH case_kpis AS NOT MATERIALIZED (
    SELECT * FROM marts.case_kpis
),
stage_backlog AS (
    SELECT * FROM marts.backlog
),
case_days AS MATERIALIZED (   -- read three times: computed once
    -- UTC days (the store's session time zone) from epoch values: no time zone lookups
    SELECT DATE '1970-01-01' + CAST(floor(epoch_us(opened_at) / 86400e6) AS INTEGER) AS opened,
           DATE '1970-01-01' + CAST(floor(epoch_us(first_event_at) / 86400e6) AS INTEGER)
               AS first_event,
           DATE '1970-01-01' + CAST(floor(epoch_us(last_event_at) / 86400e6) AS INTEGER)
               AS last_event,
           DATE '1970-01-01' + CAST(floor(epoch_us(resolved_at) / 86400e6) AS INTEGER)
               AS resolved,
           resolution_s, sla_met
    FROM case_kpis
),
bounds AS (
    SELECT least(min(opened), min(first_event)) AS lo,
           greatest(max(last_event), max(resolved)) AS hi
    FROM case_days
),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM bounds, range(CAST(bounds.lo AS TIMESTAMP), CAST(bounds.hi AS TIMESTAMP) + INTERVAL 1 DAY,
                       INTERVAL 1 DAY) AS r(d)
    WHERE bounds.lo IS NOT NULL
),
opened_per_day AS (
    SELECT opened AS day, count(*) AS opened FROM case_days GROUP BY 1
),
resolved_per_day AS (
    SELECT resolved AS day, count(*) AS resolved,
           median(resolution_s) AS median_resolution_s,
           avg(CAST(sla_met AS DOUBLE)) AS sla_rate,
           count(*) FILTER (WHERE sla_met = false) AS sla_breaches
    FROM case_days WHERE resolved IS NOT NULL GROUP BY 1
),
backlog_per_day AS (
    SELECT day, sum(open_cases) AS backlog
    FROM stage_backlog
    WHERE d2c_stage IS NULL OR d2c_stage NOT IN ('resolve', 'close')
    GROUP BY day
),
final AS (
    SELECT days.day,
           coalesce(o.opened, 0)::BIGINT AS opened,
           coalesce(r.resolved, 0)::BIGINT AS resolved,
           coalesce(b.backlog, 0)::BIGINT AS backlog,
           r.median_resolution_s,
           r.sla_rate,
           coalesce(r.sla_breaches, 0)::BIGINT AS sla_breaches
    FROM days
    LEFT JOIN opened_per_day AS o USING (day)
    LEFT JOIN resolved_per_day AS r USING (day)
    LEFT JOIN backlog_per_day AS b USING (day)
)
SELECT * FROM final
ORDER BY day
