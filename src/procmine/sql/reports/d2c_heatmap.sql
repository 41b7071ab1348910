-- Detect to Correct page: the waste heat map across record types (record type and D2C stage
-- by waste type; linked and unlinked records together), marts.d2c_waste_heatmap.
WITH cells AS (
    SELECT * FROM marts.d2c_waste_heatmap
),
final AS (
    SELECT case_type, coalesce(d2c_stage, '(no stage)') AS d2c_stage, waste_type,
           sum(records)::BIGINT AS records, sum(instances)::BIGINT AS instances,
           sum(hours) AS hours, sum(cost) AS cost,
           sum(records) FILTER (WHERE linked)::BIGINT AS linked_records
    FROM cells
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY case_type, d2c_stage, waste_type
