-- One marts.failed_quarantine row (validate.store_failed_quarantine): what a run stopped by a
-- batch-level expectation would have quarantined for one rule, source and column, written
-- after the run was rolled back (its rows are not in quarantine.events).
-- Params: $run_id, $rule, $source, $column_name, $rows, $examples (JSON), $recorded_at.
INSERT INTO marts.failed_quarantine (run_id, rule, source, column_name, rows, examples,
                                     recorded_at)
VALUES ($run_id, $rule, $source, $column_name, $rows, $examples, $recorded_at);
