-- event_id_unique (engine duckdb): the 2nd and later copies of an event_id within one source
-- file of this run are duplicates; the same event in two overlapping files is not (publishing
-- de-duplicates it). Candidate keys come from a hash aggregate (small), copies are then
-- numbered by their position in the file.
INSERT INTO _failed
SELECT row_key, $rule, $column, event_id, $reason, $source
FROM (
    SELECT rowid AS row_key, event_id,
           row_number() OVER (PARTITION BY source_file, event_id
                              ORDER BY source_row, seq, rowid) AS copy
    FROM staging.events
    WHERE run_id = $run_id AND source = $source
      AND hash(source_file, event_id) IN (
          SELECT hash(source_file, event_id) FROM staging.events
          WHERE run_id = $run_id AND source = $source
          GROUP BY 1 HAVING count(*) > 1
      )
)
WHERE copy > 1;
