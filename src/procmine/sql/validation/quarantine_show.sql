-- `procmine quarantine show` (quarantine.quarantine_rows): the rows a rule quarantined, with
-- the offending value and reason, in file order.
-- Params: $rule, $source (NULL: every source), $limit.
SELECT source, source_file, source_row, seq, case_id, activity, column_name, bad_value, reason,
       run_id
FROM quarantine.events
WHERE rule = $rule AND ($source IS NULL OR source = $source)
ORDER BY source_file, source_row, seq
LIMIT $limit
