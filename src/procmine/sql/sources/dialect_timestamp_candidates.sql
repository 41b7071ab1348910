-- The rows one candidate timestamp format reads, over {values}: a temp table (v VARCHAR,
-- n BIGINT) of distinct non-null values and their row counts (procmine.sources.dialect).
-- A value counts as read when the format parses it to a year in 1900-2199 (so '24' read as
-- the year 24 by %Y does not pass for a 4-digit year). '' is ISO 8601, read as pm_parse_ts
-- reads it (a cast, with or without an offset); plain casts here, no time zone conversion.
-- Params: $fmt (a strptime format; DuckDB needs it constant: one parameter per format).
SELECT coalesce(sum(n) FILTER (WHERE year(
           CASE WHEN $fmt = '' THEN coalesce(try_cast(v AS TIMESTAMP),
                                             try_cast(try_cast(v AS TIMESTAMPTZ) AS TIMESTAMP))
                ELSE try_strptime(v, coalesce(nullif($fmt, ''), '%Y')) END)
       BETWEEN 1900 AND 2199), 0)::BIGINT AS read_rows
FROM {values};
