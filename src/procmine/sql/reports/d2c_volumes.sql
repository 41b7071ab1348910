-- Detect to Correct page: the records of each type in flow order (marts.d2c_volumes).
WITH volumes AS (
    SELECT * FROM marts.d2c_volumes
),
final AS (
    SELECT case_type, position, records, linked_records, given_linked_records, links_used
    FROM volumes
)
SELECT * FROM final
ORDER BY position, case_type
