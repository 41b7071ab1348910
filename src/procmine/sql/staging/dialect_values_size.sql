-- The rows and distinct values of {values}: the temp table _pm_ts_values(v, n) or its sample
-- _pm_ts_sample (procmine.sources.dialect; {values} is the quoted table name).
SELECT coalesce(sum(n), 0)::BIGINT AS total_rows, count(*) AS distinct_values
FROM {values};
