-- marts.d2c_incidents: one row per incident linked to a record of another type (an incident
-- with no link is no chain across records: marts.d2c_calls_per_incident counts it under 0
-- calls) with its Detect-to-Correct links: the calls that
-- reported it (given reported_as links: calls, the first call and the time from it to the
-- incident's opening), its problem (given escalated_to, the earliest opened), the change that
-- fixed it (given fixed_by, from the incident or from its problem; the earliest implemented),
-- the changes that induced it (induced, given and inferred), and its chain: the change when
-- there is one, else the problem, else the incident alone (chain_type says which).
-- Links used only where both records are in the store. Reads core.d2c_records, core.links.
-- Params: $evidence_ids. Macros: intermediate/d2c_macros.sql.
WITH records AS NOT MATERIALIZED (
    SELECT * FROM core.d2c_records
),
links AS NOT MATERIALIZED (
    SELECT * FROM core.links WHERE from_exists AND to_exists
),
incidents AS (
    SELECT case_id AS incident_id, opened_at, resolved_at, closed_at
    FROM records WHERE case_type = 'incident'
),
call_links AS (
    SELECT DISTINCT from_id AS interaction_id, to_id AS incident_id
    FROM links WHERE kind = 'reported_as' AND origin = 'given'
),
calls AS (
    SELECT l.incident_id, count(*) AS calls,
           arg_min(l.interaction_id, (coalesce(r.opened_at, 'infinity'::TIMESTAMPTZ),
                                      l.interaction_id)) AS first_call_id,
           min(r.opened_at) AS first_call_at
    FROM call_links AS l
    JOIN records AS r ON r.case_id = l.interaction_id AND r.case_type = 'interaction'
    GROUP BY l.incident_id
),
problem_links AS (
    SELECT DISTINCT from_id AS incident_id, to_id AS problem_id
    FROM links WHERE kind = 'escalated_to' AND origin = 'given' AND from_type = 'incident'
),
problems AS (
    SELECT l.incident_id,
           arg_min(l.problem_id, (coalesce(r.opened_at, 'infinity'::TIMESTAMPTZ),
                                  l.problem_id)) AS problem_id,
           min(r.opened_at) AS problem_opened_at
    FROM problem_links AS l
    JOIN records AS r ON r.case_id = l.problem_id AND r.case_type = 'problem'
    GROUP BY l.incident_id
),
fix_links AS NOT MATERIALIZED (
    SELECT DISTINCT from_type, from_id, to_id AS change_id
    FROM links WHERE kind = 'fixed_by' AND origin = 'given'
),
incident_fixes AS (
    SELECT from_id AS incident_id, change_id FROM fix_links WHERE from_type = 'incident'
    UNION
    SELECT p.incident_id, f.change_id
    FROM problem_links AS p
    JOIN fix_links AS f ON f.from_type = 'problem' AND f.from_id = p.problem_id
),
fixes AS (
    SELECT f.incident_id,
           arg_min({'change_id': f.change_id, 'opened_at': r.opened_at,
                    'implemented_at': r.implemented_at},
                   (coalesce(r.implemented_at, 'infinity'::TIMESTAMPTZ), f.change_id)) AS fix
    FROM incident_fixes AS f
    JOIN records AS r ON r.case_id = f.change_id AND r.case_type = 'change'
    GROUP BY f.incident_id
),
induced AS (
    SELECT to_id AS incident_id, count(DISTINCT from_id) AS induced_by,
           array_to_string(list_sort(list_distinct(list(from_id)))[1:$evidence_ids], ', ')
               AS induced_by_ids
    FROM links WHERE kind = 'induced' AND to_type = 'incident'
    GROUP BY to_id
),
linked AS (   -- the incidents with a row: joined to the records alone, not all incidents
    SELECT incident_id FROM calls
    UNION
    SELECT incident_id FROM problems
    UNION
    SELECT incident_id FROM fixes
    UNION
    SELECT incident_id FROM induced
),
final AS (
    SELECT i.incident_id, i.opened_at, i.resolved_at, i.closed_at,
           coalesce(c.calls, 0) AS calls, c.first_call_id, c.first_call_at,
           pm_seconds(i.opened_at, c.first_call_at) AS call_to_incident_s,
           p.problem_id, p.problem_opened_at,
           f.fix.change_id AS change_id, f.fix.opened_at AS change_opened_at,
           f.fix.implemented_at AS change_implemented_at,
           coalesce(d.induced_by, 0) AS induced_by, d.induced_by_ids,
           coalesce(f.fix.change_id, p.problem_id, i.incident_id) AS chain_id,
           CASE WHEN f.fix.change_id IS NOT NULL THEN 'change'
                WHEN p.problem_id IS NOT NULL THEN 'problem'
                ELSE 'incident' END AS chain_type,
           'calls: reported_as (given); problem: escalated_to (given); change: fixed_by '
               || '(given); induced_by: induced (given and inferred)' AS links_used
    FROM linked AS k
    JOIN incidents AS i USING (incident_id)
    LEFT JOIN calls AS c USING (incident_id)
    LEFT JOIN problems AS p USING (incident_id)
    LEFT JOIN fixes AS f USING (incident_id)
    LEFT JOIN induced AS d USING (incident_id)
)
SELECT * FROM final
