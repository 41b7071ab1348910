-- The value id (vid of _mine_driver_value, driver_values.sql) of each assignment group and
-- sourcing code of the mining index; read by mine/mart_inputs.py's driver tables.
WITH groups AS NOT MATERIALIZED (
    SELECT * FROM _mine_group
),
sourcings AS NOT MATERIALIZED (
    SELECT * FROM _mine_sourcing
),
driver_values AS NOT MATERIALIZED (
    SELECT * FROM _mine_driver_value
),
codes AS (
    SELECT 'group' AS attribute, code, name FROM groups
    UNION ALL
    SELECT 'sourcing' AS attribute, code, name FROM sourcings
),
final AS (
    SELECT v.attribute, c.code, v.vid
    FROM codes AS c
    JOIN driver_values AS v ON v.attribute = c.attribute AND v.value = c.name
)
SELECT * FROM final
