-- marts.handoff_matrix: hand-offs between groups and between sourcings (hub, spokes,
-- vendors): count, distinct cases, and the wait they add (from the hand-off to the case's
-- next event, total and median). From the handoff instances of _mine_waste.
CREATE OR REPLACE TABLE marts.handoff_matrix AS
WITH h AS (
    SELECT w.ci, w.dwell_s, f.org_group AS from_group, t.org_group AS to_group,
           f.sourcing AS from_sourcing, t.sourcing AS to_sourcing
    FROM _mine_waste AS w
    JOIN _mine_holder_key AS f ON f.code = w.e1
    JOIN _mine_holder_key AS t ON t.code = w.e2
    WHERE w.wtype = $handoff_code
)
SELECT 'group' AS dimension, from_group AS from_key, to_group AS to_key,
       count(*)::BIGINT AS handoffs, count(DISTINCT ci)::BIGINT AS cases,
       sum(dwell_s) AS added_wait_s, median(dwell_s) AS median_added_wait_s
FROM h GROUP BY ALL
UNION ALL
SELECT 'sourcing', from_sourcing, to_sourcing,
       count(*), count(DISTINCT ci), sum(dwell_s), median(dwell_s)
FROM h GROUP BY ALL
ORDER BY dimension, handoffs DESC, from_key, to_key;
