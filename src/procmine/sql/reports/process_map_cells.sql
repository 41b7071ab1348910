-- The process map per filter slice: for every combination of filters (record type,
-- priority, sourcing, period) and every directly-follows pair, its absolute and case
-- frequency and its waits (mean, total; the median where at most $median_filters filters are
-- combined, else NULL); plus the start and end pairs
-- (from_activity NULL: a case starts; to_activity NULL: a case ends, no wait) and, as kind
-- 'node' rows (from_activity = the activity), each activity's events and cases.
-- Events from the mining index core.event_codes: integer-coded, each case's events
-- contiguous and in canonical order (ts, source_file, source_row, seq), the order
-- marts.transitions is mined in, which its row order keeps (mine/events.py reads it so).
-- The whole log (no filter) is not here: the page takes it from the marts themselves.
-- Each case's filter values come from pm_render_map_slices (process_map_case_slices.sql).
-- NULL in a dimension column of the result means "all values". Counts and wait sums are
-- added up from one grouping by every attribute; a median needs one grouping of the events
-- per combination (events × combinations), hence $median_filters.
WITH event_codes AS (
    SELECT rowid AS position, case_key, t, step FROM core.event_codes
),
case_keys AS (
    SELECT case_key, case_id FROM core.case_keys
),
step_codes AS (
    SELECT code AS step, activity FROM core.step_codes
),
activity_ids AS NOT MATERIALIZED (   -- one integer per activity name (codes also split by
    SELECT step, activity, dense_rank() OVER (ORDER BY activity) AS aid   -- stage, source)
    FROM step_codes
),
case_values AS (   -- the filter values of each case (process_map_case_slices.sql)
    SELECT k.case_key, v.case_type, v.priority, v.sourcing, v.period
    FROM pm_render_map_slices AS v JOIN case_keys AS k USING (case_id)
),
case_slices AS MATERIALIZED (   -- slice: one integer per combination of the four values
    SELECT *, dense_rank() OVER (ORDER BY case_type, priority, sourcing, period) AS slice
    FROM case_values
),
slices AS (
    SELECT DISTINCT slice, case_type, priority, sourcing, period FROM case_slices
),
ordered_events AS MATERIALIZED (
    SELECT e.case_key, a.aid,
           lead(a.aid) OVER by_case AS next_aid,
           (lead(e.t) OVER by_case - e.t) / 1e6 AS wait_s,
           row_number() OVER by_case = 1 AS first_event
    FROM event_codes AS e JOIN activity_ids AS a USING (step)
    WINDOW by_case AS (PARTITION BY e.case_key ORDER BY e.position)
),
pairs AS MATERIALIZED (
    SELECT case_key, aid AS from_aid, next_aid AS to_aid, wait_s FROM ordered_events
    UNION ALL
    SELECT case_key, NULL, aid, NULL FROM ordered_events WHERE first_event
),
activity_names AS (
    SELECT DISTINCT aid, activity FROM activity_ids
),
case_pairs AS (   -- per case and pair first: then a case counts once per pair
    SELECT s.slice, p.case_key, p.from_aid, p.to_aid, count(*) AS count,
           sum(p.wait_s) AS total_wait_s, count(p.wait_s) AS waits
    FROM pairs AS p JOIN case_slices AS s USING (case_key)
    GROUP BY ALL
),
finest_pair_ids AS (   -- additive measures per slice (the slices' cases are disjoint)
    SELECT slice, from_aid, to_aid, sum(count) AS count, count(*) AS cases,
           sum(total_wait_s) AS total_wait_s, sum(waits) AS waits
    FROM case_pairs
    GROUP BY ALL
),
finest_pairs AS (
    SELECT s.case_type, s.priority, s.sourcing, s.period, p.* EXCLUDE (slice, from_aid, to_aid),
           f.activity AS from_activity, t.activity AS to_activity
    FROM finest_pair_ids AS p
    JOIN slices AS s USING (slice)
    LEFT JOIN activity_names AS f ON f.aid = p.from_aid
    LEFT JOIN activity_names AS t ON t.aid = p.to_aid
),
case_visits AS (
    SELECT s.slice, o.case_key, o.aid, count(*) AS count
    FROM ordered_events AS o JOIN case_slices AS s USING (case_key)
    GROUP BY ALL
),
finest_activities AS (
    SELECT s.case_type, s.priority, s.sourcing, s.period, n.activity,
           sum(v.count) AS count, count(*) AS cases
    FROM case_visits AS v
    JOIN slices AS s USING (slice)
    JOIN activity_names AS n USING (aid)
    GROUP BY ALL
),
filter_sets AS (   -- bit 1 record type, 2 priority, 4 sourcing, 8 period
    SELECT mask FROM range(1, 16) AS r(mask)
),
pair_slices AS (
    SELECT f.mask,
           CASE WHEN f.mask & 1 > 0 THEN p.case_type END AS case_type,
           CASE WHEN f.mask & 2 > 0 THEN p.priority END AS priority,
           CASE WHEN f.mask & 4 > 0 THEN p.sourcing END AS sourcing,
           CASE WHEN f.mask & 8 > 0 THEN p.period END AS period,
           p.from_activity, p.to_activity,
           sum(p.count) AS count, sum(p.cases) AS cases,
           sum(p.total_wait_s) AS total_wait_s, sum(p.waits) AS waits
    FROM finest_pairs AS p CROSS JOIN filter_sets AS f
    GROUP BY ALL
),
activity_slices AS (
    SELECT CASE WHEN f.mask & 1 > 0 THEN a.case_type END AS case_type,
           CASE WHEN f.mask & 2 > 0 THEN a.priority END AS priority,
           CASE WHEN f.mask & 4 > 0 THEN a.sourcing END AS sourcing,
           CASE WHEN f.mask & 8 > 0 THEN a.period END AS period,
           a.activity, sum(a.count) AS count, sum(a.cases) AS cases
    FROM finest_activities AS a CROSS JOIN filter_sets AS f
    GROUP BY ALL
),
median_sets AS (   -- medians are not additive: one grouping per slice, so only up to
    SELECT mask FROM filter_sets   -- $median_filters filters combined
    WHERE bit_count(CAST(mask AS TINYINT)) <= $median_filters
),
median_slices AS (
    SELECT f.mask,
           CASE WHEN f.mask & 1 > 0 THEN s.case_type END AS case_type,
           CASE WHEN f.mask & 2 > 0 THEN s.priority END AS priority,
           CASE WHEN f.mask & 4 > 0 THEN s.sourcing END AS sourcing,
           CASE WHEN f.mask & 8 > 0 THEN s.period END AS period,
           f_name.activity AS from_activity, t_name.activity AS to_activity,
           median(p.wait_s) AS median_wait_s
    FROM pairs AS p
    JOIN case_slices AS s USING (case_key)
    CROSS JOIN median_sets AS f
    JOIN activity_names AS f_name ON f_name.aid = p.from_aid
    JOIN activity_names AS t_name ON t_name.aid = p.to_aid
    GROUP BY ALL
),
final AS (
    SELECT 'edge' AS kind, p.case_type, p.priority, p.sourcing, p.period, p.from_activity,
           p.to_activity, CAST(p.count AS BIGINT) AS count, CAST(p.cases AS BIGINT) AS cases,
           m.median_wait_s, p.total_wait_s / nullif(p.waits, 0) AS mean_wait_s,
           p.total_wait_s
    FROM pair_slices AS p
    LEFT JOIN median_slices AS m
           ON m.mask = p.mask AND m.case_type IS NOT DISTINCT FROM p.case_type
          AND m.priority IS NOT DISTINCT FROM p.priority
          AND m.sourcing IS NOT DISTINCT FROM p.sourcing
          AND m.period IS NOT DISTINCT FROM p.period
          AND m.from_activity IS NOT DISTINCT FROM p.from_activity
          AND m.to_activity IS NOT DISTINCT FROM p.to_activity
    UNION ALL
    SELECT 'node', case_type, priority, sourcing, period, activity, NULL,
           CAST(count AS BIGINT), CAST(cases AS BIGINT), NULL, NULL, NULL
    FROM activity_slices
)
SELECT * FROM final
ORDER BY kind, case_type NULLS FIRST, priority NULLS FIRST, sourcing NULLS FIRST,
         period NULLS FIRST, from_activity NULLS FIRST, to_activity NULLS FIRST
