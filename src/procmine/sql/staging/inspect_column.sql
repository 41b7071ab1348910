-- One column of a file being inspected (procmine.sources.inspect): how its non-null values
-- read, counted in rows but tested once per distinct value. {table} is the temp table holding
-- the file as VARCHAR; {column} the quoted column (a format template: braces in the regex are
-- doubled). Params: $null_tokens.
WITH vals AS (
    SELECT pm_null({column}, $null_tokens) AS v, count(*) AS n FROM {table} GROUP BY ALL
)
SELECT coalesce(sum(n) FILTER (WHERE v IS NULL), 0) AS nulls,
       count(v) AS distinct_values,
       coalesce(sum(n) FILTER (WHERE try_cast(v AS BIGINT) IS NOT NULL), 0) AS integers,
       coalesce(sum(n) FILTER (WHERE try_cast(v AS DOUBLE) IS NOT NULL), 0) AS decimals,
       coalesce(sum(n) FILTER (WHERE pm_number(v) IS NOT NULL), 0) AS numbers,
       coalesce(sum(n) FILTER (WHERE lower(v) IN ('true', 'false', 't', 'f', 'yes', 'no', 'y',
                                                  'n')), 0) AS booleans,
       coalesce(sum(n) FILTER (WHERE regexp_matches(v, '^\d{{1,4}}[-/.]\d{{1,2}}[-/.]\d{{1,4}}')),
                0) AS date_like
FROM vals;
