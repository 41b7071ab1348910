-- marts.case_kpis: one row per case: variant, duration, counts of each waste, times, SLA,
-- the ITSM per-ticket figures (response, resolution, first-contact resolution, cost).
-- A query over the cases being rewritten (mine/changes.py): mine/__init__.py writes it as the
-- whole mart or appends it. Inputs: _mine_case_rows (kpis.py; times in epoch microseconds,
-- -1 = none), _mine_case_id,
-- _mine_variant, _mine_step_key, _mine_holder_key, _mine_holder_rate(code, rate),
-- _mine_sla(priority, hours), _mine_security(category); core.cases.
WITH k AS (
    SELECT k.*,
           id.case_id,
           make_timestamp(k.first_us)::TIMESTAMPTZ AS first_ts,
           make_timestamp(k.last_us)::TIMESTAMPTZ AS last_ts,
           CASE WHEN k.response_us >= 0 THEN make_timestamp(k.response_us)::TIMESTAMPTZ END
               AS response_ts,
           CASE WHEN k.resolved_us >= 0 THEN make_timestamp(k.resolved_us)::TIMESTAMPTZ END
               AS event_resolved_ts
    FROM _mine_case_rows AS k
    JOIN _mine_case_id AS id USING (ci)
),
c AS (
    SELECT k.*,
           cc.case_type AS case_case_type, cc.source AS case_source, cc.priority, cc.category,
           cc.service, cc.sla_met AS case_sla_met, cc.problem_id, cc.change_id, cc.vendor,
           cc.sourcing AS case_sourcing, cc.closed_at,
           least(coalesce(cc.opened_at, k.first_ts), k.first_ts) AS opened_at,
           coalesce(k.event_resolved_ts, cc.resolved_at) AS resolved_at
    FROM k LEFT JOIN core.cases AS cc ON cc.case_id = k.case_id
)
SELECT c.case_id,
       v.variant_id,
       (c.last_us - c.first_us) / 1e6 AS duration_s,
       c.event_count::BIGINT AS event_count,
       c.handoffs::INTEGER AS handoffs,
       c.ping_pong::INTEGER AS ping_pong,
       c.reopens > 0 AS reopened,
       c.rework::INTEGER AS rework_events,
       c.waiting_s,
       coalesce(c.case_sla_met,
                CASE WHEN c.resolved_at IS NOT NULL AND sla.hours IS NOT NULL
                     THEN epoch(c.resolved_at) - epoch(c.opened_at) <= sla.hours * 3600 END)
           AS sla_met,
       c.case_case_type AS case_type,
       coalesce(c.case_source, first_step.source) AS source,
       c.priority,
       c.category,
       c.service,
       coalesce(c.case_sourcing, last_holder.sourcing) AS sourcing,
       first_holder.org_group AS first_group,
       last_holder.org_group AS last_group,
       last_holder.support_level AS last_support_level,
       c.opened_at,
       c.resolved_at,
       c.closed_at,
       c.first_ts AS first_event_at,
       c.last_ts AS last_event_at,
       greatest(epoch(c.response_ts) - epoch(c.opened_at), 0) AS response_s,
       epoch(c.resolved_at) - epoch(c.opened_at) AS resolution_s,
       c.reopens::INTEGER AS reopen_count,
       c.pp_direct::INTEGER AS ping_pong_direct,
       c.pp_indirect::INTEGER AS ping_pong_indirect,
       c.bounces::INTEGER AS escalation_bounces,
       c.deviations::INTEGER AS deviations,
       c.vendor_waiting_s,
       c.waste_hours,
       c.waste_cost,
       c.resolved_at IS NOT NULL AND c.handoffs = 0 AND c.reopens = 0
           AS first_contact_resolution,
       c.category IN (SELECT category FROM _mine_security) AS security,
       $ticket_effort_h * coalesce(rate.rate, $default_rate) + c.waste_cost AS cost,
       c.problem_id,
       c.change_id,
       c.vendor
FROM c
JOIN _mine_variant AS v ON v.vi = c.vi
LEFT JOIN _mine_step_key AS first_step ON first_step.code = c.first_x
LEFT JOIN _mine_holder_key AS first_holder ON first_holder.code = c.first_holder
LEFT JOIN _mine_holder_key AS last_holder ON last_holder.code = c.last_holder
LEFT JOIN _mine_holder_rate AS rate ON rate.code = c.last_holder
LEFT JOIN _mine_sla AS sla ON sla.priority = c.priority
