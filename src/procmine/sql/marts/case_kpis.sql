-- marts.case_kpis: one row per case: variant, duration, counts of each waste, times, SLA,
-- the ITSM per-ticket figures (response, resolution, first-contact resolution, cost).
-- The rows of the cases being rewritten (mine/changes.py): mine/__init__.py materialises it
-- as the whole mart or appends it. Inputs: _mine_case_rows (kpis.py; times in epoch
-- microseconds, -1 = none, and as TIMESTAMPTZ first_ts, last_ts, response_us_ts,
-- resolved_us_ts), _mine_case_id, _mine_variant, _mine_step_key, _mine_holder_key,
-- _mine_holder_rate(code, rate), _mine_sla(priority, hours), _mine_security(category);
-- $ticket_effort_h, $default_rate (core.cases' columns come with _mine_case_id).
-- Clock (mine/clock.py): customer_wait_s / policy_wait_s: the case's clock-stopped waits
-- (waiting for the user; resolved until closed and planned waits); resolution_s is elapsed
-- (opened → final resolution), clock_resolution_s the same without the clock-stopped time
-- before the resolution (the SLA clock's view); waiting_s and waste hours are internal only.
WITH case_rows AS (
    SELECT * FROM _mine_case_rows
),
case_ids AS (
    SELECT * FROM _mine_case_id
),
variants AS (
    SELECT * FROM _mine_variant
),
step_keys AS (
    SELECT * FROM _mine_step_key
),
holder_keys AS NOT MATERIALIZED (
    SELECT * FROM _mine_holder_key
),
holder_rates AS (
    SELECT * FROM _mine_holder_rate
),
sla_targets AS (
    SELECT * FROM _mine_sla
),
security_categories AS (
    SELECT * FROM _mine_security
),
case_times AS (   -- with the case's core.cases columns (NULL: no row), case_ids.sql
    SELECT r.*,
           id.case_id,
           id.case_type AS case_case_type, id.source AS case_source, id.priority,
           id.category, id.service, id.sla_met AS case_sla_met, id.problem_id, id.change_id,
           id.vendor, id.sourcing AS case_sourcing, id.closed_at,
           id.opened_at AS case_opened_at, id.resolved_at AS case_resolved_at,
           CASE WHEN r.response_us >= 0 THEN r.response_us_ts END AS response_ts,
           CASE WHEN r.resolved_us >= 0 THEN r.resolved_us_ts END AS event_resolved_ts
    FROM case_rows AS r
    JOIN case_ids AS id USING (ci)
),
case_attributes AS (
    SELECT t.*,
           least(coalesce(t.case_opened_at, t.first_ts), t.first_ts) AS opened_at,
           coalesce(t.event_resolved_ts, t.case_resolved_at) AS resolved_at
    FROM case_times AS t
),
final AS (
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
                         THEN epoch(c.resolved_at) - epoch(c.opened_at) <= sla.hours * 3600
                    END) AS sla_met,
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
           c.category IN (SELECT category FROM security_categories) AS security,
           $ticket_effort_h * coalesce(rate.rate, $default_rate) + c.waste_cost AS cost,
           c.problem_id,
           c.change_id,
           c.vendor,
           c.customer_wait_s,
           c.policy_wait_s,
           epoch(c.resolved_at) - epoch(c.opened_at) - c.stopped_resolution_s
               AS clock_resolution_s
    FROM case_attributes AS c
    JOIN variants AS v ON v.vi = c.vi
    LEFT JOIN step_keys AS first_step ON first_step.code = c.first_x
    LEFT JOIN holder_keys AS first_holder ON first_holder.code = c.first_holder
    LEFT JOIN holder_keys AS last_holder ON last_holder.code = c.last_holder
    LEFT JOIN holder_rates AS rate ON rate.code = c.last_holder
    LEFT JOIN sla_targets AS sla ON sla.priority = c.priority
)
SELECT * FROM final
