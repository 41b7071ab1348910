-- A run's row of marts.run_log (load.record_run; written again when the run is recorded
-- twice). The columns migration 005 added are written by runs/record_details.sql.
-- Params: $run_id, $started_at, $finished_at, $status, $files_loaded, $events_loaded,
-- $events_quarantined, $command, $message.
INSERT OR REPLACE INTO marts.run_log (run_id, started_at, finished_at, status, files_loaded,
                                      events_loaded, events_quarantined, command, message)
VALUES ($run_id, $started_at, $finished_at, $status, $files_loaded, $events_loaded,
        $events_quarantined, $command, $message);
