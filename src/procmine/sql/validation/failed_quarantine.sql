-- What a run stopped by a batch-level expectation would have quarantined (validate.py, before
-- the run is rolled back): per rule, source and column, the rows and up to five examples
-- (offending value, file, row, reason): the first row of each distinct value, in file order.
-- Kept in marts.failed_quarantine.
WITH failed AS (
    SELECT f.rule, f.source, f.column_name, f.row_key, f.bad_value, f.reason,
           s.source_file, s.source_row, s.seq
    FROM _failed AS f
    JOIN staging.events AS s ON s.rowid = f.row_key
),
firsts AS (
    SELECT rule, source, column_name, bad_value, reason, source_file, source_row, seq
    FROM failed
    QUALIFY row_number() OVER (PARTITION BY rule, source, column_name, bad_value
                               ORDER BY source_file, source_row, seq) = 1
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY rule, source, column_name
                                 ORDER BY source_file, source_row, seq) AS n
    FROM firsts
),
examples AS (
    SELECT rule, source, column_name,
           to_json(list({'value': bad_value, 'file': source_file, 'row': source_row,
                         'reason': reason} ORDER BY n)) AS examples
    FROM ranked
    WHERE n <= 5
    GROUP BY rule, source, column_name
)
SELECT f.rule, f.source, f.column_name, count(DISTINCT f.row_key) AS rows, any_value(e.examples)
FROM failed AS f
LEFT JOIN examples AS e
  ON e.rule = f.rule AND e.source IS NOT DISTINCT FROM f.source
 AND e.column_name IS NOT DISTINCT FROM f.column_name
GROUP BY f.rule, f.source, f.column_name
ORDER BY rows DESC, f.rule, f.source, f.column_name;
