-- Drops the temp tables the dialect reads values into (procmine.sources.dialect), once it
-- has its answer or has failed.
DROP TABLE IF EXISTS _pm_ts_values;
DROP TABLE IF EXISTS _pm_ts_sample;
DROP TABLE IF EXISTS _pm_column_values;
