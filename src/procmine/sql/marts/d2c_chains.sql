-- marts.d2c_chains: one row per Detect-to-Correct chain (detect -> incident(s) -> problem ->
-- change -> fix): the linked incidents of marts.d2c_incidents grouped by their chain (the
-- fixing change, else the problem, else the incident with its calls or inducing changes
-- alone), the time of each stage and the time
-- between stages (seconds; NULL where the chain lacks a stage). last_incident_closed_at is
-- NULL while an incident of the chain is open. detect_to_fix_s: from the first call (or the
-- first incident, if earlier or without calls) to the fix (the change implemented, else the
-- last incident resolved). Reads marts.d2c_incidents. Params: $evidence_ids. Macros:
-- intermediate/d2c_macros.sql.
WITH incidents AS NOT MATERIALIZED (
    SELECT * FROM marts.d2c_incidents
),
singles AS (   -- an incident alone is its chain (most chains): no grouping needed
    SELECT chain_id, chain_type, 1::BIGINT AS incidents, calls, first_call_at,
           opened_at AS first_incident_at, problem_id, problem_opened_at, change_id,
           change_opened_at, change_implemented_at, closed_at AS last_incident_closed_at,
           resolved_at AS last_incident_resolved_at, incident_id AS incident_ids
    FROM incidents
    WHERE chain_type = 'incident'
),
groups AS (
    SELECT chain_id, any_value(chain_type) AS chain_type, count(*) AS incidents,
           sum(calls)::BIGINT AS calls, min(first_call_at) AS first_call_at,
           min(opened_at) AS first_incident_at,
           arg_min(problem_id, (problem_opened_at, problem_id))
               FILTER (WHERE problem_id IS NOT NULL) AS problem_id,
           min(problem_opened_at) AS problem_opened_at,
           any_value(change_id) AS change_id, any_value(change_opened_at) AS change_opened_at,
           any_value(change_implemented_at) AS change_implemented_at,
           CASE WHEN count(closed_at) = count(*) THEN max(closed_at) END
               AS last_incident_closed_at,
           CASE WHEN count(resolved_at) = count(*) THEN max(resolved_at) END
               AS last_incident_resolved_at,
           array_to_string(arg_min(incident_id, (coalesce(opened_at, 'infinity'::TIMESTAMPTZ),
                                                 incident_id), $evidence_ids), ', ')
               AS incident_ids
    FROM incidents
    WHERE chain_type <> 'incident'
    GROUP BY chain_id
),
chains AS (
    SELECT * FROM singles
    UNION ALL
    SELECT * FROM groups
),
final AS (
    SELECT chain_id, chain_type, incidents, calls, first_call_at, first_incident_at,
           problem_id, problem_opened_at, change_id, change_opened_at, change_implemented_at,
           last_incident_closed_at,
           pm_seconds(first_incident_at, first_call_at) AS call_to_incident_s,
           pm_seconds(problem_opened_at, first_incident_at) AS incident_to_problem_s,
           pm_seconds(change_opened_at, problem_opened_at) AS problem_to_change_s,
           pm_seconds(change_opened_at, first_incident_at) AS incident_to_change_s,
           pm_seconds(last_incident_closed_at, change_implemented_at) AS change_to_close_s,
           pm_seconds(coalesce(change_implemented_at, last_incident_resolved_at),
                      least(first_call_at, first_incident_at)) AS detect_to_fix_s,
           incident_ids,
           'reported_as, escalated_to, fixed_by (given)' AS links_used
    FROM chains
)
SELECT * FROM final
ORDER BY chain_type, first_incident_at, chain_id
