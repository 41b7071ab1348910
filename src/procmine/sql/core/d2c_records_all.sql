-- core.d2c_records for every core.cases row (a first load, --full, a core.cases written by
-- hand): emptied, then the model core/d2c_records.sql parses all rows
-- (load.publish_d2c_records).
DELETE FROM core.d2c_records;
CREATE OR REPLACE TEMP VIEW _d2c_parse_cases AS SELECT * FROM core.cases;
