-- Detect to Correct page: the CIs with most incidents before the change that fixed them
-- ($limit rows), with the ids to look up (marts.d2c_recurrence).
WITH recurrence AS (
    SELECT * FROM marts.d2c_recurrence
),
final AS (
    SELECT ci, change_id, change_type, implemented_at, incidents_before, incidents_after,
           known_problem_days, window_days, before_ids, after_ids
    FROM recurrence
    WHERE incidents_before + incidents_after > 0
)
SELECT * FROM final
ORDER BY incidents_before DESC, incidents_after DESC, ci, change_id
LIMIT $limit
