-- Headline KPIs for the current window, the previous one and all time (case grain).
-- Cases, reopen, reassignment and waste count by the day a case opened; resolution time and
-- SLA by the day it was resolved (opened + resolution time when no resolved_at is known).
-- Waste from pm_render_waste_agg (all of marts.waste, by the day its case opened).
WITH cases AS (
    SELECT * FROM pm_render_case
),
waste_by_case_attributes AS (
    SELECT * FROM pm_render_waste_agg
),
windows(name, lo, hi) AS (
    VALUES ('current', CAST($cur_lo AS DATE), CAST($hi AS DATE)),
           ('previous', CAST($prev_lo AS DATE), CAST($cur_lo AS DATE)),
           ('all', DATE '0001-01-01', DATE '9999-12-31')
),
opened_in_window AS (
    SELECT w.name, count(*) AS cases,
           avg(CAST(c.reopened AS INTEGER)) AS reopen_rate,
           avg(CASE WHEN c.handoffs > 0 THEN 1.0 WHEN c.handoffs = 0 THEN 0.0 END)
               AS reassignment_rate
    FROM windows AS w
    JOIN cases AS c ON w.name = 'all' OR (c.opened_day >= w.lo AND c.opened_day < w.hi)
    GROUP BY w.name
),
resolved_in_window AS (
    SELECT w.name, median(c.resolution_s) AS median_resolution_s,
           avg(CAST(c.sla_met AS INTEGER)) AS sla_rate, count(*) AS resolved
    FROM windows AS w JOIN cases AS c ON c.resolution_s IS NOT NULL
        AND (w.name = 'all' OR (c.resolved_day >= w.lo AND c.resolved_day < w.hi))
    GROUP BY w.name
),
waste_in_window AS (
    SELECT w.name, CAST(round(sum(x.hours), 6) AS DOUBLE) AS waste_hours,
           CAST(round(sum(x.cost), 6) AS DOUBLE) AS waste_cost
    FROM windows AS w JOIN waste_by_case_attributes AS x
        ON w.name = 'all' OR (x.opened_day >= w.lo AND x.opened_day < w.hi)
    GROUP BY w.name
),
final AS (
    SELECT w.name, coalesce(o.cases, 0) AS cases, r.median_resolution_s, r.sla_rate,
           o.reopen_rate, o.reassignment_rate, coalesce(x.waste_hours, 0) AS waste_hours,
           coalesce(x.waste_cost, 0) AS waste_cost, coalesce(r.resolved, 0) AS resolved
    FROM windows AS w
    LEFT JOIN opened_in_window AS o USING (name)
    LEFT JOIN resolved_in_window AS r USING (name)
    LEFT JOIN waste_in_window AS x USING (name)
)
SELECT * FROM final
ORDER BY name
