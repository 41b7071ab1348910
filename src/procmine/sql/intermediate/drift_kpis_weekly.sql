-- Weekly KPIs of the drift window (_drift_case, drift_cases.sql): cases opened,
-- median hours to resolution, hand-offs per case (mean and standard deviation), reopened cases.
WITH cases AS (
    SELECT * FROM _drift_case
),
final AS (
    SELECT week,
           count(*)::BIGINT AS cases,
           count(resolution_h)::BIGINT AS resolved,
           median(resolution_h) AS median_resolution_h,
           avg(handoffs) AS handoffs_mean,
           coalesce(stddev_samp(handoffs), 0) AS handoffs_sd,
           count(*) FILTER (WHERE reopened)::BIGINT AS reopened
    FROM cases
    GROUP BY week
)
SELECT * FROM final
ORDER BY week
