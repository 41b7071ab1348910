-- Move the staged rows of this run that match a quarantine rule into quarantine.events and out
-- of staging. Expects temp table _failed(row_key, rule, column_name, bad_value, reason), where
-- row_key = hash of (source_file, source_row, seq, event_id); a row failing several rules is
-- quarantined once per rule but removed from staging once.
INSERT INTO quarantine.events BY NAME
SELECT f.rule, f.column_name, f.bad_value, f.reason, $run_id AS run_id,
       now() AS quarantined_at,
       s.event_id, s.case_id, s.case_type, s.activity, s.ts, s.resource, s.org_group,
       s.support_level, s.sourcing, s.d2c_stage, s.source, s.source_file, s.source_row, s.seq
FROM staging.events AS s
JOIN _failed AS f ON f.row_key = hash(s.source_file, s.source_row, s.seq, s.event_id)
WHERE s.run_id = $run_id;

DELETE FROM staging.events
WHERE run_id = $run_id
  AND hash(source_file, source_row, seq, event_id) IN (SELECT row_key FROM _failed);
