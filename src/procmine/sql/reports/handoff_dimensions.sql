-- The dimensions of marts.handoff_matrix with their hand-off totals.
WITH handoff_matrix AS (
    SELECT * FROM marts.handoff_matrix
),
final AS (
    SELECT dimension, sum(handoffs) AS handoffs FROM handoff_matrix
    WHERE dimension IS NOT NULL GROUP BY dimension
)
SELECT * FROM final
ORDER BY dimension
