-- The deviations on the process map of a log too big to slice (process_map.py
-- MAX_SLICED_EVENTS: the page shows the whole log only): process_map_deviations.sql's rows of
-- the whole log (every dimension NULL), plus one row per value each dimension takes among
-- the deviating cases (from/to NULL), which name the page's (disabled) filters as they
-- would from every slice. The same rows the page reads from the full CUBE, without the 15
-- slice groupings and their distinct case counts it does not show (10M events, loaded 2-core
-- machine: 0.8-4.0 s against 0.1-0.9 s).
WITH deviations AS (   -- one row per instance, with its case's filter values
    SELECT case_type, priority, sourcing, period, case_id, hours, from_activity, to_activity
    FROM pm_render_map_deviations   -- process_map_deviation_rows.sql
),
whole_log AS (
    SELECT NULL::VARCHAR AS case_type, NULL::VARCHAR AS priority, NULL::VARCHAR AS sourcing,
           NULL::VARCHAR AS period, from_activity, to_activity,
           CAST(count(*) AS BIGINT) AS instances,
           CAST(count(DISTINCT case_id) AS BIGINT) AS cases,
           round(sum(hours), 3) AS hours
    FROM deviations
    GROUP BY from_activity, to_activity
),
dimension_values AS (
    SELECT case_type, priority, sourcing, period, NULL::VARCHAR AS from_activity,
           NULL::VARCHAR AS to_activity, NULL::BIGINT AS instances, NULL::BIGINT AS cases,
           NULL::DOUBLE AS hours
    FROM deviations
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
