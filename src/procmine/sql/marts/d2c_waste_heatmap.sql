-- marts.d2c_waste_heatmap: the Lean waste heat map across record types: marts.waste by the
-- record's type, its D2C stage and the waste type, apart for records that are linked to a
-- record of another type (`linked`: any link in core.links, given or inferred, both records
-- in the store) and those standing alone; records without a core.cases row are left out.
-- Built by mining right after marts.waste, from the same waste rows in their index form
-- (mine/__init__.py's _mine_waste: every case's rows, as marts.waste holds them, with case
-- index ci and stage / waste type codes; _mine_case_id: ci, case_id, case_type,
-- has_case_row; the code tables _mine_stage, _mine_waste_type) instead of re-reading
-- marts.waste and joining its 5M case ids (VARCHAR) with core.cases at real-shaped 10M.
-- Stage codes that share a name count as one (canonical code: the smallest of the name).
WITH waste_rows AS (
    SELECT ci, wtype, stage, hours, cost FROM _mine_waste
),
case_ids AS (
    SELECT ci, case_id, case_type FROM _mine_case_id WHERE has_case_row
),
stages AS (
    SELECT * FROM _mine_stage
),
waste_types AS (
    SELECT * FROM _mine_waste_type
),
links AS NOT MATERIALIZED (
    SELECT * FROM core.links WHERE from_exists AND to_exists
),
linked AS (
    SELECT from_id AS case_id FROM links
    UNION
    SELECT to_id FROM links
),
records AS (   -- per case its type and whether it is linked
    SELECT c.ci, c.case_type, l.case_id IS NOT NULL AS linked
    FROM case_ids AS c
    LEFT JOIN linked AS l USING (case_id)
),
stage_names AS (
    SELECT code, name, min(code) OVER (PARTITION BY name) AS canonical FROM stages
),
by_code AS (
    SELECT r.case_type, s.canonical AS stage, w.wtype, r.linked,
           count(DISTINCT w.ci) AS records, count(*) AS instances,
           sum(w.hours) AS hours, sum(w.cost) AS cost
    FROM waste_rows AS w
    JOIN records AS r USING (ci)
    LEFT JOIN stage_names AS s ON s.code = w.stage
    GROUP BY ALL
),
final AS (
    SELECT b.case_type, s.name AS d2c_stage, t.name AS waste_type, b.linked, b.records,
           b.instances, b.hours, b.cost,
           'any kind (given and inferred)' AS links_used
    FROM by_code AS b
    LEFT JOIN stages AS s ON s.code = b.stage
    JOIN waste_types AS t ON t.code = b.wtype
)
SELECT * FROM final
ORDER BY case_type, d2c_stage, waste_type, linked
