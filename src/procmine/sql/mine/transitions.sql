-- marts.transitions: the directly-follows graph with frequencies and waits (seconds from an
-- event to the next one of its case), as pm4py's discover_dfg / discover_performance_dfg.
-- Input _mine_steps (variants.py): ci, from_a, to_a, from_st, from_holder, wait_s, has_next.
CREATE OR REPLACE TABLE marts.transitions AS
WITH agg AS (
    SELECT from_a, to_a,
           count(*) AS n,
           quantile_cont(wait_s, [0.5, 0.9]) AS quantiles,   -- one sort for both
           avg(wait_s) AS mean_wait_s,
           sum(wait_s) AS total_wait_s
    FROM _mine_steps
    WHERE has_next
    GROUP BY from_a, to_a
)
SELECT f.name AS from_activity,
       t.name AS to_activity,
       agg.n::BIGINT AS count,
       agg.quantiles[1] AS median_wait_s,
       agg.mean_wait_s,
       agg.quantiles[2] AS p90_wait_s,
       agg.total_wait_s
FROM agg
JOIN _mine_activity AS f ON f.code = agg.from_a
JOIN _mine_activity AS t ON t.code = agg.to_a
ORDER BY count DESC, from_activity, to_activity;
