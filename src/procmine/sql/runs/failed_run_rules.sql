-- What a run stopped by validation would have quarantined, per rule, source and column: the
-- rows and the first examples (JSON) kept in marts.failed_quarantine, most rows first.
-- Params: $run_id.
SELECT rule, source, column_name, rows, examples
FROM marts.failed_quarantine
WHERE run_id = $run_id
ORDER BY rows DESC, rule, source, column_name;
