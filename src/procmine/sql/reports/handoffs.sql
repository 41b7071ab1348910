-- Hand-offs between the keys of one dimension of marts.handoff_matrix ($dimension, e.g.
-- sourcing or org_group), among its $max_keys busiest keys (most hand-offs in or out).
WITH handoff_matrix AS NOT MATERIALIZED (
    SELECT * FROM marts.handoff_matrix
),
dimension_handoffs AS MATERIALIZED (   -- read three times: computed once
    SELECT * FROM handoff_matrix WHERE dimension = $dimension
),
busiest_keys AS (
    SELECT key FROM (
        SELECT from_key AS key, handoffs FROM dimension_handoffs
        UNION ALL SELECT to_key, handoffs FROM dimension_handoffs
    ) GROUP BY key ORDER BY sum(handoffs) DESC NULLS LAST, key LIMIT $max_keys
),
final AS (
    SELECT coalesce(from_key, '(none)') AS from_key, coalesce(to_key, '(none)') AS to_key,
           handoffs, cases, added_wait_s, round(added_wait_s / 3600, 3) AS added_wait_h
    FROM dimension_handoffs
    WHERE from_key IN (SELECT key FROM busiest_keys) AND to_key IN (SELECT key FROM busiest_keys)
)
SELECT * FROM final
ORDER BY from_key, to_key, handoffs
