-- The rows of the file being inspected, in the temp table {table} (the quoted name).
SELECT count(*) AS rows FROM {table};
