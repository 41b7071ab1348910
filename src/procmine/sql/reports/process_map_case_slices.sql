-- Each case's filter values on the process map (record type, priority, sourcing, period),
-- shared by process_map_cells.sql and process_map_deviation_rows.sql, which the page runs
-- with the same parameters: each dimension keeps its $max_categories most frequent values, the
-- rest is 'other', NULL is '(none)'; periods are date_trunc($grain, opened day), the
-- $max_periods latest (older ones are 'earlier'). Case attributes from pm_render_case
-- (marts.case_kpis). Materialised by render/marts.py as the temp table pm_render_map_slices.
-- $all_cases false (a map too big to slice: only its deviations read the slices): only the
-- cases with a deviation get a row (the most frequent values are still those of every case).
WITH deviations AS (   -- (none read when $all_cases)
    SELECT case_id FROM pm_render_waste_rows WHERE NOT $all_cases AND waste_type = 'deviation'
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
final AS (
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
    WHERE $all_cases OR case_id IN (SELECT case_id FROM deviations)
)
SELECT * FROM final
