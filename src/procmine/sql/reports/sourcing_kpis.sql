-- ITSM KPIs per sourcing of the case (hub, spoke:<unit>, vendor:<name>), the $max_keys
-- largest by cases, with waste per case (pm_render_waste_agg by the sourcing of the case).
WITH cases AS NOT MATERIALIZED (
    SELECT * FROM pm_render_case
),
waste_by_case_attributes AS (
    SELECT * FROM pm_render_waste_agg
),
keyed_cases AS (
    SELECT *, coalesce(sourcing, '(none)') AS sourcing_key FROM cases
),
sourcing_kpis AS (
    SELECT sourcing_key, count(*) AS cases,
           median(resolution_s) AS median_resolution_s,
           avg(CAST(sla_met AS INTEGER)) AS sla_rate,
           avg(CAST(reopened AS INTEGER)) AS reopen_rate,
           avg(CASE WHEN handoffs > 0 THEN 1.0 WHEN handoffs = 0 THEN 0.0 END)
               AS reassignment_rate
    FROM keyed_cases GROUP BY sourcing_key
),
sourcing_waste AS (
    SELECT coalesce(case_sourcing, '(none)') AS sourcing_key, sum(hours) AS hours,
           sum(cost) AS cost
    FROM waste_by_case_attributes WHERE in_case GROUP BY 1
),
final AS (
    SELECT k.sourcing_key AS sourcing, k.cases, k.median_resolution_s, k.sla_rate,
           k.reopen_rate, k.reassignment_rate,
           CAST(round(coalesce(w.hours, 0), 3) AS DOUBLE) AS waste_hours,
           CAST(round(coalesce(w.cost, 0), 2) AS DOUBLE) AS waste_cost,
           round(CAST(coalesce(w.hours, 0) AS DOUBLE) / k.cases, 4) AS waste_hours_per_case,
           round(CAST(coalesce(w.cost, 0) AS DOUBLE) / k.cases, 4) AS waste_cost_per_case
    FROM sourcing_kpis AS k LEFT JOIN sourcing_waste AS w USING (sourcing_key)
    WHERE EXISTS (SELECT 1 FROM cases WHERE sourcing IS NOT NULL)
)
SELECT * FROM final
ORDER BY cases DESC, sourcing
LIMIT $max_keys
