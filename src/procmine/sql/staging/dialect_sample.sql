-- A sample of the distinct values of _pm_ts_values (the same whatever the order they were
-- read in: ordered by their hash) to rule out the candidate formats that read few of them
-- before every value is parsed (procmine.sources.dialect._plausible).
-- Params: $sample (how many distinct values).
CREATE OR REPLACE TEMP TABLE _pm_ts_sample AS
SELECT *
FROM _pm_ts_values
ORDER BY hash(v)
LIMIT $sample;
