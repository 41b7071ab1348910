-- The weeks drift detection reads (mine/drift.py): each case in the week of its first event;
-- complete weeks only (the events reach past the week's end and cases were opened in it or
-- later), the last $window_weeks of them. Monday weeks, UTC (the store's session time zone).
WITH events AS (
    SELECT * FROM core.events
),
case_weeks AS (
    SELECT case_id, date_trunc('week', min(ts))::DATE AS week
    FROM events GROUP BY case_id
),
bounds AS (
    SELECT (SELECT max(week) FROM case_weeks) AS last_opened,
           (SELECT max(ts) FROM events) AS last_event
),
complete AS (
    SELECT DISTINCT c.week
    FROM case_weeks AS c, bounds AS b
    WHERE c.week <= b.last_opened AND c.week + INTERVAL 7 DAY <= b.last_event
),
final AS (
    SELECT week FROM complete
    ORDER BY week DESC
    LIMIT $window_weeks
)
SELECT * FROM final
ORDER BY week
