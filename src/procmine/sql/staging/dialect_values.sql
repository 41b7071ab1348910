-- The distinct non-null values of one column and their row counts, appended to the temp
-- table _pm_ts_values(v, n) (procmine.sources.dialect.collect_values). Grouped as written
-- first, so the null test runs once per distinct value.
-- {relation} is a FROM clause (with its own params); {column} the quoted column.
-- Params: $null_tokens (and the relation's).
INSERT INTO _pm_ts_values
SELECT v, sum(n)
FROM (
    SELECT pm_null(raw_v, $null_tokens) AS v, n
    FROM (SELECT {column} AS raw_v, count(*) AS n FROM {relation} GROUP BY 1)
)
WHERE v IS NOT NULL
GROUP BY 1;
