-- The last $limit pipeline runs of marts.run_log, newest first.
WITH run_log AS (
    SELECT * FROM marts.run_log
),
final AS (
    SELECT run_id, started_at, finished_at, status, files_loaded, events_loaded,
           events_quarantined, command, left(coalesce(message, ''), 300) AS message,
           round(epoch(finished_at) - epoch(started_at), 3) AS duration_s
    FROM run_log
)
SELECT * FROM final
ORDER BY started_at DESC, run_id DESC
LIMIT $limit
