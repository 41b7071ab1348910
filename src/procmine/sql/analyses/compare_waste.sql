-- procmine compare: the waste heat map's cells (d2c_stage × waste_type, marts.waste; the
-- backlog cells are not per case) for each period's cases (_compare_period_case,
-- compare_period_cases.sql): cases affected, instances and hours.
WITH waste AS (
    SELECT * FROM marts.waste
),
period_cases AS (
    SELECT * FROM _compare_period_case
),
case_cells AS (
    SELECT pc.period, w.d2c_stage, w.waste_type, w.case_id,
           count(*) AS instances, sum(w.hours) AS hours
    FROM waste AS w
    JOIN period_cases AS pc USING (case_id)
    GROUP BY pc.period, w.d2c_stage, w.waste_type, w.case_id
),
final AS (
    SELECT period,
           d2c_stage,
           waste_type,
           count(*) AS cases,
           sum(instances) AS instances,
           sum(hours) AS hours
    FROM case_cells
    GROUP BY period, d2c_stage, waste_type
)
SELECT * FROM final
ORDER BY period, d2c_stage NULLS LAST, waste_type
