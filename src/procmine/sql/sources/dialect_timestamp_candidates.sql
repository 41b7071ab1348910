-- The rows one candidate timestamp format reads, over {values}: a temp table (v VARCHAR,
-- n BIGINT) of distinct non-null values and their row counts (procmine.sources.dialect).
-- A value counts as read when the format parses it to a year in 1900-2199 (so '24' read as
-- the year 24 by %Y does not pass for a 4-digit year). '' is ISO 8601 (pm_parse_ts's cast).
-- Params: $fmt (a strptime format; DuckDB needs it constant, so one query per format).
SELECT coalesce(sum(n) FILTER (WHERE year(timezone('UTC', pm_parse_ts(v, $fmt, 'UTC')))
                               BETWEEN 1900 AND 2199), 0)::BIGINT AS read_rows
FROM {values};
