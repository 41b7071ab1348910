-- The $limit findings of marts.bottlenecks with the largest total delay (median wait × cases).
SELECT dimension, key, d2c_stage, median_wait_s, cases, rank,
       round(median_wait_s * cases / 3600, 3) AS total_delay_h
FROM marts.bottlenecks
WHERE median_wait_s IS NOT NULL
ORDER BY median_wait_s * cases DESC, rank, dimension, key, d2c_stage
LIMIT $limit;
