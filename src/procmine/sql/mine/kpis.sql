-- marts.kpis: the ITSM KPIs per dimension ('all', 'source', 'sourcing', 'priority',
-- 'case_type') and key, over the whole log (period NULL) and per month the cases opened in.
-- response time: opened → first event of a [mining] response_stages stage (assignment or
-- acceptance); resolution time: opened → final resolution; first-contact resolution:
-- resolved with no hand-off and no reopen; reassignment: at least one hand-off; cost per
-- ticket: [cost] ticket_effort_h at the resolving group's rate plus the case's waste cost;
-- security: category matching [mining] security_categories.
CREATE OR REPLACE TABLE marts.kpis AS
WITH c AS (SELECT *, CAST(date_trunc('month', opened_at) AS DATE) AS month FROM marts.case_kpis)
SELECT CASE WHEN grouping(source) = 0 THEN 'source'
            WHEN grouping(sourcing) = 0 THEN 'sourcing'
            WHEN grouping(priority) = 0 THEN 'priority'
            WHEN grouping(case_type) = 0 THEN 'case_type'
            ELSE 'all' END AS dimension,
       CASE WHEN grouping(source) = 0 THEN coalesce(source, '(none)')
            WHEN grouping(sourcing) = 0 THEN coalesce(sourcing, '(none)')
            WHEN grouping(priority) = 0 THEN coalesce(priority, '(none)')
            WHEN grouping(case_type) = 0 THEN coalesce(case_type, '(none)')
            ELSE 'all' END AS key,
       CASE WHEN grouping(month) = 0 THEN month END AS period,
       count(*)::BIGINT AS cases,
       count(resolved_at)::BIGINT AS resolved,
       median(response_s) AS median_response_s,
       avg(response_s) AS mean_response_s,
       median(resolution_s) AS median_resolution_s,
       avg(resolution_s) AS mean_resolution_s,
       quantile_cont(resolution_s, 0.9) AS p90_resolution_s,
       avg(CAST(sla_met AS DOUBLE)) AS sla_rate,
       avg(CAST(reopened AS DOUBLE)) AS reopen_rate,
       avg(CAST(first_contact_resolution AS DOUBLE)) FILTER (WHERE resolved_at IS NOT NULL)
           AS first_contact_resolution_rate,
       avg(CASE WHEN handoffs > 0 THEN 1.0 ELSE 0.0 END) AS reassignment_rate,
       avg(handoffs) AS mean_handoffs,
       avg(cost) AS cost_per_ticket,
       avg(waste_cost) AS waste_cost_per_ticket,
       sum(waste_hours) AS waste_hours,
       count(*) FILTER (WHERE security)::BIGINT AS security_cases,
       median(resolution_s) FILTER (WHERE security) AS security_median_resolution_s,
       avg(resolution_s) FILTER (WHERE security) AS security_mean_resolution_s
FROM c
GROUP BY GROUPING SETS ((), (month), (source), (source, month), (sourcing), (sourcing, month),
                        (priority), (priority, month), (case_type), (case_type, month))
ORDER BY dimension, key, period NULLS FIRST;
