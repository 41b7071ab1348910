-- marts.d2c_calls_per_incident: the distribution of calls per incident (service-desk load
-- from one fault): how many incidents had 0, 1, 2, ... calls (given reported_as links to
-- interactions in the store), their share of all incidents, and a few of them to look up.
-- Reads marts.d2c_incidents (the linked incidents), core.d2c_records (every incident).
-- Params: $evidence_ids.
WITH incidents AS NOT MATERIALIZED (
    SELECT * FROM marts.d2c_incidents
),
records AS (
    SELECT case_id FROM core.d2c_records WHERE case_type = 'incident'
),
called AS (
    SELECT incident_id, calls FROM incidents WHERE calls > 0
),
with_calls AS (
    SELECT calls, count(*) AS incidents,
           array_to_string(min(incident_id, $evidence_ids), ', ') AS example_ids
    FROM called
    GROUP BY calls
),
without_calls AS (
    SELECT 0::BIGINT AS calls, count(*) AS incidents,
           array_to_string(min(case_id, $evidence_ids), ', ') AS example_ids
    FROM records
    WHERE case_id NOT IN (SELECT incident_id FROM called)
    HAVING count(*) > 0
),
final AS (
    SELECT calls, incidents, incidents / sum(incidents) OVER () AS share, example_ids,
           'reported_as (given)' AS links_used
    FROM (SELECT * FROM without_calls UNION ALL SELECT * FROM with_calls)
)
SELECT * FROM final
ORDER BY calls
