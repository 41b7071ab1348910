-- Migration 2: the marts contract of DESIGN.md as empty tables, so every mart can be
-- queried before the first mining run. The mine step replaces their contents (it may add
-- columns; it never renames or drops the contract columns).
CREATE TABLE IF NOT EXISTS marts.variants (
    variant_id VARCHAR, activities VARCHAR[], case_count BIGINT, case_share DOUBLE,
    median_duration_s DOUBLE
);
CREATE TABLE IF NOT EXISTS marts.transitions (
    from_activity VARCHAR, to_activity VARCHAR, count BIGINT,
    median_wait_s DOUBLE, mean_wait_s DOUBLE, p90_wait_s DOUBLE
);
CREATE TABLE IF NOT EXISTS marts.activities (
    activity VARCHAR, event_count BIGINT, case_count BIGINT, start_count BIGINT, end_count BIGINT
);
CREATE TABLE IF NOT EXISTS marts.case_kpis (
    case_id VARCHAR, variant_id VARCHAR, duration_s DOUBLE, event_count BIGINT,
    handoffs INTEGER, ping_pong INTEGER, reopened BOOLEAN, rework_events INTEGER,
    waiting_s DOUBLE, sla_met BOOLEAN
);
CREATE TABLE IF NOT EXISTS marts.waste (
    case_id VARCHAR, d2c_stage VARCHAR, waste_type VARCHAR, hours DOUBLE, cost DOUBLE,
    evidence VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.waste_heatmap (
    d2c_stage VARCHAR, waste_type VARCHAR, cases BIGINT, hours DOUBLE, cost DOUBLE,
    share_of_cycle_time DOUBLE
);
CREATE TABLE IF NOT EXISTS marts.bottlenecks (
    dimension VARCHAR, key VARCHAR, d2c_stage VARCHAR, median_wait_s DOUBLE, cases BIGINT,
    rank INTEGER
);
CREATE TABLE IF NOT EXISTS marts.conformance (
    variant_id VARCHAR, fitness DOUBLE, deviations VARCHAR[]
);
CREATE TABLE IF NOT EXISTS marts.kpi_daily (
    day DATE, opened BIGINT, resolved BIGINT, backlog BIGINT, median_resolution_s DOUBLE,
    sla_rate DOUBLE
);
CREATE TABLE IF NOT EXISTS marts.waste_drivers (
    waste_type VARCHAR, attribute VARCHAR, value VARCHAR, cases BIGINT, support DOUBLE,
    lift DOUBLE
);
CREATE TABLE IF NOT EXISTS marts.handoff_matrix (
    dimension VARCHAR, from_key VARCHAR, to_key VARCHAR, handoffs BIGINT, cases BIGINT,
    added_wait_s DOUBLE
);
