-- marts.bottlenecks: where cases wait longest in total (median wait × cases), per d2c stage:
-- dimension 'transition' (key 'A → B'), 'group' and 'sourcing' (the holder of the case while
-- it waits). The wait of a step is the time from an event to the case's next event, in the
-- stage of the earlier event; cases = distinct cases.
-- clock: the class of the waits (mine/clock.py): 'internal' (delay the organisation can
-- shorten), 'customer' (waiting for the user) or 'policy' (resolved until closed, planned
-- waits); a key's waits of different classes are separate rows. The ranking leads with what
-- the organisation can change: rank (within dimension, d2c_stage) and overall_rank (within
-- the dimension) put every internal row before the clock-stopped ones; clock_rank ranks
-- within (dimension, clock).
-- Inputs: the waits per (transition, stage, clock), (group, stage, clock) and (sourcing,
-- stage, clock) (steps.py; steps without a group / sourcing left out): _mine_transition_waits
-- (from_a, to_a, ...), _mine_group_waits (from_group, ...), _mine_sourcing_waits
-- (from_sourcing, ...), each with from_st, clock, median_wait_s and mean_wait_s (seconds, as
-- median and avg give them), cases (distinct cases) and steps; the code tables
-- _mine_activity, _mine_group, _mine_sourcing, _mine_stage, _mine_clock (code, name).
WITH transition_waits AS (
    SELECT * FROM _mine_transition_waits
),
group_waits AS (
    SELECT * FROM _mine_group_waits
),
sourcing_waits AS (
    SELECT * FROM _mine_sourcing_waits
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
