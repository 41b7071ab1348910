-- Directly-follows pairs among the $max_activities activities that occur in most transitions,
-- with an activity order for the axes: start activities first, end activities last
-- (from marts.activities when it has rows), then by frequency.
WITH transitions AS NOT MATERIALIZED (
    SELECT * FROM marts.transitions
),
activities AS (
    SELECT * FROM marts.activities
),
activity_frequency AS (
    SELECT activity, sum(n) AS n FROM (
        SELECT from_activity AS activity, count AS n FROM transitions
        UNION ALL SELECT to_activity, count FROM transitions
    ) GROUP BY activity
),
top_activities AS (
    SELECT activity, n FROM activity_frequency ORDER BY n DESC, activity LIMIT $max_activities
),
ordered_activities AS (
    SELECT t.activity,
           row_number() OVER (ORDER BY coalesce((a.start_count - a.end_count)
                                                / nullif(a.event_count, 0), 0) DESC,
                              t.n DESC, t.activity) AS activity_order
    FROM top_activities AS t LEFT JOIN activities AS a USING (activity)
),
final AS (
    SELECT x.from_activity, x.to_activity, x.count, x.median_wait_s, x.mean_wait_s,
           x.p90_wait_s,
           round(x.median_wait_s / 3600, 4) AS median_wait_h,
           round(x.mean_wait_s / 3600, 4) AS mean_wait_h,
           round(x.p90_wait_s / 3600, 4) AS p90_wait_h,
           round(x.median_wait_s * x.count / 3600, 3) AS total_delay_h,
           f.activity_order AS from_order, o.activity_order AS to_order
    FROM transitions AS x
    JOIN ordered_activities AS f ON f.activity = x.from_activity
    JOIN ordered_activities AS o ON o.activity = x.to_activity
)
SELECT * FROM final
ORDER BY from_order, to_order
