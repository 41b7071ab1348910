-- The rows one candidate timestamp format reads, over {values}: a temp table (v VARCHAR,
-- n BIGINT) of distinct non-null values and their row counts (procmine.sources.dialect).
-- read_rows: values the format parses; plausible_rows: those parsed to a year in 1900-2199
-- (ranks the candidates, so '24' read as the year 24 by %Y loses to %y's 2024; a far-off
-- year is still read, and quarantined by validation's ts_in_range). '' is ISO 8601, read as
-- pm_parse_ts reads it (a cast, with or without an offset), without time zone conversion.
-- Params: $fmt (a strptime format; DuckDB needs it constant: one parameter per format, so
-- procmine.sources.dialect joins one copy of this query per candidate by UNION ALL, each
-- with $fmt renamed, and tells the rows apart by their `format`).
WITH parsed AS (
    SELECT n, CASE WHEN $fmt = '' THEN coalesce(try_cast(v AS TIMESTAMP),
                                                try_cast(try_cast(v AS TIMESTAMPTZ) AS TIMESTAMP))
                   ELSE try_strptime(v, coalesce(nullif($fmt, ''), '%Y')) END AS ts
    FROM {values}
)
SELECT $fmt AS format,
       coalesce(sum(n) FILTER (WHERE ts IS NOT NULL), 0)::BIGINT AS read_rows,
       coalesce(sum(n) FILTER (WHERE year(ts) BETWEEN 1900 AND 2199), 0)::BIGINT
           AS plausible_rows
FROM parsed;
