-- The most frequent non-null values of one column of a file being inspected, with counts.
-- {table} is the temp table holding the file as VARCHAR; {column} the quoted column.
-- Params: $null_tokens, $limit.
SELECT v, count(*) AS n
FROM (SELECT pm_null({column}, $null_tokens) AS v FROM {table})
WHERE v IS NOT NULL
GROUP BY v
ORDER BY n DESC, v
LIMIT $limit;
