-- An XES file's events being inspected, from the Arrow table {events} (registered on the
-- connection, every value as text), into the temp table {table} (both quoted names;
-- procmine.sources.inspect).
CREATE TEMP TABLE {table} AS
SELECT *
FROM {events};
