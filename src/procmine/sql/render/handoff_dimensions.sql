-- The dimensions of marts.handoff_matrix with their hand-off totals.
SELECT dimension, sum(handoffs) AS handoffs FROM marts.handoff_matrix
WHERE dimension IS NOT NULL GROUP BY dimension ORDER BY dimension;
