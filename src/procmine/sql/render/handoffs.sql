-- Hand-offs between the keys of one dimension of marts.handoff_matrix ($dimension, e.g.
-- sourcing or org_group), among its $max_keys busiest keys (most hand-offs in or out).
WITH h AS (SELECT * FROM marts.handoff_matrix WHERE dimension = $dimension),
busy AS (
    SELECT key FROM (
        SELECT from_key AS key, handoffs FROM h UNION ALL SELECT to_key, handoffs FROM h
    ) GROUP BY key ORDER BY sum(handoffs) DESC NULLS LAST, key LIMIT $max_keys
)
SELECT coalesce(from_key, '(none)') AS from_key, coalesce(to_key, '(none)') AS to_key,
       handoffs, cases, added_wait_s, round(added_wait_s / 3600, 3) AS added_wait_h
FROM h
WHERE from_key IN (SELECT key FROM busy) AND to_key IN (SELECT key FROM busy)
ORDER BY from_key, to_key, handoffs;
