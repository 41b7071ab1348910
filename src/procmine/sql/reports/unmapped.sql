-- The activities without a d2c stage (marts.activities.d2c_stage NULL: no stage table maps
-- them), with the log's totals: its events, its cases and the cases with at least one
-- unmapped event (from the variants' activity sequences). The waste page states them.
WITH activities AS (
    SELECT activity, d2c_stage, event_count, case_count FROM marts.activities
),
variants AS (
    SELECT activities, case_count FROM marts.variants
),
unmapped AS (
    SELECT activity, event_count, case_count FROM activities WHERE d2c_stage IS NULL
),
unmapped_names AS (
    SELECT coalesce(list(activity), []) AS names FROM unmapped
),
case_totals AS (
    SELECT sum(v.case_count)::BIGINT AS total_cases,
           coalesce(sum(v.case_count) FILTER (
               WHERE list_has_any(v.activities, n.names)), 0)::BIGINT AS unmapped_cases
    FROM variants AS v, unmapped_names AS n
),
event_totals AS (
    SELECT (SELECT sum(event_count) FROM activities)::BIGINT AS total_events,
           (SELECT sum(event_count) FROM unmapped)::BIGINT AS unmapped_events
),
final AS (
    SELECT u.activity, u.event_count, u.case_count, e.total_events, e.unmapped_events,
           t.total_cases, t.unmapped_cases
    FROM unmapped AS u, event_totals AS e, case_totals AS t
)
SELECT * FROM final
ORDER BY event_count DESC, activity
