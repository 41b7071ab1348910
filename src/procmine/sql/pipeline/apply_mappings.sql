-- Stage, sourcing and support level of this run's staged events, from the config's mapping
-- tables (temp tables _stage_map(source, activity, d2c_stage) and _sourcing_map(org_group,
-- sourcing), filled by procmine.ingest from procmine.toml).
UPDATE staging.events AS e
SET d2c_stage = coalesce(e.d2c_stage, m.d2c_stage)
FROM _stage_map AS m
WHERE e.run_id = $run_id AND m.source = e.source AND m.activity = e.activity;

UPDATE staging.events AS e
SET sourcing = m.sourcing
FROM _sourcing_map AS m
WHERE e.run_id = $run_id AND e.sourcing IS NULL AND m.org_group = e.org_group;

UPDATE staging.events SET sourcing = 'unmapped' WHERE run_id = $run_id AND sourcing IS NULL;
