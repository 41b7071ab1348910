-- marts.d2c_change_failure: the change failure rate as DORA defines it (the share of changes
-- that lead to an incident) by change type, risk, emergency and CAB approval, and over all
-- changes (dimension 'all'): changes, failed changes (at least one induced incident),
-- change_failure_rate, induced_incidents (distinct incidents induced by the group's changes:
-- an incident two changes of the group induced counts once) and evidence (the failed changes
-- with most induced incidents). A change without the attribute counts under '(none)'.
-- Reads marts.d2c_changes, core.links. Params: $evidence_ids.
WITH changes AS (
    SELECT * FROM marts.d2c_changes
),
induced AS (
    SELECT DISTINCT from_id AS change_id, to_id AS incident_id
    FROM core.links
    WHERE kind = 'induced' AND from_type = 'change' AND from_exists AND to_exists
),
dimensions AS MATERIALIZED (
    SELECT change_id, induced_incidents, 'all' AS dimension, 'all changes' AS value
    FROM changes
    UNION ALL
    SELECT change_id, induced_incidents, 'change_type', coalesce(change_type, '(none)')
    FROM changes
    UNION ALL
    SELECT change_id, induced_incidents, 'risk', coalesce(risk, '(none)') FROM changes
    UNION ALL
    SELECT change_id, induced_incidents, 'emergency', coalesce(emergency, '(none)')
    FROM changes
    UNION ALL
    SELECT change_id, induced_incidents, 'cab_approval', coalesce(cab_approval, '(none)')
    FROM changes
),
per_value AS (
    SELECT dimension, value, count(*) AS changes,
           count(*) FILTER (WHERE induced_incidents > 0) AS failed_changes,
           array_to_string(list(change_id ORDER BY induced_incidents DESC, change_id)
                           FILTER (WHERE induced_incidents > 0)[1:$evidence_ids], ', ')
               AS evidence
    FROM dimensions
    GROUP BY dimension, value
),
incidents AS (
    SELECT d.dimension, d.value, count(DISTINCT i.incident_id) AS induced_incidents
    FROM dimensions AS d
    JOIN induced AS i USING (change_id)
    GROUP BY d.dimension, d.value
),
final AS (
    SELECT p.dimension, p.value, p.changes, p.failed_changes,
           p.failed_changes / p.changes AS change_failure_rate,
           coalesce(i.induced_incidents, 0) AS induced_incidents, p.evidence,
           'induced (given and inferred)' AS links_used
    FROM per_value AS p
    LEFT JOIN incidents AS i USING (dimension, value)
)
SELECT * FROM final
ORDER BY dimension, induced_incidents DESC, value
