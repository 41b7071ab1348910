-- marts.transitions: the directly-follows graph with frequencies and waits (seconds from an
-- event to the next one of its case), as pm4py's discover_dfg / discover_performance_dfg.
-- Inputs: _mine_steps (variants.py: ci, from_a, to_a, from_st, from_holder, dwell_us,
-- has_next), _mine_activity (code, name).
WITH step_rows AS (
    SELECT * FROM _mine_steps
),
activities AS NOT MATERIALIZED (
    SELECT * FROM _mine_activity
),
steps AS (   -- waits in seconds (the event arrays hold microseconds)
    SELECT *, dwell_us / 1e6 AS wait_s FROM step_rows
),
pair_waits AS (
    SELECT from_a, to_a,
           count(*) AS n,
           quantile_cont(wait_s, [0.5, 0.9]) AS quantiles,   -- one sort for both
           avg(wait_s) AS mean_wait_s,
           sum(wait_s) AS total_wait_s
    FROM steps
    WHERE has_next
    GROUP BY from_a, to_a
),
final AS (
    SELECT f.name AS from_activity,
           t.name AS to_activity,
           p.n::BIGINT AS count,
           p.quantiles[1] AS median_wait_s,
           p.mean_wait_s,
           p.quantiles[2] AS p90_wait_s,
           p.total_wait_s
    FROM pair_waits AS p
    JOIN activities AS f ON f.code = p.from_a
    JOIN activities AS t ON t.code = p.to_a
)
SELECT * FROM final
ORDER BY count DESC, from_activity, to_activity
