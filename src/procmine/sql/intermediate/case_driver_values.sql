-- Each case's (ci, vid) for its priority, category and source (none when NULL), vid
-- numbering the value in _mine_driver_value (driver_values.sql); read by
-- mine/__init__.py's _driver_tables.
WITH case_ids AS NOT MATERIALIZED (
    SELECT * FROM _mine_case_id
),
driver_values AS NOT MATERIALIZED (
    SELECT * FROM _mine_driver_value
),
final AS (
    SELECT k.ci, v.vid FROM case_ids AS k
    JOIN driver_values AS v ON v.attribute = 'priority' AND v.value = k.priority
    UNION ALL
    SELECT k.ci, v.vid FROM case_ids AS k
    JOIN driver_values AS v ON v.attribute = 'category' AND v.value = k.category
    UNION ALL
    SELECT k.ci, v.vid FROM case_ids AS k
    JOIN driver_values AS v ON v.attribute = 'source' AND v.value = k.source
)
SELECT * FROM final
