-- ITSM KPIs per sourcing of the case (hub, spoke:<unit>, vendor:<name>), the $max_keys
-- largest by cases, with waste per case.
WITH c AS (SELECT *, coalesce(sourcing, '(none)') AS sourcing_key FROM pm_render_case),
w AS (SELECT case_id, sum(hours) AS hours, sum(cost) AS cost FROM pm_render_waste GROUP BY 1)
SELECT c.sourcing_key AS sourcing, count(*) AS cases,
       median(c.resolution_s) AS median_resolution_s,
       avg(CAST(c.sla_met AS INTEGER)) AS sla_rate,
       avg(CAST(c.reopened AS INTEGER)) AS reopen_rate,
       avg(CASE WHEN c.handoffs > 0 THEN 1.0 WHEN c.handoffs = 0 THEN 0.0 END)
           AS reassignment_rate,
       round(coalesce(sum(w.hours), 0), 3) AS waste_hours,
       round(coalesce(sum(w.cost), 0), 2) AS waste_cost,
       round(coalesce(sum(w.hours), 0) / count(*), 4) AS waste_hours_per_case,
       round(coalesce(sum(w.cost), 0) / count(*), 4) AS waste_cost_per_case
FROM c LEFT JOIN w USING (case_id)
WHERE EXISTS (SELECT 1 FROM pm_render_case WHERE sourcing IS NOT NULL)
GROUP BY c.sourcing_key
ORDER BY cases DESC, sourcing
LIMIT $max_keys;
