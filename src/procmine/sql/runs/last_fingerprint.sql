-- The inputs fingerprint of the last published run that recomputed the marts.
SELECT inputs_fingerprint
FROM marts.run_log
WHERE mined AND status IN ('success', 'partial')
ORDER BY started_at DESC, run_id DESC
LIMIT 1;
