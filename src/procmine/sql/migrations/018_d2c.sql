-- Migration 18: the Detect-to-Correct chain marts (sql/marts/d2c_*.sql, link_summary.sql;
-- columns explained in docs/d2c.md). Every mart that follows links names the kinds and
-- origins it used in its `links_used` column. Rebuilt by every mining run.
CREATE TABLE IF NOT EXISTS marts.link_summary (
    kind VARCHAR, origin VARCHAR, rule VARCHAR, from_type VARCHAR, to_type VARCHAR,
    status VARCHAR, links BIGINT, example VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_incidents (
    incident_id VARCHAR, opened_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ, calls BIGINT, first_call_id VARCHAR, first_call_at TIMESTAMPTZ,
    call_to_incident_s DOUBLE, problem_id VARCHAR, problem_opened_at TIMESTAMPTZ,
    change_id VARCHAR, change_opened_at TIMESTAMPTZ, change_implemented_at TIMESTAMPTZ,
    induced_by BIGINT, induced_by_ids VARCHAR, chain_id VARCHAR, chain_type VARCHAR,
    links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_chains (
    chain_id VARCHAR, chain_type VARCHAR, incidents BIGINT, calls BIGINT,
    first_call_at TIMESTAMPTZ, first_incident_at TIMESTAMPTZ, problem_id VARCHAR,
    problem_opened_at TIMESTAMPTZ, change_id VARCHAR, change_opened_at TIMESTAMPTZ,
    change_implemented_at TIMESTAMPTZ, last_incident_closed_at TIMESTAMPTZ,
    call_to_incident_s DOUBLE, incident_to_problem_s DOUBLE, problem_to_change_s DOUBLE,
    incident_to_change_s DOUBLE, change_to_close_s DOUBLE, detect_to_fix_s DOUBLE,
    incident_ids VARCHAR, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_stage_times (
    stage VARCHAR, position INTEGER, from_type VARCHAR, to_type VARCHAR, grain VARCHAR,
    records BIGINT, median_s DOUBLE, p90_s DOUBLE, mean_s DOUBLE, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_calls_per_incident (
    calls BIGINT, incidents BIGINT, share DOUBLE, example_ids VARCHAR, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_waste_heatmap (
    case_type VARCHAR, d2c_stage VARCHAR, waste_type VARCHAR, linked BOOLEAN,
    records BIGINT, instances BIGINT, hours DOUBLE, cost DOUBLE, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_recurrence (
    change_id VARCHAR, ci VARCHAR, change_type VARCHAR, implemented_at TIMESTAMPTZ,
    linked_incidents BIGINT, first_linked_incident_at TIMESTAMPTZ, known_problem_days DOUBLE,
    window_days DOUBLE, incidents_before BIGINT, incidents_after BIGINT,
    before_ids VARCHAR, after_ids VARCHAR, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_changes (
    change_id VARCHAR, change_type VARCHAR, risk VARCHAR, emergency VARCHAR,
    cab_approval VARCHAR, opened_at TIMESTAMPTZ, implemented_at TIMESTAMPTZ,
    induced_incidents BIGINT, induced_given BIGINT, induced_inferred BIGINT,
    fixed_incidents BIGINT, evidence VARCHAR, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_change_failure (
    dimension VARCHAR, value VARCHAR, changes BIGINT, failed_changes BIGINT,
    change_failure_rate DOUBLE, induced_incidents BIGINT, evidence VARCHAR, links_used VARCHAR
);
CREATE TABLE IF NOT EXISTS marts.d2c_volumes (
    case_type VARCHAR, position INTEGER, records BIGINT, linked_records BIGINT,
    given_linked_records BIGINT, links_used VARCHAR
);
