-- Rows held in quarantine.events per failed rule and column (the $limit largest), with one
-- example of the offending value and of the reason.
WITH quarantined AS (
    SELECT * FROM quarantine.events
),
final AS (
    SELECT rule, coalesce(column_name, '') AS column_name, count(*) AS rows_quarantined,
           count(DISTINCT run_id) AS runs, count(DISTINCT source) AS sources,
           min(left(bad_value, 80)) AS example_value, min(left(reason, 160)) AS example_reason
    FROM quarantined
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY rows_quarantined DESC, rule, column_name
LIMIT $limit
