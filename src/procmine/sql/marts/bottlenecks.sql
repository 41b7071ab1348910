-- marts.bottlenecks: where cases wait longest in total (median wait × cases), per d2c stage:
-- dimension 'transition' (key 'A → B'), 'group' and 'sourcing' (the holder of the case while
-- it waits). The wait of a step is the time from an event to the case's next event, in the
-- stage of the earlier event; cases = distinct cases (the step.first_* flags, variants.py).
-- clock: the class of the waits (mine/clock.py): 'internal' (delay the organisation can
-- shorten), 'customer' (waiting for the user) or 'policy' (resolved until closed, planned
-- waits); a key's waits of different classes are separate rows. The ranking leads with what
-- the organisation can change: rank (within dimension, d2c_stage) and overall_rank (within
-- the dimension) put every internal row before the clock-stopped ones; clock_rank ranks
-- within (dimension, clock).
-- Inputs: _mine_step_flags (ci, from_a, to_a, from_st, from_group, from_sourcing, dwell_us,
-- has_next, first_*, clock; group and sourcing codes name _mine_group / _mine_sourcing,
-- 0 = NULL), the code tables _mine_activity, _mine_group, _mine_sourcing, _mine_stage,
-- _mine_clock (code, name).
WITH step_rows AS NOT MATERIALIZED (
    SELECT * FROM _mine_step_flags
),
activities AS NOT MATERIALIZED (
    SELECT * FROM _mine_activity
),
org_groups AS (
    SELECT * FROM _mine_group
),
sourcings AS (
    SELECT * FROM _mine_sourcing
),
stages AS (
    SELECT * FROM _mine_stage
),
clock_classes AS (
    SELECT * FROM _mine_clock
),
waits AS NOT MATERIALIZED (   -- steps followed by another event: each a wait, in seconds
    SELECT *, dwell_us / 1e6 AS wait_s FROM step_rows WHERE has_next
),
transition_waits AS (
    SELECT from_a, to_a, from_st, clock, median(wait_s) AS median_wait_s,
           avg(wait_s) AS mean_wait_s, count(*) FILTER (WHERE first_transition) AS cases,
           count(*) AS steps
    FROM waits GROUP BY ALL
),
group_waits AS (
    SELECT from_group, from_st, clock, median(wait_s) AS median_wait_s, avg(wait_s) AS mean_wait_s,
           count(*) FILTER (WHERE first_group) AS cases, count(*) AS steps
    FROM waits WHERE from_group <> 0 GROUP BY ALL
),
sourcing_waits AS (
    SELECT from_sourcing, from_st, clock, median(wait_s) AS median_wait_s,
           avg(wait_s) AS mean_wait_s, count(*) FILTER (WHERE first_sourcing) AS cases,
           count(*) AS steps
    FROM waits WHERE from_sourcing <> 0 GROUP BY ALL
),
findings AS (
    SELECT 'transition' AS dimension, f.name || ' → ' || t.name AS key, x.from_st AS st,
           x.clock, x.median_wait_s, x.mean_wait_s, x.cases, x.steps
    FROM transition_waits AS x
    JOIN activities AS f ON f.code = x.from_a
    JOIN activities AS t ON t.code = x.to_a
    UNION ALL
    SELECT 'group', g.name, x.from_st, x.clock, x.median_wait_s, x.mean_wait_s, x.cases, x.steps
    FROM group_waits AS x
    JOIN org_groups AS g ON g.code = x.from_group
    UNION ALL
    SELECT 'sourcing', so.name, x.from_st, x.clock, x.median_wait_s, x.mean_wait_s, x.cases, x.steps
    FROM sourcing_waits AS x
    JOIN sourcings AS so ON so.code = x.from_sourcing
),
named AS (
    SELECT f.*, st.name AS d2c_stage, c.name AS clock_class,
           f.clock <> 0 AS stopped   -- code 0: internal
    FROM findings AS f
    LEFT JOIN stages AS st ON st.code = f.st
    JOIN clock_classes AS c ON c.code = f.clock
),
final AS (
    SELECT f.dimension,
           f.key,
           f.d2c_stage,
           f.median_wait_s,
           f.cases::BIGINT AS cases,
           row_number() OVER (PARTITION BY f.dimension, f.d2c_stage
                              ORDER BY f.stopped, f.median_wait_s * f.cases DESC, f.key,
                                       f.clock)::INTEGER AS rank,
           f.median_wait_s * f.cases AS total_delay_s,
           f.mean_wait_s,
           f.steps::BIGINT AS steps,
           row_number() OVER (PARTITION BY f.dimension
                              ORDER BY f.stopped, f.median_wait_s * f.cases DESC, f.key,
                                       f.d2c_stage, f.clock)::INTEGER AS overall_rank,
           f.clock_class AS clock,
           row_number() OVER (PARTITION BY f.dimension, f.clock
                              ORDER BY f.median_wait_s * f.cases DESC, f.key, f.d2c_stage
                              )::INTEGER AS clock_rank
    FROM named AS f
)
SELECT * FROM final
ORDER BY dimension, overall_rank
