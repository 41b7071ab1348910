-- marts.d2c_changes: one row per change record with its attributes (change type, risk,
-- emergency, CAB approval), when it took effect, the incidents it induced (induced links:
-- given, e.g. ServiceNow's caused_by, and inferred by the configured rules) and the incidents
-- it fixed (given fixed_by, directly or through a problem), and evidence ids (the first
-- induced incidents; core.links has each link's evidence). Reads core.d2c_records, core.links.
-- Params: $evidence_ids.
WITH records AS NOT MATERIALIZED (
    SELECT * FROM core.d2c_records
),
links AS NOT MATERIALIZED (
    SELECT * FROM core.links WHERE from_exists AND to_exists
),
induced AS (
    SELECT from_id AS change_id, count(DISTINCT to_id) AS induced_incidents,
           count(DISTINCT to_id) FILTER (WHERE origin = 'given') AS induced_given,
           count(DISTINCT to_id) FILTER (WHERE origin = 'inferred') AS induced_inferred,
           list_sort(list_distinct(list(to_id))) AS incident_ids
    FROM links WHERE kind = 'induced' AND from_type = 'change'
    GROUP BY from_id
),
fixed AS (
    SELECT to_id AS change_id, count(DISTINCT from_id) AS fixed_incidents
    FROM (
        SELECT to_id, from_id FROM links
        WHERE kind = 'fixed_by' AND origin = 'given' AND from_type = 'incident'
        UNION
        SELECT f.to_id, p.from_id
        FROM links AS p
        JOIN links AS f ON f.kind = 'fixed_by' AND f.origin = 'given'
                       AND f.from_type = 'problem' AND f.from_id = p.to_id
        WHERE p.kind = 'escalated_to' AND p.origin = 'given' AND p.from_type = 'incident'
    )
    GROUP BY to_id
),
final AS (
    SELECT r.case_id AS change_id, r.change_type, r.risk, r.emergency, r.cab_approval,
           r.opened_at, r.implemented_at,
           coalesce(i.induced_incidents, 0) AS induced_incidents,
           coalesce(i.induced_given, 0) AS induced_given,
           coalesce(i.induced_inferred, 0) AS induced_inferred,
           coalesce(f.fixed_incidents, 0) AS fixed_incidents,
           array_to_string(i.incident_ids[1:$evidence_ids], ', ') AS evidence,
           'induced (given and inferred); fixed_by, escalated_to (given)' AS links_used
    FROM records AS r
    LEFT JOIN induced AS i ON i.change_id = r.case_id
    LEFT JOIN fixed AS f ON f.change_id = r.case_id
    WHERE r.case_type = 'change'
)
SELECT * FROM final
ORDER BY induced_incidents DESC, change_id
