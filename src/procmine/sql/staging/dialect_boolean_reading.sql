-- How many non-null values of one boolean column pm_bool reads, and the most frequent one it
-- does not. {relation} is a FROM clause (with its own params); {column} the quoted column.
-- Params: $null_tokens (and the relation's).
WITH vals AS (
    SELECT pm_null({column}, $null_tokens) AS v, count(*) AS n FROM {relation} GROUP BY 1
)
SELECT coalesce(sum(n) FILTER (WHERE v IS NOT NULL), 0)::BIGINT AS total,
       coalesce(sum(n) FILTER (WHERE pm_bool(v) IS NOT NULL), 0)::BIGINT AS read_rows,
       arg_max(v, n) FILTER (WHERE v IS NOT NULL AND pm_bool(v) IS NULL) AS example
FROM vals;
