-- _d2c_ref: every reference a record's fields make to another record (the given links), with
-- what became of it: 'linked' (the other record is in the store), 'not_in_store' (kept as a
-- link flagged to_exists/from_exists = false) or 'placeholder' (a value in $placeholders,
-- e.g. BPIC 2014's '#MULTIVALUE': it names no record, so no link; counted in
-- marts.link_summary). A record referring to itself is left out.
-- Fields (rule) -> kind: problem_id, related_problem: record -> problem (escalated_to);
-- change_id, related_change: record -> change (fixed_by); related_incident on an interaction:
-- interaction -> incident (reported_as); related_interaction on an incident: the same link
-- from the incident's side; caused_by on an incident (ServiceNow: a change number):
-- change -> incident (induced).
-- Reads core.d2c_records. Params: $placeholders.
WITH records AS NOT MATERIALIZED (
    SELECT * FROM core.d2c_records
),
fields AS (
    SELECT case_id, case_type, 'problem_id' AS rule, problem_id AS value,
           'problem' AS other_type, 'escalated_to' AS kind, TRUE AS carrier_is_from
    FROM records WHERE problem_id IS NOT NULL AND case_type <> 'problem'
    UNION ALL
    SELECT case_id, case_type, 'related_problem', related_problem, 'problem', 'escalated_to',
           TRUE
    FROM records WHERE related_problem IS NOT NULL AND case_type <> 'problem'
    UNION ALL
    SELECT case_id, case_type, 'change_id', change_id, 'change', 'fixed_by', TRUE
    FROM records WHERE change_id IS NOT NULL AND case_type IN ('incident', 'problem')
    UNION ALL
    SELECT case_id, case_type, 'related_change', related_change, 'change', 'fixed_by', TRUE
    FROM records WHERE related_change IS NOT NULL AND case_type IN ('incident', 'problem')
    UNION ALL
    SELECT case_id, case_type, 'related_incident', related_incident, 'incident',
           'reported_as', TRUE
    FROM records WHERE related_incident IS NOT NULL AND case_type = 'interaction'
    UNION ALL
    SELECT case_id, case_type, 'related_interaction', related_interaction, 'interaction',
           'reported_as', FALSE
    FROM records WHERE related_interaction IS NOT NULL AND case_type = 'incident'
    UNION ALL
    SELECT case_id, case_type, 'caused_by', caused_by, 'change', 'induced', FALSE
    FROM records WHERE caused_by IS NOT NULL AND case_type = 'incident'
),
known AS (   -- the records of the types referred to (most records are never referred to)
    SELECT case_id, case_type FROM records
    WHERE case_type IN (SELECT DISTINCT other_type FROM fields)
),
final AS (
    SELECT f.case_id AS carrier_id, f.case_type AS carrier_type, f.rule, f.value, f.kind,
           f.other_type, f.carrier_is_from,
           CASE WHEN list_contains($placeholders, f.value) THEN 'placeholder'
                WHEN k.case_id IS NOT NULL THEN 'linked'
                ELSE 'not_in_store' END AS status
    FROM fields AS f
    LEFT JOIN known AS k ON k.case_id = f.value AND k.case_type = f.other_type
    WHERE f.value <> f.case_id
)
SELECT * FROM final
