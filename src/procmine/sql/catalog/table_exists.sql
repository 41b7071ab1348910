-- Whether a table or view exists in the open database (procmine.sql.table_exists): a store
-- migrated by an older procmine, or a step that has not run yet, lacks some.
-- Params: $schema, $table.
SELECT count(*) > 0 AS found
FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = $schema AND table_name = $table;
