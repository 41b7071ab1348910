-- `procmine run --full`: forget loaded files and everything derived from them (the run log,
-- the schema and the configuration stay).
DELETE FROM core.load_registry;
DELETE FROM core.events;
DELETE FROM core.event_codes;
DELETE FROM core.case_keys;
DELETE FROM core.step_codes;
DELETE FROM core.holder_codes;
-- mining.case_state is keyed by case key: new keys invalidate it (mine/changes.py)
DELETE FROM mining.case_state;
DELETE FROM mining.run_state;
DELETE FROM core.cases;
DELETE FROM quarantine.events;
DELETE FROM staging.events;
DELETE FROM staging.cases;
-- the events loaded again get the current keys (migration 12)
UPDATE main.event_identity SET version = 2;
