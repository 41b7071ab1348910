-- marts.activities: per activity its events, cases, and how often it starts / ends a case,
-- derived from the variants (weighted by their case counts).
CREATE OR REPLACE TABLE marts.activities AS
WITH steps AS (
    SELECT vi, case_count,
           unnest(activities) AS activity,
           unnest(generate_series(1, len(activities))) AS i,
           len(activities) AS n
    FROM _mine_variant
),
per_variant AS (
    SELECT vi, activity, any_value(case_count) AS case_count, count(*) AS times,
           bool_or(i = 1) AS starts, bool_or(i = n) AS ends
    FROM steps
    GROUP BY vi, activity
),
stage AS (
    SELECT activity, min(d2c_stage) AS d2c_stage FROM _mine_step_key GROUP BY activity
)
SELECT p.activity,
       sum(p.case_count * p.times)::BIGINT AS event_count,
       sum(p.case_count)::BIGINT AS case_count,
       coalesce(sum(p.case_count) FILTER (WHERE p.starts), 0)::BIGINT AS start_count,
       coalesce(sum(p.case_count) FILTER (WHERE p.ends), 0)::BIGINT AS end_count,
       s.d2c_stage
FROM per_variant AS p
LEFT JOIN stage AS s USING (activity)
GROUP BY p.activity, s.d2c_stage
ORDER BY event_count DESC, activity;
