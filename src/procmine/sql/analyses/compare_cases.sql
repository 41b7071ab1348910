-- procmine compare: the cases of the two compared periods and their KPI figures. A case
-- belongs to the period its open time falls in (marts.case_kpis.opened_at: the record's
-- opened time, or its first event when that is earlier), start inclusive, end exclusive;
-- all its events count, also those after the period's end.
-- $before_start, $before_end, $after_start, $after_end: the periods' bounds (TIMESTAMPTZ).
WITH case_kpis AS (
    SELECT * FROM marts.case_kpis
),
periods AS (
    SELECT 'before' AS period, $before_start::TIMESTAMPTZ AS starts,
           $before_end::TIMESTAMPTZ AS ends
    UNION ALL
    SELECT 'after', $after_start::TIMESTAMPTZ, $after_end::TIMESTAMPTZ
),
final AS (
    SELECT p.period,
           k.case_id,
           k.variant_id,
           k.opened_at,
           k.resolved_at IS NOT NULL AS resolved,
           k.resolution_s,
           k.response_s,
           k.duration_s,
           k.sla_met,
           k.reopened,
           k.first_contact_resolution,
           k.handoffs,
           k.ping_pong,
           k.waste_hours
    FROM case_kpis AS k
    JOIN periods AS p ON k.opened_at >= p.starts AND k.opened_at < p.ends
)
SELECT * FROM final
ORDER BY period, case_id
