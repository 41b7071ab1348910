-- Detect to Correct page: the change types whose changes induced most incidents ($limit
-- rows), with their change failure rate and the failed changes to look up
-- (marts.d2c_change_failure, dimension change_type).
WITH failure AS (
    SELECT * FROM marts.d2c_change_failure
),
final AS (
    SELECT value AS change_type, changes, failed_changes, change_failure_rate,
           induced_incidents, evidence, links_used
    FROM failure
    WHERE dimension = 'change_type' AND induced_incidents > 0
)
SELECT * FROM final
ORDER BY induced_incidents DESC, change_type
LIMIT $limit
