-- The deviations from the reference model on the process map (one row per instance in
-- process_map_deviation_rows.sql) as directly-follows pairs per filter slice, as in
-- process_map_cells.sql (NULL dimension = all values, the whole log included), with their
-- instances, cases and hours.
WITH deviations AS (   -- one row per instance, with its case's filter values
    SELECT case_type, priority, sourcing, period, case_id, hours, from_activity, to_activity
    FROM pm_render_map_deviations   -- process_map_deviation_rows.sql
),
final AS (
    SELECT case_type, priority, sourcing, period, from_activity, to_activity,
           CAST(count(*) AS BIGINT) AS instances,
           CAST(count(DISTINCT case_id) AS BIGINT) AS cases,
           round(sum(hours), 3) AS hours
    FROM deviations
    GROUP BY from_activity, to_activity, CUBE (case_type, priority, sourcing, period)
)
SELECT * FROM final
ORDER BY case_type NULLS FIRST, priority NULLS FIRST, sourcing NULLS FIRST,
         period NULLS FIRST, from_activity NULLS FIRST, to_activity NULLS FIRST
