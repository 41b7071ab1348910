-- Every table and view of the open database, by schema and name (procmine.api's tables()).
SELECT table_schema, table_name
FROM information_schema.tables
WHERE table_catalog = current_database()
ORDER BY 1, 2;
