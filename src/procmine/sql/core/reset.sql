-- `procmine run --full`, after event_index_clear.sql (which also empties the keys' partitions
-- and core.run_partitions): forget loaded files and everything derived from them (the run
-- log, the schema and the configuration stay).
DELETE FROM core.load_registry;
DELETE FROM core.events;
DELETE FROM core.cases;
DELETE FROM core.d2c_records;
DELETE FROM quarantine.events;
DELETE FROM staging.events;
DELETE FROM staging.cases;
-- the events loaded again get the current keys (migration 12)
UPDATE main.event_identity SET version = 2;
