-- The distinct non-null values of the columns tested for booleans, by column
-- (procmine.sources.dialect.boolean_columns): filled by dialect_column_values.sql, read by
-- dialect_boolean_columns.sql and dropped by dialect_drop.sql.
CREATE OR REPLACE TEMP TABLE _pm_column_values (col VARCHAR, v VARCHAR);
