-- _mine_driver_value (a temp table): the values marts/waste_drivers.sql reports on, numbered for
-- groupings.driver_counts (attribute, value, vid): the priorities, categories and sources of
-- the cases (_mine_case_id, as marts.case_kpis has them) and the names of the groups and
-- sourcings (_mine_group, _mine_sourcing), numbered from 1 in order of attribute and value.
-- case_driver_values.sql gives each case's values.
WITH case_ids AS NOT MATERIALIZED (
    SELECT * FROM _mine_case_id
),
org_groups AS (
    SELECT * FROM _mine_group
),
sourcings AS (
    SELECT * FROM _mine_sourcing
),
named AS (
    SELECT DISTINCT 'priority' AS attribute, priority AS value FROM case_ids
    UNION SELECT DISTINCT 'category', category FROM case_ids
    UNION SELECT DISTINCT 'source', source FROM case_ids
    UNION SELECT 'group', name FROM org_groups
    UNION SELECT 'sourcing', name FROM sourcings
),
final AS (
    SELECT attribute, value, (row_number() OVER (ORDER BY attribute, value))::INTEGER AS vid
    FROM named WHERE value IS NOT NULL
)
SELECT * FROM final
