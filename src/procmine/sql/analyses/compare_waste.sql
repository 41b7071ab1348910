-- procmine compare: the waste heat map's cells (d2c_stage × waste_type, marts.waste; the
-- backlog cells are not per case) for each period's cases (compare_cases.sql's rule): cases
-- affected, instances and hours.
-- $before_start, $before_end, $after_start, $after_end: the periods' bounds (TIMESTAMPTZ).
WITH waste AS (
    SELECT * FROM marts.waste
),
case_kpis AS (
    SELECT * FROM marts.case_kpis
),
periods AS (
    SELECT 'before' AS period, $before_start::TIMESTAMPTZ AS starts,
           $before_end::TIMESTAMPTZ AS ends
    UNION ALL
    SELECT 'after', $after_start::TIMESTAMPTZ, $after_end::TIMESTAMPTZ
),
period_cases AS (
    SELECT p.period, k.case_id
    FROM case_kpis AS k
    JOIN periods AS p ON k.opened_at >= p.starts AND k.opened_at < p.ends
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
