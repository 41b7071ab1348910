-- The last runs of marts.run_log, newest first (`procmine status`, procmine.query.status).
-- Params: $limit.
SELECT *
FROM marts.run_log
ORDER BY started_at DESC, run_id DESC
LIMIT $limit;
