-- The distinct non-null values of one column in the first 200,000 of its rows (in file
-- order), with their row counts, appended to the temp table _pm_ts_values(v, n): the format
-- is read from these first (procmine.sources.dialect.sniff_timestamps) and from every value
-- (dialect_values.sql) only when they leave it open (two readings, or most rows unread).
-- The first rows, not a random sample: a reservoir sample of a big file costs more than
-- grouping all of it. Grouped as written first, so the null test runs once per value.
-- {relation} is a FROM clause (with its own params); {column} the quoted column.
-- Params: $null_tokens (and the relation's).
INSERT INTO _pm_ts_values
SELECT v, sum(n)
FROM (
    SELECT pm_null(raw_v, $null_tokens) AS v, n
    FROM (
        SELECT raw_v, count(*) AS n
        FROM (SELECT {column} AS raw_v FROM {relation} LIMIT 200000) AS first_rows
        GROUP BY 1
    )
)
WHERE v IS NOT NULL
GROUP BY 1;
