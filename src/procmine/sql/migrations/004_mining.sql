-- Migration 4: the mining step's marts beyond DESIGN.md's list (ITSM KPIs, daily backlog)
-- and the columns it adds to the contract marts, so all of them can be queried before the
-- first mining run (each run replaces them with CREATE OR REPLACE TABLE, same columns).
CREATE TABLE IF NOT EXISTS marts.kpis (
    dimension VARCHAR, key VARCHAR, period DATE, cases BIGINT, resolved BIGINT,
    median_response_s DOUBLE, mean_response_s DOUBLE, median_resolution_s DOUBLE,
    mean_resolution_s DOUBLE, p90_resolution_s DOUBLE, sla_rate DOUBLE, reopen_rate DOUBLE,
    first_contact_resolution_rate DOUBLE, reassignment_rate DOUBLE, mean_handoffs DOUBLE,
    cost_per_ticket DOUBLE, waste_cost_per_ticket DOUBLE, waste_hours DOUBLE,
    security_cases BIGINT, security_median_resolution_s DOUBLE,
    security_mean_resolution_s DOUBLE
);
CREATE TABLE IF NOT EXISTS marts.backlog (
    day DATE, d2c_stage VARCHAR, open_cases BIGINT
);

ALTER TABLE marts.variants ADD COLUMN IF NOT EXISTS mean_duration_s DOUBLE;
ALTER TABLE marts.variants ADD COLUMN IF NOT EXISTS event_count BIGINT;
ALTER TABLE marts.variants ADD COLUMN IF NOT EXISTS rank INTEGER;
ALTER TABLE marts.transitions ADD COLUMN IF NOT EXISTS total_wait_s DOUBLE;
ALTER TABLE marts.activities ADD COLUMN IF NOT EXISTS d2c_stage VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS case_type VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS source VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS priority VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS category VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS service VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS sourcing VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS first_group VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS last_group VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS last_support_level VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS opened_at TIMESTAMPTZ;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMPTZ;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS closed_at TIMESTAMPTZ;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS first_event_at TIMESTAMPTZ;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS last_event_at TIMESTAMPTZ;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS response_s DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS resolution_s DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS reopen_count INTEGER;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS ping_pong_direct INTEGER;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS ping_pong_indirect INTEGER;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS escalation_bounces INTEGER;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS deviations INTEGER;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS vendor_waiting_s DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS waste_hours DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS waste_cost DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS first_contact_resolution BOOLEAN;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS security BOOLEAN;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS cost DOUBLE;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS problem_id VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS change_id VARCHAR;
ALTER TABLE marts.case_kpis ADD COLUMN IF NOT EXISTS vendor VARCHAR;
ALTER TABLE marts.waste_heatmap ADD COLUMN IF NOT EXISTS instances BIGINT;
ALTER TABLE marts.bottlenecks ADD COLUMN IF NOT EXISTS total_delay_s DOUBLE;
ALTER TABLE marts.bottlenecks ADD COLUMN IF NOT EXISTS mean_wait_s DOUBLE;
ALTER TABLE marts.bottlenecks ADD COLUMN IF NOT EXISTS steps BIGINT;
ALTER TABLE marts.bottlenecks ADD COLUMN IF NOT EXISTS overall_rank INTEGER;
ALTER TABLE marts.conformance ADD COLUMN IF NOT EXISTS case_count BIGINT;
ALTER TABLE marts.conformance ADD COLUMN IF NOT EXISTS log_moves INTEGER;
ALTER TABLE marts.conformance ADD COLUMN IF NOT EXISTS model_moves INTEGER;
ALTER TABLE marts.conformance ADD COLUMN IF NOT EXISTS reference_model VARCHAR;
ALTER TABLE marts.kpi_daily ADD COLUMN IF NOT EXISTS sla_breaches BIGINT;
ALTER TABLE marts.waste_drivers ADD COLUMN IF NOT EXISTS base_share DOUBLE;
ALTER TABLE marts.waste_drivers ADD COLUMN IF NOT EXISTS waste_rate DOUBLE;
ALTER TABLE marts.waste_drivers ADD COLUMN IF NOT EXISTS value_cases BIGINT;
ALTER TABLE marts.handoff_matrix ADD COLUMN IF NOT EXISTS median_added_wait_s DOUBLE;

ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS detail VARCHAR;
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS org_group VARCHAR;
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS sourcing VARCHAR;
ALTER TABLE marts.waste ADD COLUMN IF NOT EXISTS ts TIMESTAMPTZ;
