-- procmine compare: the cases of the two compared periods (_compare_period_case,
-- compare_period_cases.sql) and their KPI figures.
WITH period_cases AS (
    SELECT * FROM _compare_period_case
),
case_kpis AS (
    SELECT * FROM marts.case_kpis
),
final AS (
    SELECT pc.period,
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
    JOIN period_cases AS pc USING (case_id)
)
SELECT * FROM final
ORDER BY period, case_id
