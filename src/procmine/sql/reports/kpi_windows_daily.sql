-- Headline KPIs from marts.kpi_daily alone (when marts.case_kpis has no case dates):
-- median resolution is the resolved-weighted mean of the daily medians (an approximation).
WITH kpi_daily AS (
    SELECT * FROM marts.kpi_daily
),
windows(name, lo, hi) AS (
    VALUES ('current', CAST($cur_lo AS DATE), CAST($hi AS DATE)),
           ('previous', CAST($prev_lo AS DATE), CAST($cur_lo AS DATE)),
           ('all', DATE '0001-01-01', DATE '9999-12-31')
),
final AS (
    SELECT w.name, coalesce(sum(d.opened), 0) AS cases,
           round(sum(d.median_resolution_s * d.resolved) / nullif(sum(d.resolved) FILTER (
               WHERE d.median_resolution_s IS NOT NULL), 0), 3) AS median_resolution_s,
           round(sum(d.sla_rate * d.resolved) / nullif(sum(d.resolved) FILTER (
               WHERE d.sla_rate IS NOT NULL), 0), 9) AS sla_rate,
           coalesce(sum(d.resolved), 0) AS resolved
    FROM windows AS w LEFT JOIN kpi_daily AS d ON d.day >= w.lo AND d.day < w.hi
    GROUP BY w.name
)
SELECT * FROM final
ORDER BY name
