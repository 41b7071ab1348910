-- The $limit findings of marts.bottlenecks with the largest total delay (median wait × cases)
-- among the internal waits (clock 'internal', or NULL from a miner without clock classes):
-- the delay the organisation can change. The clock-stopped ones: bottleneck_stopped.sql.
WITH bottlenecks AS (
    SELECT * FROM marts.bottlenecks
),
final AS (
    SELECT dimension, key, d2c_stage, median_wait_s, cases, rank,
           round(median_wait_s * cases / 3600, 3) AS total_delay_h
    FROM bottlenecks
    WHERE median_wait_s IS NOT NULL AND coalesce(clock, 'internal') = 'internal'
)
SELECT * FROM final
ORDER BY median_wait_s * cases DESC, rank, dimension, key, d2c_stage
LIMIT $limit
