-- procmine compare: which period each compared case belongs to, shared by compare_cases.sql,
-- compare_variants.sql, compare_edges.sql and compare_waste.sql (compare.py materialises it
-- once per comparison as the temp table _compare_period_case). A case belongs to the period
-- its open time falls in (marts.case_kpis.opened_at: the record's opened time, or its first
-- event when that is earlier), start inclusive, end exclusive; all its events count, also
-- those after the period's end.
-- $before_start, $before_end, $after_start, $after_end: the periods' bounds (TIMESTAMPTZ).
WITH case_kpis AS (
    SELECT * FROM marts.case_kpis
),
periods AS (
    SELECT 'before' AS period, $before_start::TIMESTAMPTZ AS starts,
           $before_end::TIMESTAMPTZ AS ends
    UNION ALL
    SELECT 'after', $after_start::TIMESTAMPTZ, $after_end::TIMESTAMPTZ
),
final AS (
    SELECT p.period, k.case_id
    FROM case_kpis AS k
    JOIN periods AS p ON k.opened_at >= p.starts AND k.opened_at < p.ends
)
SELECT * FROM final
ORDER BY period, case_id
