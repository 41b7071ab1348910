-- The distinct non-null values of the columns whose timestamp format is being read, with
-- their row counts (procmine.sources.dialect): filled by dialect_values.sql, one column at a
-- time, and dropped by dialect_drop.sql.
CREATE OR REPLACE TEMP TABLE _pm_ts_values (v VARCHAR, n BIGINT);
