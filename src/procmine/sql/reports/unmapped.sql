-- The activities without a d2c stage (marts.activities.d2c_stage NULL: no stage table maps
-- them), with the log's totals: its events, its cases and the cases with at least one
-- unmapped event (from the variants' activity sequences). The waste page states them.
WITH unmapped AS (
    SELECT activity, event_count, case_count FROM marts.activities WHERE d2c_stage IS NULL
),
names AS (SELECT coalesce(list(activity), []) AS activities FROM unmapped),
totals AS (
    SELECT sum(v.case_count)::BIGINT AS total_cases,
           coalesce(sum(v.case_count) FILTER (
               WHERE list_has_any(v.activities, n.activities)), 0)::BIGINT AS unmapped_cases
    FROM marts.variants AS v, names AS n
)
SELECT u.activity, u.event_count, u.case_count,
       (SELECT sum(event_count) FROM marts.activities)::BIGINT AS total_events,
       (SELECT sum(event_count) FROM unmapped)::BIGINT AS unmapped_events,
       t.total_cases, t.unmapped_cases
FROM unmapped AS u, totals AS t
ORDER BY u.event_count DESC, u.activity;
