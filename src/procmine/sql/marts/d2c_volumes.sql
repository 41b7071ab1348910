-- marts.d2c_volumes: the records of each type in the Detect-to-Correct flow (interaction,
-- incident, problem, change, then any other type), how many of them are linked to a record
-- of another type (any link in core.links whose both records are in the store, given or
-- inferred) and by given links only. Reads core.d2c_records, core.links.
WITH records AS (
    SELECT case_id, case_type FROM core.d2c_records
),
links AS NOT MATERIALIZED (
    SELECT * FROM core.links WHERE from_exists AND to_exists
),
ends AS (
    SELECT from_id AS case_id, origin FROM links
    UNION ALL
    SELECT to_id, origin FROM links
),
linked AS (
    SELECT case_id, bool_or(origin = 'given') AS given FROM ends GROUP BY case_id
),
final AS (
    SELECT r.case_type,
           coalesce(list_position(['interaction', 'incident', 'problem', 'change'],
                                  r.case_type), 5) AS position,
           count(*) AS records, count(l.case_id) AS linked_records,
           count(*) FILTER (WHERE l.given) AS given_linked_records,
           'any kind (given and inferred); given_linked_records: given only' AS links_used
    FROM records AS r
    LEFT JOIN linked AS l USING (case_id)
    GROUP BY r.case_type
)
SELECT * FROM final
ORDER BY position, case_type
