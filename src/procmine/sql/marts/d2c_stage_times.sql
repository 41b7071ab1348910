-- marts.d2c_stage_times: the Detect-to-Correct stages in flow order with how many records
-- reach each and the median, 90th percentile and mean time (seconds). 'call_to_incident' is
-- per incident (its first call to its opening, marts.d2c_incidents); the others per chain
-- (marts.d2c_chains). Reads both.
WITH incidents AS (
    SELECT * FROM marts.d2c_incidents
),
chains AS (
    SELECT * FROM marts.d2c_chains
),
times AS (
    SELECT 'call_to_incident' AS stage, 1 AS position, 'interaction' AS from_type,
           'incident' AS to_type, 'incident' AS grain, call_to_incident_s AS s,
           'reported_as (given)' AS links_used
    FROM incidents
    UNION ALL
    SELECT 'incident_to_problem', 2, 'incident', 'problem', 'chain', incident_to_problem_s,
           'escalated_to (given)'
    FROM chains
    UNION ALL
    SELECT 'problem_to_change', 3, 'problem', 'change', 'chain', problem_to_change_s,
           'escalated_to, fixed_by (given)'
    FROM chains
    UNION ALL
    SELECT 'incident_to_change', 4, 'incident', 'change', 'chain', incident_to_change_s,
           'fixed_by (given)'
    FROM chains
    UNION ALL
    SELECT 'change_to_close', 5, 'change', 'incident', 'chain', change_to_close_s,
           'fixed_by (given)'
    FROM chains
    UNION ALL
    SELECT 'detect_to_fix', 6, 'interaction', 'change', 'chain', detect_to_fix_s,
           'reported_as, escalated_to, fixed_by (given)'
    FROM chains
),
final AS (
    SELECT stage, position, from_type, to_type, grain, count(s) AS records,
           median(s) AS median_s, quantile_cont(s, 0.9) AS p90_s, avg(s) AS mean_s,
           links_used
    FROM times
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY position
