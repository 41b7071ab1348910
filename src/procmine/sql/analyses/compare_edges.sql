-- procmine compare: the directly-follows edges of each period's cases (compare_cases.sql's
-- rule) from core.events in procmine's canonical order (ts, source_file, source_row, seq),
-- as marts.transitions counts them: occurrences, distinct cases and every wait (seconds from
-- an event to the next one of its case, sorted).
-- $before_start, $before_end, $after_start, $after_end: the periods' bounds (TIMESTAMPTZ).
WITH events AS (
    SELECT * FROM core.events
),
case_kpis AS (
    SELECT * FROM marts.case_kpis
),
periods AS (
    SELECT 'before' AS period, $before_start::TIMESTAMPTZ AS starts,
           $before_end::TIMESTAMPTZ AS ends
    UNION ALL
    SELECT 'after', $after_start::TIMESTAMPTZ, $after_end::TIMESTAMPTZ
),
period_cases AS (
    SELECT p.period, k.case_id
    FROM case_kpis AS k
    JOIN periods AS p ON k.opened_at >= p.starts AND k.opened_at < p.ends
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
