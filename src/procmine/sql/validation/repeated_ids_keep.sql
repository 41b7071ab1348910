-- After validation (validation.repeats.keep_run_repeats): note that the temp table
-- _repeated_ids holds run $run_id's repeated event ids, with the number of rows the run left
-- staged, so that publishing on the same connection may reuse it (repeated_ids_reusable.sql).
CREATE OR REPLACE TEMP TABLE _repeated_ids_of AS
SELECT $run_id AS run_id, count(*) AS staged
FROM staging.events
WHERE run_id = $run_id;
