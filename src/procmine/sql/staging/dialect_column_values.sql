-- The distinct non-null values of one column, appended to _pm_column_values(col, v).
-- {relation} is a FROM clause (with its own params); {column} the quoted column.
-- Params: $col (the column's name), $null_tokens (and the relation's).
INSERT INTO _pm_column_values
SELECT DISTINCT $col, v
FROM (SELECT pm_null({column}, $null_tokens) AS v FROM {relation})
WHERE v IS NOT NULL;
