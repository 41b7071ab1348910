-- The run_log columns added by migration 005 (load.record_run writes the others:
-- runs/record_run.sql).
UPDATE marts.run_log
SET files_skipped = $files_skipped,
    files_failed = $files_failed,
    mined = $mined,
    inputs_fingerprint = $fingerprint,
    records_pulled = $records_pulled,
    prefect_flow_run_id = $flow_run_id,
    summary_md = $summary_md
WHERE run_id = $run_id;
