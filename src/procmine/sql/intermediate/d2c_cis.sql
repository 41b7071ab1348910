-- _d2c_ci: the configuration items each record is on, one row per (record, CI, role):
-- 'affected' (attributes.cis, else core.cases.service) and 'caused_by' (attributes.caused_by_ci).
-- Reads core.d2c_records (written by publishing: core/d2c_records.sql).
WITH records AS NOT MATERIALIZED (
    SELECT * FROM core.d2c_records
),
affected AS (
    SELECT case_id, case_type, unnest(CASE WHEN len(cis) > 0 THEN cis ELSE [service] END) AS ci,
           'affected' AS role, opened_at
    FROM records
    WHERE len(cis) > 0 OR service IS NOT NULL
),
caused_by AS (
    SELECT case_id, case_type, caused_by_ci AS ci, 'caused_by' AS role, opened_at
    FROM records
    WHERE caused_by_ci IS NOT NULL
),
final AS (
    SELECT DISTINCT * FROM affected WHERE nullif(trim(ci), '') IS NOT NULL
    UNION ALL
    SELECT * FROM caused_by
)
SELECT * FROM final
