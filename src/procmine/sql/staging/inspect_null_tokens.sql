-- Which of the candidate null spellings stand as whole cells (trimmed) in any column of the
-- file being inspected, the temp table {table} (the quoted name; every column text).
-- Params: $candidates (the spellings, procmine.sources.inspect.NULL_CANDIDATES).
WITH cells AS (
    UNPIVOT {table} ON COLUMNS(*) INTO NAME column_name VALUE v
)
SELECT DISTINCT trim(v) AS token
FROM cells
WHERE list_contains($candidates, trim(v));
