-- OCEL 2.0 export, part 4: object-to-object relations between exported objects, from
-- core.cases (problem_id: qualifier 'problem', change_id: 'change') and the temp table
-- _ocel_links(source_id, target_id, qualifier) (raw o2o rows of ocel2 sources, core.links).
-- A relation whose other end is not an exported object is counted by the caller, not written.
WITH objects AS (
    SELECT DISTINCT case_id AS object_id FROM _ocel_e2o
),
given AS (
    SELECT case_id AS source_id, problem_id AS target_id, 'problem' AS qualifier
    FROM core.cases WHERE problem_id IS NOT NULL AND problem_id <> case_id
    UNION ALL
    SELECT case_id, change_id, 'change'
    FROM core.cases WHERE change_id IS NOT NULL AND change_id <> case_id
    UNION ALL
    SELECT source_id, target_id, coalesce(qualifier, '') FROM _ocel_links
),
relations AS (
    SELECT DISTINCT source_id, target_id, qualifier FROM given
),
final AS (
    SELECT r.*,
           r.source_id IN (SELECT object_id FROM objects)
           AND r.target_id IN (SELECT object_id FROM objects) AS exported
    FROM relations AS r
)
SELECT * FROM final
