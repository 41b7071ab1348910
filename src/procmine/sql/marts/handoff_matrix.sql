-- marts.handoff_matrix: hand-offs between groups and between sourcings (hub, spokes,
-- vendors): count, distinct cases, and the wait they add (from the hand-off to the case's
-- next event, total and median). Input _mine_handoff (groupings.py: one row per handoff
-- instance with its from/to group and sourcing codes; first_group / first_sourcing flag the
-- pair's first hand-off in the case, so their sums count distinct cases); names from
-- _mine_group / _mine_sourcing (code 0 = NULL).
-- (_mine_handoff is imported twice, each read once: DuckDB materialises a CTE over a Python
-- table that is read twice, even NOT MATERIALIZED, and copying it costs ~10% at 2M hand-offs.)
WITH group_handoffs AS (
    SELECT from_group, to_group, first_group, dwell_s FROM _mine_handoff
),
sourcing_handoffs AS (
    SELECT from_sourcing, to_sourcing, first_sourcing, dwell_s FROM _mine_handoff
),
org_groups AS NOT MATERIALIZED (
    SELECT * FROM _mine_group
),
sourcings AS NOT MATERIALIZED (
    SELECT * FROM _mine_sourcing
),
group_pairs AS (
    SELECT from_group, to_group, count(*) AS handoffs,
           count(*) FILTER (WHERE first_group) AS cases,
           sum(dwell_s) AS added_wait_s, median(dwell_s) AS median_added_wait_s
    FROM group_handoffs GROUP BY ALL
),
sourcing_pairs AS (
    SELECT from_sourcing, to_sourcing, count(*) AS handoffs,
           count(*) FILTER (WHERE first_sourcing) AS cases,
           sum(dwell_s) AS added_wait_s, median(dwell_s) AS median_added_wait_s
    FROM sourcing_handoffs GROUP BY ALL
),
final AS (
    SELECT 'group' AS dimension, f.name AS from_key, t.name AS to_key,
           x.handoffs::BIGINT AS handoffs, x.cases::BIGINT AS cases,
           x.added_wait_s, x.median_added_wait_s
    FROM group_pairs AS x
    JOIN org_groups AS f ON f.code = x.from_group
    JOIN org_groups AS t ON t.code = x.to_group
    UNION ALL
    SELECT 'sourcing', f.name, t.name, x.handoffs, x.cases, x.added_wait_s,
           x.median_added_wait_s
    FROM sourcing_pairs AS x
    JOIN sourcings AS f ON f.code = x.from_sourcing
    JOIN sourcings AS t ON t.code = x.to_sourcing
)
SELECT * FROM final
ORDER BY dimension, handoffs DESC, from_key, to_key
