-- Move the staged rows in _failed to quarantine.events (once per failed rule, with the
-- offending value and the raw timestamp) and out of staging.
INSERT INTO quarantine.events BY NAME
SELECT f.rule, f.column_name, f.bad_value, f.reason, $run_id AS run_id, now() AS quarantined_at,
       s.event_id, s.case_id, s.case_type, s.activity, s.ts, s.resource, s.org_group,
       s.support_level, s.sourcing, s.d2c_stage, s.source, s.source_file, s.source_row, s.seq,
       s.ts_raw
FROM _failed AS f
JOIN staging.events AS s ON s.rowid = f.row_key;

DELETE FROM staging.events WHERE rowid IN (SELECT row_key FROM _failed);
