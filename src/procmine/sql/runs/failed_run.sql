-- The last run the batch-level validation gate stopped (procmine.failed_run), or the run
-- $run_id when it is not NULL and was stopped so.
-- Params: $run_id (NULL: the newest such run).
SELECT run_id, started_at, command, message
FROM marts.run_log
WHERE status = 'failed_validation' AND ($run_id IS NULL OR run_id = $run_id)
ORDER BY started_at DESC, run_id DESC
LIMIT 1;
