-- The values waste_drivers.sql reports on, numbered for groupings.driver_counts:
-- _mine_driver_value (attribute, value, vid): the priorities, categories and sources of the
-- cases (_mine_case_id, as marts.case_kpis has them) and the names of the groups and
-- sourcings (_mine_group, _mine_sourcing), numbered from 1 in order of attribute and value.
-- Returns each case's (ci, vid) for its priority, category and source (none when NULL).
CREATE OR REPLACE TEMP TABLE _mine_driver_value AS
WITH named AS (
    SELECT DISTINCT 'priority' AS attribute, priority AS value FROM _mine_case_id
    UNION SELECT DISTINCT 'category', category FROM _mine_case_id
    UNION SELECT DISTINCT 'source', source FROM _mine_case_id
    UNION SELECT 'group', name FROM _mine_group
    UNION SELECT 'sourcing', name FROM _mine_sourcing
)
SELECT attribute, value, (row_number() OVER (ORDER BY attribute, value))::INTEGER AS vid
FROM named WHERE value IS NOT NULL;

SELECT k.ci, v.vid FROM _mine_case_id AS k
JOIN _mine_driver_value AS v ON v.attribute = 'priority' AND v.value = k.priority
UNION ALL
SELECT k.ci, v.vid FROM _mine_case_id AS k
JOIN _mine_driver_value AS v ON v.attribute = 'category' AND v.value = k.category
UNION ALL
SELECT k.ci, v.vid FROM _mine_case_id AS k
JOIN _mine_driver_value AS v ON v.attribute = 'source' AND v.value = k.source;
