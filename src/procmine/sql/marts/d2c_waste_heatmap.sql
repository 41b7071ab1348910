-- marts.d2c_waste_heatmap: the Lean waste heat map across record types: marts.waste by the
-- record's type, its D2C stage and the waste type, apart for records that are linked to a
-- record of another type (`linked`: any link in core.links, given or inferred, both records
-- in the store) and those standing alone. Reads marts.waste, core.cases, core.links.
WITH waste AS (
    SELECT case_id, d2c_stage, waste_type, hours, cost FROM marts.waste
),
per_case AS (   -- a record counts once per cell: its instances summed first
    SELECT case_id, d2c_stage, waste_type, count(*) AS instances, sum(hours) AS hours,
           sum(cost) AS cost
    FROM waste
    GROUP BY case_id, d2c_stage, waste_type
),
records AS (
    SELECT case_id, case_type FROM core.cases
),
links AS NOT MATERIALIZED (
    SELECT * FROM core.links WHERE from_exists AND to_exists
),
linked AS (
    SELECT from_id AS case_id FROM links
    UNION
    SELECT to_id FROM links
),
final AS (
    SELECT r.case_type, w.d2c_stage, w.waste_type, l.case_id IS NOT NULL AS linked,
           count(*) AS records, sum(w.instances)::BIGINT AS instances,
           sum(w.hours) AS hours, sum(w.cost) AS cost,
           'any kind (given and inferred)' AS links_used
    FROM per_case AS w
    JOIN records AS r USING (case_id)
    LEFT JOIN linked AS l USING (case_id)
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY case_type, d2c_stage, waste_type, linked
