-- The weeks drift detection reads (mine/drift.py weekly_series), from the mining index
-- rather than core.events. Input: _mine_drift_case (ci, first_us, last_us: each case's first
-- and last event, epoch microseconds; drift.case_tables). Each case in the week of its first
-- event; complete weeks only (the events reach past the week's end and cases were opened in
-- it or later), the last $window_weeks of them. Monday weeks, UTC (the store's session time
-- zone).
WITH drift_cases AS (
    SELECT * FROM _mine_drift_case
),
case_weeks AS (
    SELECT ci, date_trunc('week', make_timestamp(first_us)::TIMESTAMPTZ)::DATE AS week
    FROM drift_cases
),
bounds AS (
    SELECT (SELECT max(week) FROM case_weeks) AS last_opened,
           (SELECT make_timestamp(max(last_us))::TIMESTAMPTZ FROM drift_cases) AS last_event
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
