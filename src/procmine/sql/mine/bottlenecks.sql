-- marts.bottlenecks: where cases wait longest in total (median wait × cases), per d2c stage:
-- dimension 'transition' (key 'A → B'), 'group' and 'sourcing' (the holder of the case while
-- it waits). The wait of a step is the time from an event to the case's next event, in the
-- stage of the earlier event; cases = distinct cases (the step.first_* flags, variants.py).
-- rank: within (dimension, d2c_stage); overall_rank: within the dimension.
-- Input _mine_step_flags (ci, from_a, to_a, from_st, from_group, from_sourcing, wait_s,
-- has_next, first_*; group and sourcing codes name _mine_group / _mine_sourcing, 0 = NULL).
CREATE OR REPLACE TABLE marts.bottlenecks AS
WITH s AS NOT MATERIALIZED (SELECT * FROM _mine_step_flags WHERE has_next),
findings AS (
    SELECT 'transition' AS dimension, f.name || ' → ' || t.name AS key, x.from_st AS st,
           x.median_wait_s, x.mean_wait_s, x.cases, x.steps
    FROM (
        SELECT from_a, to_a, from_st, median(wait_s) AS median_wait_s,
               avg(wait_s) AS mean_wait_s, count(*) FILTER (WHERE first_transition) AS cases,
               count(*) AS steps
        FROM s GROUP BY ALL
    ) AS x
    JOIN _mine_activity AS f ON f.code = x.from_a
    JOIN _mine_activity AS t ON t.code = x.to_a
    UNION ALL
    SELECT 'group', g.name, x.from_st, x.median_wait_s, x.mean_wait_s, x.cases, x.steps
    FROM (
        SELECT from_group, from_st, median(wait_s) AS median_wait_s, avg(wait_s) AS mean_wait_s,
               count(*) FILTER (WHERE first_group) AS cases, count(*) AS steps
        FROM s WHERE from_group <> 0 GROUP BY ALL
    ) AS x
    JOIN _mine_group AS g ON g.code = x.from_group
    UNION ALL
    SELECT 'sourcing', so.name, x.from_st, x.median_wait_s, x.mean_wait_s, x.cases, x.steps
    FROM (
        SELECT from_sourcing, from_st, median(wait_s) AS median_wait_s,
               avg(wait_s) AS mean_wait_s, count(*) FILTER (WHERE first_sourcing) AS cases,
               count(*) AS steps
        FROM s WHERE from_sourcing <> 0 GROUP BY ALL
    ) AS x
    JOIN _mine_sourcing AS so ON so.code = x.from_sourcing
)
SELECT f.dimension,
       f.key,
       st.name AS d2c_stage,
       f.median_wait_s,
       f.cases::BIGINT AS cases,
       row_number() OVER (PARTITION BY f.dimension, st.name
                          ORDER BY f.median_wait_s * f.cases DESC, f.key)::INTEGER AS rank,
       f.median_wait_s * f.cases AS total_delay_s,
       f.mean_wait_s,
       f.steps::BIGINT AS steps,
       row_number() OVER (PARTITION BY f.dimension
                          ORDER BY f.median_wait_s * f.cases DESC, f.key, st.name)::INTEGER
           AS overall_rank
FROM findings AS f
LEFT JOIN _mine_stage AS st ON st.code = f.st
ORDER BY f.dimension, overall_rank;
