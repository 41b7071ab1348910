-- procmine compare: cases per variant in each period (compare_cases.sql's rule), with the
-- variant's activities and its rank over the whole log (marts.variants).
-- $before_start, $before_end, $after_start, $after_end: the periods' bounds (TIMESTAMPTZ).
WITH case_kpis AS (
    SELECT * FROM marts.case_kpis
),
variants AS (
    SELECT * FROM marts.variants
),
periods AS (
    SELECT 'before' AS period, $before_start::TIMESTAMPTZ AS starts,
           $before_end::TIMESTAMPTZ AS ends
    UNION ALL
    SELECT 'after', $after_start::TIMESTAMPTZ, $after_end::TIMESTAMPTZ
),
period_variants AS (
    SELECT p.period, k.variant_id, count(*) AS cases
    FROM case_kpis AS k
    JOIN periods AS p ON k.opened_at >= p.starts AND k.opened_at < p.ends
    GROUP BY p.period, k.variant_id
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
