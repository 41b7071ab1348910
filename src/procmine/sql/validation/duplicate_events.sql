-- event_id_unique (engine duckdb): the 2nd and later copies of an event_id within one source
-- file of this run. Identical rows of a file were told apart by their occurrence first
-- (validation/occurrences.sql), so what is left here is one source row (same file, row and
-- seq) staged twice in the run: an adapter fault, never real data. The same event in two
-- overlapping files is not a duplicate either (publishing keeps its first copy). Only rows
-- whose id is repeated in the run are looked at: their hashes are in _repeated_ids
-- (validation.repeats sorts the run's hashes in numpy; usually none).
INSERT INTO _failed
SELECT row_key, $rule, $column, event_id, $reason, $source
FROM (
    SELECT rowid AS row_key, event_id,
           row_number() OVER (PARTITION BY source_file, event_id
                              ORDER BY source_row, seq, rowid) AS copy
    FROM staging.events
    WHERE run_id = $run_id AND source = $source
      AND hash(event_id) IN (SELECT h FROM _repeated_ids)
)
WHERE copy > 1;
