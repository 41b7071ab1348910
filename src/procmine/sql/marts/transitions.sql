-- marts.transitions: the directly-follows graph with frequencies and waits (seconds from an
-- event to the next one of its case), as pm4py's discover_dfg / discover_performance_dfg.
-- Inputs: _mine_pair_waits (steps.py: per activity pair from_a, to_a with steps, their
-- count n and the median, p90, mean and total of their waits in seconds, as quantile_cont,
-- avg and sum give them), _mine_activity (code, name).
WITH pair_waits AS (
    SELECT * FROM _mine_pair_waits
),
activities AS NOT MATERIALIZED (
    SELECT * FROM _mine_activity
),
final AS (
    SELECT f.name AS from_activity,
           t.name AS to_activity,
           p.n::BIGINT AS count,
           p.median_wait_s,
           p.mean_wait_s,
           p.p90_wait_s,
           p.total_wait_s
    FROM pair_waits AS p
    JOIN activities AS f ON f.code = p.from_a
    JOIN activities AS t ON t.code = p.to_a
)
SELECT * FROM final
ORDER BY count DESC, from_activity, to_activity
