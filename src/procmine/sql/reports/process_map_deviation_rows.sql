-- The deviations from the reference model on the process map, one row per instance: marts.waste's
-- deviation instances ("<activity> after <previous activity | the start> is not in the reference
-- model", one per case and step the model does not allow) as directly-follows pairs
-- (from_activity NULL: the case starts with it), with their hours and the filter values of
-- their case (process_map_case_slices.sql). Shared by process_map_deviations.sql (per slice)
-- and process_map_deviations_whole.sql (the whole log), which keep only their grouping;
-- materialised by render/marts.py as the temp table pm_render_map_deviations, after the
-- slices it reads (pm_render_map_slices, per parameters).
WITH waste AS (
    SELECT case_id, evidence, hours FROM pm_render_waste_rows WHERE waste_type = 'deviation'
),
case_slices AS (
    SELECT case_id, case_type, priority, sourcing, period FROM pm_render_map_slices
),
-- each distinct text parsed once (a handful at 10M events), not each instance (regexp_extract
-- into a struct: ~4 µs a row); MATERIALIZED keeps the parse from moving above the join
deviation_texts AS MATERIALIZED (
    SELECT evidence,
           regexp_extract(evidence, '^(.*) after (.*) is not in the reference model$',
                          ['to_activity', 'from_activity']) AS pair
    FROM (SELECT DISTINCT evidence FROM waste)
    WHERE regexp_matches(evidence, '^(.*) after (.*) is not in the reference model$')
),
deviation_pairs AS (
    SELECT w.case_id, w.hours, t.pair
    FROM waste AS w JOIN deviation_texts AS t USING (evidence)
),
final AS (
    SELECT s.case_type, s.priority, s.sourcing, s.period, d.case_id, d.hours,
           nullif(d.pair.from_activity, 'the start') AS from_activity,
           d.pair.to_activity AS to_activity
    FROM deviation_pairs AS d JOIN case_slices AS s USING (case_id)
)
SELECT * FROM final
