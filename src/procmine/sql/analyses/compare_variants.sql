-- procmine compare: cases per variant in each period (_compare_period_case,
-- compare_period_cases.sql), with the variant's activities and its rank over the whole log
-- (marts.variants).
WITH period_cases AS (
    SELECT * FROM _compare_period_case
),
case_kpis AS (
    SELECT * FROM marts.case_kpis
),
variants AS (
    SELECT * FROM marts.variants
),
period_variants AS (
    SELECT pc.period, k.variant_id, count(*) AS cases
    FROM case_kpis AS k
    JOIN period_cases AS pc USING (case_id)
    GROUP BY pc.period, k.variant_id
),
final AS (
    SELECT pv.period,
           pv.variant_id,
           v.rank,
           v.activities,
           pv.cases
    FROM period_variants AS pv
    LEFT JOIN variants AS v USING (variant_id)
)
SELECT * FROM final
ORDER BY period, cases DESC, rank
