-- The deviations from the reference model on the process map: marts.waste's deviation
-- instances ("<activity> after <previous activity | the start> is not in the reference
-- model", one per case and step the model does not allow) as directly-follows pairs
-- (from_activity NULL: the case starts with it), per filter slice as in
-- process_map_cells.sql (NULL dimension = all values, the whole log included), with their
-- instances, cases and hours.
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
final AS (
    SELECT case_type, priority, sourcing, period, from_activity, to_activity,
           CAST(count(*) AS BIGINT) AS instances,
           CAST(count(DISTINCT case_id) AS BIGINT) AS cases,
           round(sum(hours), 3) AS hours
    FROM sliced
    GROUP BY from_activity, to_activity, CUBE (case_type, priority, sourcing, period)
)
SELECT * FROM final
ORDER BY case_type NULLS FIRST, priority NULLS FIRST, sourcing NULLS FIRST,
         period NULLS FIRST, from_activity NULLS FIRST, to_activity NULLS FIRST
