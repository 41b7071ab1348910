-- The deviations from the reference model on the process map: marts.waste's deviation
-- instances ("<activity> after <previous activity | the start> is not in the reference
-- model", one per case and step the model does not allow) as directly-follows pairs
-- (from_activity NULL: the case starts with it), per filter slice as in
-- process_map_cells.sql (NULL dimension = all values, the whole log included), with their
-- instances, cases and hours.
WITH waste AS (
    SELECT case_id, evidence, hours FROM pm_render_waste_rows WHERE waste_type = 'deviation'
),
case_attributes AS NOT MATERIALIZED (
    SELECT case_id, coalesce(case_type, '(none)') AS case_type,
           coalesce(priority, '(none)') AS priority, coalesce(sourcing, '(none)') AS sourcing,
           CAST(date_trunc($grain, opened_day) AS DATE) AS period
    FROM pm_render_case
),
top_case_types AS (
    SELECT case_type AS v FROM case_attributes GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
top_priorities AS (
    SELECT priority AS v FROM case_attributes GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
top_sourcings AS (
    SELECT sourcing AS v FROM case_attributes GROUP BY 1
    ORDER BY count(*) DESC, 1 LIMIT $max_categories
),
latest_periods AS (
    SELECT period AS v FROM case_attributes WHERE period IS NOT NULL GROUP BY 1
    ORDER BY period DESC LIMIT $max_periods
),
case_slices AS (
    SELECT case_id,
           CASE WHEN case_type IN (SELECT v FROM top_case_types) THEN case_type
                ELSE 'other' END AS case_type,
           CASE WHEN priority IN (SELECT v FROM top_priorities) THEN priority
                ELSE 'other' END AS priority,
           CASE WHEN sourcing IN (SELECT v FROM top_sourcings) THEN sourcing
                ELSE 'other' END AS sourcing,
           CASE WHEN period IS NULL THEN '(none)'
                WHEN period IN (SELECT v FROM latest_periods) THEN strftime(period, '%Y-%m-%d')
                ELSE 'earlier' END AS period
    FROM case_attributes
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
