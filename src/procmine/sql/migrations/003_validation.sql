-- Migration 3: validation results (one row per expectation, source and run) and the raw
-- timestamp of quarantined rows (so released rows are re-validated as exported).
CREATE TABLE IF NOT EXISTS marts.validation_results (
    run_id             VARCHAR NOT NULL,
    suite              VARCHAR NOT NULL,   -- expectations/<suite>.json
    rule               VARCHAR NOT NULL,   -- the expectation's name (meta.rule), as in quarantine
    expectation        VARCHAR NOT NULL,   -- the Great Expectations type
    level              VARCHAR NOT NULL,   -- row, case or batch
    source             VARCHAR,            -- NULL for load-wide expectations
    column_name        VARCHAR,
    engine             VARCHAR NOT NULL,   -- gx (pandas batches) or duckdb (needs the whole load)
    success            BOOLEAN NOT NULL,
    element_count      BIGINT NOT NULL,
    unexpected_count   BIGINT NOT NULL,
    unexpected_percent DOUBLE,
    partial_unexpected JSON,               -- up to 20 unexpected values
    details            VARCHAR,            -- why a batch-level expectation failed
    validated_at       TIMESTAMPTZ NOT NULL
);

ALTER TABLE quarantine.events ADD COLUMN IF NOT EXISTS ts_raw VARCHAR;
