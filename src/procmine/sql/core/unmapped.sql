-- Events of core whose activity has no Detect-to-Correct stage (d2c_stage NULL: the source's
-- stage table and [stages] do not list it), per source and activity: the unmapped activities
-- (procmine/unmapped.py). Cases are distinct case ids, as the run summary counts core's.
-- The totals come first (source and activity NULL), then the activities, most events first.
WITH unmapped AS (
    SELECT source, case_id, activity FROM core.events WHERE d2c_stage IS NULL
)
SELECT NULL AS source, NULL AS activity, count(*) AS events,
       count(DISTINCT case_id) AS cases, 0 AS rank
FROM unmapped
UNION ALL
SELECT source, activity, count(*) AS events, count(DISTINCT case_id) AS cases, 1 AS rank
FROM unmapped
GROUP BY source, activity
ORDER BY rank, events DESC, source, activity;
