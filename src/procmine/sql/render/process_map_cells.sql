-- The process map per filter slice: for every combination of at least one filter (record
-- type, priority, sourcing, period) and every directly-follows pair, its absolute and case
-- frequency and its waits (median, mean, total), from core.events in canonical order (ts,
-- source_file, source_row, seq: the order marts.transitions is mined in); plus the start
-- and end pairs (from_activity NULL: a case starts; to_activity NULL: a case ends, no wait).
-- kind 'node' rows: per activity its events (count) and cases (to_activity NULL).
-- The whole log (no filter) is not here: the page takes it from the marts themselves.
-- Case attributes come from pm_render_case (marts.case_kpis); each dimension keeps its
-- $max_categories most frequent values, the rest is 'other', NULL is '(none)'; periods are
-- date_trunc($grain, opened day), the $max_periods latest (older ones are 'earlier').
-- NULL in a dimension column of the result means "all values" (grouping).
WITH events AS (
    SELECT case_id, activity, ts, source_file, source_row, seq FROM core.events
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
ordered_events AS (
    SELECT case_id, activity,
           lead(activity) OVER by_case AS next_activity,
           epoch(lead(ts) OVER by_case) - epoch(ts) AS wait_s,
           row_number() OVER by_case = 1 AS first_event
    FROM events
    WINDOW by_case AS (PARTITION BY case_id ORDER BY ts, source_file, source_row, seq)
),
all_pairs AS (
    SELECT case_id, activity AS from_activity, next_activity AS to_activity, wait_s
    FROM ordered_events
    UNION ALL
    SELECT case_id, NULL, activity, NULL FROM ordered_events WHERE first_event
),
pairs AS (   -- first_in_case: counted once per case (case frequency without DISTINCT)
    SELECT *, row_number() OVER (PARTITION BY case_id, from_activity, to_activity) = 1
                  AS first_in_case
    FROM all_pairs
),
activity_visits AS (   -- first_in_case: the case's first event of this activity
    SELECT case_id, activity,
           row_number() OVER (PARTITION BY case_id, activity) = 1 AS first_in_case
    FROM ordered_events
),
sliced_visits AS (
    SELECT s.case_type, s.priority, s.sourcing, s.period, v.activity, v.first_in_case
    FROM activity_visits AS v JOIN case_slices AS s USING (case_id)
),
per_slice_activities AS (
    SELECT case_type, priority, sourcing, period, activity,
           grouping(case_type, priority, sourcing, period) AS all_mask,
           count(*) AS count,
           count(*) FILTER (WHERE first_in_case) AS cases
    FROM sliced_visits
    GROUP BY activity, CUBE (case_type, priority, sourcing, period)
),
sliced_pairs AS (
    SELECT s.case_type, s.priority, s.sourcing, s.period, p.case_id, p.from_activity,
           p.to_activity, p.wait_s, p.first_in_case
    FROM pairs AS p JOIN case_slices AS s USING (case_id)
),
per_slice AS (
    SELECT case_type, priority, sourcing, period, from_activity, to_activity,
           grouping(case_type, priority, sourcing, period) AS all_mask,
           count(*) AS count,
           count(*) FILTER (WHERE first_in_case) AS cases,
           median(wait_s) AS median_wait_s,
           avg(wait_s) AS mean_wait_s,
           sum(wait_s) AS total_wait_s
    FROM sliced_pairs
    GROUP BY from_activity, to_activity, CUBE (case_type, priority, sourcing, period)
),
final AS (
    SELECT 'edge' AS kind, case_type, priority, sourcing, period, from_activity,
           to_activity, CAST(count AS BIGINT) AS count, CAST(cases AS BIGINT) AS cases,
           median_wait_s, mean_wait_s, total_wait_s
    FROM per_slice
    WHERE all_mask <> 15
    UNION ALL
    SELECT 'node', case_type, priority, sourcing, period, activity, NULL,
           CAST(count AS BIGINT), CAST(cases AS BIGINT), NULL, NULL, NULL
    FROM per_slice_activities
    WHERE all_mask <> 15
)
SELECT * FROM final
ORDER BY kind, case_type NULLS FIRST, priority NULLS FIRST, sourcing NULLS FIRST,
         period NULLS FIRST, from_activity NULLS FIRST, to_activity NULLS FIRST
