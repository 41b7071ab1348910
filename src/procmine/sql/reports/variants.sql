-- The $limit most frequent variants (first $max_steps activities each), with their running
-- share of cases, conformance fitness where mined, and the totals of the log.
WITH variants AS NOT MATERIALIZED (
    SELECT * FROM marts.variants
),
conformance AS (
    SELECT * FROM marts.conformance
),
ranked_variants AS (
    SELECT variant_id, activities, case_count, case_share, median_duration_s,
           row_number() OVER (ORDER BY case_count DESC, variant_id) AS rank
    FROM variants
),
variant_fitness AS (
    SELECT variant_id, min(fitness) AS fitness FROM conformance GROUP BY variant_id
),
log_totals AS (
    SELECT count(*) AS variant_count, sum(case_count) AS total_cases FROM variants
),
final AS (
    SELECT v.rank, v.variant_id, v.activities[1:$max_steps] AS activities,
           len(v.activities) AS steps, v.case_count, v.case_share,
           round(sum(v.case_share) OVER (ORDER BY v.rank), 9) AS cumulative_share,
           v.median_duration_s, c.fitness,
           (SELECT variant_count FROM log_totals) AS variant_count,
           (SELECT total_cases FROM log_totals) AS total_cases
    FROM ranked_variants AS v LEFT JOIN variant_fitness AS c USING (variant_id)
    WHERE v.rank <= $limit
)
SELECT * FROM final
ORDER BY rank
