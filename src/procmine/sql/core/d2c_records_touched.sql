-- core.d2c_records after publishing into a core.cases that held rows: the rows of the run's
-- touched cases (_touched_cases: core/publish_events.sql; every core.cases row
-- core/publish_cases.sql deletes, inserts or updates is one of theirs) are deleted, then the
-- model core/d2c_records.sql parses their core.cases rows again (load.publish_d2c_records).
-- O(the run's cases); a change of sourcing alone (publish_cases_sourcing.sql) is not read here.
DELETE FROM core.d2c_records WHERE case_id IN (SELECT case_id FROM _touched_cases);
CREATE OR REPLACE TEMP VIEW _d2c_parse_cases AS
SELECT * FROM core.cases WHERE case_id IN (SELECT case_id FROM _touched_cases);
