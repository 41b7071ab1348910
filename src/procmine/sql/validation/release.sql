-- `procmine quarantine release`: quarantined rows matching the filters ($rule, $source, $run;
-- NULL = any) go back to staging under run $run_id, each row once however many rules it broke,
-- and their quarantine records are forgotten; validation then decides again.
CREATE OR REPLACE TEMP TABLE _release_keys AS
SELECT DISTINCT source, source_file, source_row, seq, event_id
FROM quarantine.events
WHERE ($rule IS NULL OR rule = $rule)
  AND ($source IS NULL OR source = $source)
  AND ($run IS NULL OR run_id = $run);

INSERT INTO staging.events BY NAME
SELECT event_id, case_id, case_type, activity, ts, resource, org_group, support_level, sourcing,
       d2c_stage, source, source_file, source_row, seq,
       coalesce(ts_raw, strftime(ts, '%Y-%m-%d %H:%M:%S')) AS ts_raw, $run_id AS run_id
FROM (
    SELECT q.*, row_number() OVER (PARTITION BY q.source, q.source_file, q.source_row, q.seq,
                                                q.event_id ORDER BY q.quarantined_at DESC) AS n
    FROM quarantine.events AS q
    SEMI JOIN _release_keys AS k
      ON k.source IS NOT DISTINCT FROM q.source AND k.source_file IS NOT DISTINCT FROM q.source_file
     AND k.source_row IS NOT DISTINCT FROM q.source_row AND k.seq IS NOT DISTINCT FROM q.seq
     AND k.event_id IS NOT DISTINCT FROM q.event_id
)
WHERE n = 1;

DELETE FROM quarantine.events AS q
WHERE EXISTS (
    SELECT 1 FROM _release_keys AS k
    WHERE k.source IS NOT DISTINCT FROM q.source AND k.source_file IS NOT DISTINCT FROM q.source_file
      AND k.source_row IS NOT DISTINCT FROM q.source_row AND k.seq IS NOT DISTINCT FROM q.seq
      AND k.event_id IS NOT DISTINCT FROM q.event_id
);
