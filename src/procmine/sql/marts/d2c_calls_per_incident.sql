-- marts.d2c_calls_per_incident: the distribution of calls per incident (service-desk load
-- from one fault): how many incidents had 0, 1, 2, ... calls (given reported_as links to
-- interactions in the store), their share of all incidents, and a few of them to look up.
-- Reads marts.d2c_incidents. Params: $evidence_ids.
WITH incidents AS (
    SELECT * FROM marts.d2c_incidents
),
final AS (
    SELECT calls, count(*) AS incidents,
           count(*) / sum(count(*)) OVER () AS share,
           array_to_string(list(incident_id ORDER BY incident_id)[1:$evidence_ids], ', ')
               AS example_ids,
           'reported_as (given)' AS links_used
    FROM incidents
    GROUP BY calls
)
SELECT * FROM final
ORDER BY calls
