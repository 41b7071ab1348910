-- Detect to Correct page: each stage's records and median / p90 time in hours, flow order
-- (marts.d2c_stage_times; stages no record reached are left out).
WITH stages AS (
    SELECT * FROM marts.d2c_stage_times
),
final AS (
    SELECT stage, position, from_type, to_type, grain, records,
           median_s / 3600 AS median_h, p90_s / 3600 AS p90_h, links_used
    FROM stages
    WHERE records > 0
)
SELECT * FROM final
ORDER BY position
