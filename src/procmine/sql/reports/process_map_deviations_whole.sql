-- The deviations on the process map of a log too big to slice (process_map.py
-- MAX_SLICED_EVENTS: the page shows the whole log only): process_map_deviations.sql's rows of
-- the whole log (every dimension NULL), plus one row per value each dimension takes among
-- the deviating cases (from/to NULL), which name the page's (disabled) filters as they
-- would from every slice. The same rows the page reads from the full CUBE, without the 15
-- slice groupings and their distinct case counts it does not show (10M events, loaded 2-core
-- machine: 0.8-4.0 s against 0.1-0.9 s).
WITH waste AS (
    SELECT case_id, evidence, hours FROM pm_render_waste_rows WHERE waste_type = 'deviation'
),
case_slices AS (   -- the filter values of each case (process_map_case_slices.sql)
    SELECT case_id, case_type, priority, sourcing, period FROM pm_render_map_slices
),
deviation_pairs AS (
    SELECT case_id, hours,
           regexp_extract(evidence, '^(.*) after (.*) is not in the reference model$',
                          ['to_activity', 'from_activity']) AS pair
    FROM waste
    WHERE regexp_matches(evidence, '^(.*) after (.*) is not in the reference model$')
),
sliced AS (
    SELECT s.case_type, s.priority, s.sourcing, s.period, d.case_id, d.hours,
           nullif(d.pair.from_activity, 'the start') AS from_activity,
           d.pair.to_activity AS to_activity
    FROM deviation_pairs AS d JOIN case_slices AS s USING (case_id)
),
whole_log AS (
    SELECT NULL::VARCHAR AS case_type, NULL::VARCHAR AS priority, NULL::VARCHAR AS sourcing,
           NULL::VARCHAR AS period, from_activity, to_activity,
           CAST(count(*) AS BIGINT) AS instances,
           CAST(count(DISTINCT case_id) AS BIGINT) AS cases,
           round(sum(hours), 3) AS hours
    FROM sliced
    GROUP BY from_activity, to_activity
),
dimension_values AS (
    SELECT case_type, priority, sourcing, period, NULL::VARCHAR AS from_activity,
           NULL::VARCHAR AS to_activity, NULL::BIGINT AS instances, NULL::BIGINT AS cases,
           NULL::DOUBLE AS hours
    FROM sliced
    GROUP BY GROUPING SETS ((case_type), (priority), (sourcing), (period))
),
final AS (
    SELECT * FROM whole_log
    UNION ALL
    SELECT * FROM dimension_values
)
SELECT * FROM final
ORDER BY case_type NULLS FIRST, priority NULLS FIRST, sourcing NULLS FIRST,
         period NULLS FIRST, from_activity NULLS FIRST, to_activity NULLS FIRST
