-- procmine compare: the range of the cases' open times (marts.case_kpis.opened_at), for the
-- message when a period holds no case.
WITH case_kpis AS (
    SELECT * FROM marts.case_kpis
),
final AS (
    SELECT min(opened_at) AS first_opened, max(opened_at) AS last_opened, count(*) AS cases
    FROM case_kpis
)
SELECT * FROM final
