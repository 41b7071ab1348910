-- The one pass over marts.waste joined to its cases that the pages share (kpi_windows,
-- kpi_cube, sourcing_kpis, waste_cube and waiting_by_sourcing read it, materialised as the
-- small temp table pm_render_waste_agg by render/marts.py, not the per-case marts):
-- waste hours, cost and instances per attributes of the case (whether it is in
-- marts.case_kpis, day opened, priority, source, sourcing) × sourcing of the waste (else of
-- its case) × waste type. Hours and cost are summed as exact decimals (12 places per
-- instance): the same marts give the same totals whatever order the threads add them in.
WITH waste_rows AS (
    SELECT * FROM pm_render_waste_rows
),
cases AS (
    SELECT * FROM pm_render_case
),
final AS (
    SELECT c.case_id IS NOT NULL AS in_case, c.opened_day,
           c.priority, c.source, c.sourcing AS case_sourcing,
           coalesce(w.sourcing, c.sourcing) AS sourcing, w.waste_type,
           sum(CAST(w.hours AS DECIMAL(38, 12))) AS hours,
           sum(CAST(w.cost AS DECIMAL(38, 12))) AS cost, count(*) AS instances
    FROM waste_rows AS w LEFT JOIN cases AS c ON c.case_id = w.case_id
    GROUP BY ALL
)
SELECT * FROM final
