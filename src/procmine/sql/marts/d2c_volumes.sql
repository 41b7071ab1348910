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
ends AS (   -- a link's records are in the store with its from_type / to_type
    SELECT from_id AS case_id, from_type AS case_type, origin FROM links
    UNION ALL
    SELECT to_id, to_type, origin FROM links
),
linked AS (
    SELECT case_type, count(*) AS linked_records,
           count(*) FILTER (WHERE given) AS given_linked_records
    FROM (SELECT case_id, case_type, bool_or(origin = 'given') AS given
          FROM ends GROUP BY case_id, case_type)
    GROUP BY case_type
),
counted AS (
    SELECT case_type, count(*) AS records FROM records GROUP BY case_type
),
final AS (
    SELECT c.case_type,
           coalesce(list_position(['interaction', 'incident', 'problem', 'change'],
                                  c.case_type), 5) AS position,
           c.records, coalesce(l.linked_records, 0) AS linked_records,
           coalesce(l.given_linked_records, 0) AS given_linked_records,
           'any kind (given and inferred); given_linked_records: given only' AS links_used
    FROM counted AS c
    LEFT JOIN linked AS l USING (case_type)
)
SELECT * FROM final
ORDER BY position, case_type
