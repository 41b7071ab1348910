-- procmine compare: the directly-follows edges of each period's cases (_compare_period_case,
-- compare_period_cases.sql) from core.events in procmine's canonical order (ts, source_file,
-- source_row, seq), as marts.transitions counts them: occurrences, distinct cases and every
-- wait (seconds from an event to the next one of its case, sorted).
WITH events AS (
    SELECT * FROM core.events
),
period_cases AS (
    SELECT * FROM _compare_period_case
),
steps AS (
    SELECT pc.period,
           e.case_id,
           e.activity AS from_activity,
           lead(e.activity) OVER case_order AS to_activity,
           (lead(epoch_us(e.ts)) OVER case_order - epoch_us(e.ts)) / 1e6 AS wait_s
    FROM events AS e
    JOIN period_cases AS pc USING (case_id)
    WINDOW case_order AS (PARTITION BY e.case_id
                          ORDER BY e.ts, e.source_file, e.source_row, e.seq)
),
final AS (
    SELECT period,
           from_activity,
           to_activity,
           count(*) AS count,
           count(DISTINCT case_id) AS cases,
           list(wait_s ORDER BY wait_s) AS waits_s
    FROM steps
    WHERE to_activity IS NOT NULL
    GROUP BY period, from_activity, to_activity
)
SELECT * FROM final
ORDER BY period, count DESC, from_activity, to_activity
