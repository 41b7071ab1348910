-- marts.kpis: the ITSM KPIs per dimension ('all', 'source', 'sourcing', 'priority',
-- 'case_type') and key, over the whole log (period NULL) and per month the cases opened in.
-- response time: opened → first event of a [mining] response_stages stage (assignment or
-- acceptance); resolution time: opened → final resolution; first-contact resolution:
-- resolved with no hand-off and no reopen; reassignment: at least one hand-off; cost per
-- ticket: [cost] ticket_effort_h at the resolving group's rate plus the case's waste cost;
-- security: category matching [mining] security_categories. Clock (mine/clock.py): the
-- resolution time with the clock stopped in customer and policy waits (clock_resolution_s of
-- marts.case_kpis) and the hours of those waits beside the elapsed figures.
-- The additive figures (counts, sums: every rate and mean is sum / count) are taken once per
-- (source, sourcing, priority, case_type, month) and rolled up into the grouping sets; only
-- the medians and the 90th percentile read every case in each grouping set.
WITH case_kpis AS NOT MATERIALIZED (
    SELECT * FROM marts.case_kpis
),
case_months AS MATERIALIZED (   -- read by both aggregations: computed once
    SELECT source, sourcing, priority, case_type,
           -- the UTC month (the store's session time zone), without time zone lookups
           CAST(date_trunc('month', make_timestamp(epoch_us(opened_at))) AS DATE) AS month,
           resolved_at, response_s, resolution_s, sla_met, reopened, first_contact_resolution,
           handoffs, cost, waste_cost, waste_hours, security, clock_resolution_s,
           customer_wait_s, policy_wait_s
    FROM case_kpis
),
fine_sums AS (   -- per (source, sourcing, priority, case_type, month)
    SELECT source, sourcing, priority, case_type, month,
           count(*) AS cases,
           count(resolved_at) AS resolved,
           sum(response_s) AS response_sum, count(response_s) AS response_n,
           sum(resolution_s) AS resolution_sum, count(resolution_s) AS resolution_n,
           count(*) FILTER (WHERE sla_met) AS sla_met, count(sla_met) AS sla_n,
           count(*) FILTER (WHERE reopened) AS reopened, count(reopened) AS reopened_n,
           count(*) FILTER (WHERE first_contact_resolution AND resolved_at IS NOT NULL)
               AS fcr,
           count(first_contact_resolution) FILTER (WHERE resolved_at IS NOT NULL) AS fcr_n,
           count(*) FILTER (WHERE handoffs > 0) AS reassigned,
           sum(handoffs) AS handoffs_sum, count(handoffs) AS handoffs_n,
           sum(cost) AS cost_sum, count(cost) AS cost_n,
           sum(waste_cost) AS waste_cost_sum, count(waste_cost) AS waste_cost_n,
           sum(waste_hours) AS waste_hours,
           count(*) FILTER (WHERE security) AS security_cases,
           sum(resolution_s) FILTER (WHERE security) AS security_resolution_sum,
           count(resolution_s) FILTER (WHERE security) AS security_resolution_n,
           sum(clock_resolution_s) AS clock_resolution_sum,
           count(clock_resolution_s) AS clock_resolution_n,
           sum(customer_wait_s) / 3600 AS customer_wait_hours,
           sum(policy_wait_s) / 3600 AS policy_wait_hours
    FROM case_months GROUP BY ALL
),
additive AS (
    SELECT grouping(source, sourcing, priority, case_type) AS grouping_id,
           source, sourcing, priority, case_type, month,
           sum(cases) AS cases, sum(resolved) AS resolved,
           sum(response_sum) AS response_sum, sum(response_n) AS response_n,
           sum(resolution_sum) AS resolution_sum, sum(resolution_n) AS resolution_n,
           sum(sla_met) AS sla_met, sum(sla_n) AS sla_n,
           sum(reopened) AS reopened, sum(reopened_n) AS reopened_n,
           sum(fcr) AS fcr, sum(fcr_n) AS fcr_n, sum(reassigned) AS reassigned,
           sum(handoffs_sum) AS handoffs_sum, sum(handoffs_n) AS handoffs_n,
           sum(cost_sum) AS cost_sum, sum(cost_n) AS cost_n,
           sum(waste_cost_sum) AS waste_cost_sum, sum(waste_cost_n) AS waste_cost_n,
           sum(waste_hours) AS waste_hours, sum(security_cases) AS security_cases,
           sum(security_resolution_sum) AS security_resolution_sum,
           sum(security_resolution_n) AS security_resolution_n,
           sum(clock_resolution_sum) AS clock_resolution_sum,
           sum(clock_resolution_n) AS clock_resolution_n,
           sum(customer_wait_hours) AS customer_wait_hours,
           sum(policy_wait_hours) AS policy_wait_hours
    FROM fine_sums
    GROUP BY GROUPING SETS ((), (month), (source), (source, month), (sourcing),
                            (sourcing, month), (priority), (priority, month), (case_type),
                            (case_type, month))
),
holistic AS (
    SELECT grouping(source, sourcing, priority, case_type) AS grouping_id,
           source, sourcing, priority, case_type, month,
           median(response_s) AS median_response_s,
           quantile_cont(resolution_s, [0.5, 0.9]) AS resolution_q,   -- one sort for both
           median(resolution_s) FILTER (WHERE security) AS security_median_resolution_s,
           median(clock_resolution_s) AS median_clock_resolution_s
    FROM case_months
    GROUP BY GROUPING SETS ((), (month), (source), (source, month), (sourcing),
                            (sourcing, month), (priority), (priority, month), (case_type),
                            (case_type, month))
),
final AS (
    SELECT CASE a.grouping_id WHEN 7 THEN 'source' WHEN 11 THEN 'sourcing'   -- 1 bit per
                              WHEN 13 THEN 'priority' WHEN 14 THEN 'case_type'   -- dimension
                              ELSE 'all' END AS dimension,                      -- not grouped by
           CASE a.grouping_id WHEN 7 THEN coalesce(a.source, '(none)')
                              WHEN 11 THEN coalesce(a.sourcing, '(none)')
                              WHEN 13 THEN coalesce(a.priority, '(none)')
                              WHEN 14 THEN coalesce(a.case_type, '(none)')
                              ELSE 'all' END AS key,
           a.month AS period,
           a.cases::BIGINT AS cases,
           a.resolved::BIGINT AS resolved,
           h.median_response_s,
           a.response_sum / nullif(a.response_n, 0) AS mean_response_s,
           h.resolution_q[1] AS median_resolution_s,
           a.resolution_sum / nullif(a.resolution_n, 0) AS mean_resolution_s,
           h.resolution_q[2] AS p90_resolution_s,
           a.sla_met / nullif(a.sla_n, 0) AS sla_rate,
           a.reopened / nullif(a.reopened_n, 0) AS reopen_rate,
           a.fcr / nullif(a.fcr_n, 0) AS first_contact_resolution_rate,
           a.reassigned / a.cases AS reassignment_rate,
           a.handoffs_sum / nullif(a.handoffs_n, 0) AS mean_handoffs,
           a.cost_sum / nullif(a.cost_n, 0) AS cost_per_ticket,
           a.waste_cost_sum / nullif(a.waste_cost_n, 0) AS waste_cost_per_ticket,
           a.waste_hours,
           a.security_cases::BIGINT AS security_cases,
           h.security_median_resolution_s,
           a.security_resolution_sum / nullif(a.security_resolution_n, 0)
               AS security_mean_resolution_s,
           h.median_clock_resolution_s,
           a.clock_resolution_sum / nullif(a.clock_resolution_n, 0) AS mean_clock_resolution_s,
           a.customer_wait_hours,
           a.policy_wait_hours
    FROM additive AS a
    JOIN holistic AS h
      ON h.grouping_id = a.grouping_id AND h.source IS NOT DISTINCT FROM a.source
     AND h.sourcing IS NOT DISTINCT FROM a.sourcing AND h.priority IS NOT DISTINCT FROM a.priority
     AND h.case_type IS NOT DISTINCT FROM a.case_type AND h.month IS NOT DISTINCT FROM a.month
)
SELECT * FROM final
ORDER BY dimension, key, period NULLS FIRST
