-- Median wait per key × d2c_stage from marts.bottlenecks for every dimension but the
-- transitions (groups, sourcing, ...): the $max_keys keys per dimension with the largest
-- total delay (median wait × cases). Internal waits only (clock 'internal' or NULL): the
-- clock-stopped ones are listed apart (bottleneck_stopped.sql).
WITH bottlenecks AS NOT MATERIALIZED (
    SELECT * FROM marts.bottlenecks
),
holder_findings AS MATERIALIZED (   -- read twice: computed once
    SELECT * FROM bottlenecks
    WHERE dimension NOT ILIKE '%transition%' AND dimension NOT ILIKE '%activit%'
      AND coalesce(clock, 'internal') = 'internal'
),
ranked_keys AS (
    SELECT dimension, key,
           row_number() OVER (PARTITION BY dimension
                              ORDER BY sum(median_wait_s * cases) DESC NULLS LAST, key)
               AS key_rank
    FROM holder_findings GROUP BY dimension, key
),
final AS (
    SELECT b.dimension, b.key, coalesce(b.d2c_stage, '(all stages)') AS d2c_stage,
           b.median_wait_s, round(b.median_wait_s / 3600, 4) AS median_wait_h, b.cases,
           b.rank, round(b.median_wait_s * b.cases / 3600, 3) AS total_delay_h, k.key_rank
    FROM holder_findings AS b JOIN ranked_keys AS k USING (dimension, key)
    WHERE k.key_rank <= $max_keys
)
SELECT * FROM final
ORDER BY dimension, key_rank, d2c_stage
