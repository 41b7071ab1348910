-- marts.handoff_matrix: hand-offs between groups and between sourcings (hub, spokes,
-- vendors): count, distinct cases, and the wait they add (from the hand-off to the case's
-- next event, total and median). Input _mine_handoff (groupings.py: one row per handoff
-- instance with its from/to group and sourcing codes; first_group / first_sourcing flag the
-- pair's first hand-off in the case, so their sums count distinct cases); names from
-- _mine_group / _mine_sourcing (code 0 = NULL).
CREATE OR REPLACE TABLE marts.handoff_matrix AS
WITH by_group AS (
    SELECT from_group, to_group, count(*) AS handoffs,
           count(*) FILTER (WHERE first_group) AS cases,
           sum(dwell_s) AS added_wait_s, median(dwell_s) AS median_added_wait_s
    FROM _mine_handoff GROUP BY ALL
),
by_sourcing AS (
    SELECT from_sourcing, to_sourcing, count(*) AS handoffs,
           count(*) FILTER (WHERE first_sourcing) AS cases,
           sum(dwell_s) AS added_wait_s, median(dwell_s) AS median_added_wait_s
    FROM _mine_handoff GROUP BY ALL
)
SELECT 'group' AS dimension, f.name AS from_key, t.name AS to_key,
       x.handoffs::BIGINT AS handoffs, x.cases::BIGINT AS cases,
       x.added_wait_s, x.median_added_wait_s
FROM by_group AS x
JOIN _mine_group AS f ON f.code = x.from_group
JOIN _mine_group AS t ON t.code = x.to_group
UNION ALL
SELECT 'sourcing', f.name, t.name, x.handoffs, x.cases, x.added_wait_s, x.median_added_wait_s
FROM by_sourcing AS x
JOIN _mine_sourcing AS f ON f.code = x.from_sourcing
JOIN _mine_sourcing AS t ON t.code = x.to_sourcing
ORDER BY dimension, handoffs DESC, from_key, to_key;
