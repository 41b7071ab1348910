-- Migration 5: orchestration. Run history details, the waste heat map of every mining run
-- (for "what changed since last night"), and the incremental watermarks of API pulls.

ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS files_skipped BIGINT DEFAULT 0;
ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS files_failed BIGINT DEFAULT 0;
ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS mined BOOLEAN DEFAULT false;
ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS inputs_fingerprint VARCHAR;
ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS records_pulled BIGINT DEFAULT 0;
ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS prefect_flow_run_id VARCHAR;
ALTER TABLE marts.run_log ADD COLUMN IF NOT EXISTS summary_md VARCHAR;

-- The headline heat map as each mining run left it (one snapshot per run that mined).
CREATE TABLE IF NOT EXISTS marts.waste_heatmap_history (
    run_id      VARCHAR NOT NULL,
    mined_at    TIMESTAMPTZ NOT NULL,
    d2c_stage   VARCHAR,
    waste_type  VARCHAR,
    cases       BIGINT,
    hours       DOUBLE,
    cost        DOUBLE
);

-- Incremental pulls (ServiceNow Table API): the highest change timestamp already pulled,
-- per source and table. Published with the run that loaded the pulled records.
CREATE TABLE IF NOT EXISTS core.pull_watermarks (
    source      VARCHAR NOT NULL,
    table_name  VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,          -- sys_updated_on (incident), sys_created_on (sys_audit)
    watermark   VARCHAR NOT NULL,          -- ServiceNow internal datetime, UTC: 'YYYY-MM-DD HH:MM:SS'
    records     BIGINT NOT NULL,           -- records fetched by the pull that set it
    landing_file VARCHAR,
    run_id      VARCHAR,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, table_name)
);
