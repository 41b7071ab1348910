-- Stage, sourcing (and nothing else) of this run's staged events that their adapter did not
-- map as it staged them, in one pass: from the temp tables _stage_map(source, activity,
-- d2c_stage) and _sourcing_map(org_group, sourcing) (procmine.sources.base.
-- create_mapping_tables, from procmine.toml). A row is touched only if its sourcing is unset
-- or a stage is mapped for its activity where it has none.
UPDATE staging.events AS e
SET d2c_stage = coalesce(e.d2c_stage, u.d2c_stage),
    sourcing = coalesce(e.sourcing, u.sourcing, 'unmapped')
FROM (
    SELECT s.rowid AS id, m.d2c_stage, g.sourcing
    FROM staging.events AS s
    LEFT JOIN _stage_map AS m ON m.source = s.source AND m.activity = s.activity
    LEFT JOIN _sourcing_map AS g ON g.org_group = s.org_group
    WHERE s.run_id = $run_id
      AND (s.sourcing IS NULL OR (s.d2c_stage IS NULL AND m.d2c_stage IS NOT NULL))
) AS u
WHERE e.rowid = u.id;
