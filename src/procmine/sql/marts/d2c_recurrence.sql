-- marts.d2c_recurrence: incidents on a CI before and after the change that fixed it (the cost
-- of a known problem left open), one row per (fixing change, CI). A fixing change is one a
-- given fixed_by link names (from an incident, or from a problem its incidents escalated to)
-- and that has an implemented_at; its CIs are those it touched and those of the incidents it
-- fixed. incidents_before / _after: incidents on the CI (affected or caused-by) opened within
-- $recurrence_s seconds before / after the change took effect. known_problem_days: from the
-- first incident it fixed to the change. Reads core.d2c_records, _d2c_ci, core.links,
-- marts.d2c_incidents (the linked incidents' openings: every incident a fixing change fixed
-- is one). Params: $recurrence_s, $evidence_ids. Macros: intermediate/d2c_macros.sql.
WITH records AS NOT MATERIALIZED (
    SELECT * FROM core.d2c_records
),
linked_incidents AS (
    SELECT incident_id, opened_at FROM marts.d2c_incidents
),
cis AS NOT MATERIALIZED (
    SELECT * FROM _d2c_ci
),
links AS NOT MATERIALIZED (
    SELECT * FROM core.links
    WHERE from_exists AND to_exists AND origin = 'given' AND kind IN ('fixed_by', 'escalated_to')
),
fixed AS MATERIALIZED (   -- (change, incident it fixed)
    SELECT to_id AS change_id, from_id AS incident_id
    FROM links WHERE kind = 'fixed_by' AND from_type = 'incident'
    UNION
    SELECT f.to_id, p.from_id
    FROM links AS p
    JOIN links AS f ON f.kind = 'fixed_by' AND f.from_type = 'problem' AND f.from_id = p.to_id
    WHERE p.kind = 'escalated_to' AND p.from_type = 'incident'
),
changes AS MATERIALIZED (
    SELECT r.case_id AS change_id, r.change_type, r.implemented_at,
           count(*) AS linked_incidents, min(i.opened_at) AS first_linked_incident_at
    FROM records AS r
    JOIN fixed AS f ON f.change_id = r.case_id
    JOIN linked_incidents AS i USING (incident_id)
    WHERE r.case_type = 'change' AND r.implemented_at IS NOT NULL
    GROUP BY ALL
),
change_cis AS (
    SELECT x.case_id AS change_id, x.ci
    FROM cis AS x
    WHERE x.case_type = 'change' AND x.case_id IN (SELECT change_id FROM changes)
    UNION
    SELECT f.change_id, x.ci
    FROM fixed AS f
    JOIN cis AS x ON x.case_id = f.incident_id AND x.case_type = 'incident'
),
incident_cis AS (
    SELECT DISTINCT case_id AS incident_id, ci, opened_at
    FROM cis WHERE case_type = 'incident' AND opened_at IS NOT NULL
),
around AS (
    SELECT c.change_id, c.ci, i.incident_id, i.opened_at < ch.implemented_at AS before
    FROM change_cis AS c
    JOIN changes AS ch USING (change_id)
    JOIN incident_cis AS i
      ON i.ci = c.ci
     AND epoch_us(i.opened_at) >= epoch_us(ch.implemented_at) - $recurrence_s::BIGINT * 1000000
     AND epoch_us(i.opened_at) <= epoch_us(ch.implemented_at) + $recurrence_s::BIGINT * 1000000
),
counted AS (   -- (around holds one row per change, CI and incident)
    SELECT change_id, ci,
           count(*) FILTER (WHERE before) AS incidents_before,
           count(*) FILTER (WHERE NOT before) AS incidents_after,
           min(incident_id, $evidence_ids) FILTER (WHERE before) AS before_ids,
           min(incident_id, $evidence_ids) FILTER (WHERE NOT before) AS after_ids
    FROM around
    GROUP BY change_id, ci
),
final AS (
    SELECT c.change_id, c.ci, ch.change_type, ch.implemented_at, ch.linked_incidents,
           ch.first_linked_incident_at,
           pm_seconds(ch.implemented_at, ch.first_linked_incident_at) / 86400 AS known_problem_days,
           $recurrence_s / 86400 AS window_days,
           coalesce(n.incidents_before, 0) AS incidents_before,
           coalesce(n.incidents_after, 0) AS incidents_after,
           array_to_string(n.before_ids, ', ') AS before_ids,
           array_to_string(n.after_ids, ', ') AS after_ids,
           'fixed_by, escalated_to (given)' AS links_used
    FROM change_cis AS c
    JOIN changes AS ch USING (change_id)
    LEFT JOIN counted AS n USING (change_id, ci)
)
SELECT * FROM final
ORDER BY incidents_before DESC, change_id, ci
