-- The $limit clock-stopped findings of marts.bottlenecks (clock 'customer': waiting for the
-- user; 'policy': resolved until closed, planned waits) with the largest total delay: shown
-- apart from the bottlenecks, since working faster does not shorten them.
WITH bottlenecks AS (
    SELECT * FROM marts.bottlenecks
),
final AS (
    SELECT dimension, key, d2c_stage, clock, median_wait_s, cases, clock_rank,
           round(median_wait_s * cases / 3600, 3) AS total_delay_h
    FROM bottlenecks
    WHERE median_wait_s IS NOT NULL AND clock IN ('customer', 'policy')
)
SELECT * FROM final
ORDER BY median_wait_s * cases DESC, dimension, key, d2c_stage, clock
LIMIT $limit
