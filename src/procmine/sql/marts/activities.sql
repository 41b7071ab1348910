-- marts.activities: per activity its events, cases, and how often it starts / ends a case,
-- derived from the variants (weighted by their case counts).
-- Inputs: _mine_variant (vi, activities, case_count), _mine_step_key (activity, d2c_stage).
WITH variants AS (
    SELECT * FROM _mine_variant
),
step_keys AS (
    SELECT * FROM _mine_step_key
),
variant_steps AS (
    SELECT vi, case_count,
           unnest(activities) AS activity,
           unnest(generate_series(1, len(activities))) AS i,
           len(activities) AS n
    FROM variants
),
activity_per_variant AS (
    SELECT vi, activity, any_value(case_count) AS case_count, count(*) AS times,
           bool_or(i = 1) AS starts, bool_or(i = n) AS ends
    FROM variant_steps
    GROUP BY vi, activity
),
activity_stage AS (
    SELECT activity, min(d2c_stage) AS d2c_stage FROM step_keys GROUP BY activity
),
final AS (
    SELECT p.activity,
           sum(p.case_count * p.times)::BIGINT AS event_count,
           sum(p.case_count)::BIGINT AS case_count,
           coalesce(sum(p.case_count) FILTER (WHERE p.starts), 0)::BIGINT AS start_count,
           coalesce(sum(p.case_count) FILTER (WHERE p.ends), 0)::BIGINT AS end_count,
           s.d2c_stage
    FROM activity_per_variant AS p
    LEFT JOIN activity_stage AS s USING (activity)
    GROUP BY p.activity, s.d2c_stage
)
SELECT * FROM final
ORDER BY event_count DESC, activity
