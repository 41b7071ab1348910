-- The $limit most frequent variants (first $max_steps activities each), with their running
-- share of cases, conformance fitness where mined, and the totals of the log.
WITH v AS (
    SELECT variant_id, activities, case_count, case_share, median_duration_s,
           row_number() OVER (ORDER BY case_count DESC, variant_id) AS rank
    FROM marts.variants
),
conf AS (
    SELECT variant_id, min(fitness) AS fitness FROM marts.conformance GROUP BY variant_id
)
SELECT v.rank, v.variant_id, v.activities[1:$max_steps] AS activities,
       len(v.activities) AS steps, v.case_count, v.case_share,
       round(sum(v.case_share) OVER (ORDER BY v.rank), 9) AS cumulative_share,
       v.median_duration_s, c.fitness,
       (SELECT count(*) FROM marts.variants) AS variant_count,
       (SELECT sum(case_count) FROM marts.variants) AS total_cases
FROM v LEFT JOIN conf c USING (variant_id)
WHERE v.rank <= $limit
ORDER BY v.rank;
