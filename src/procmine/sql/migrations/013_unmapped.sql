-- Migration 12: activities without a stage are said, not punished; a failed validation can
-- be explained.
-- marts.conformance.unjudged_events: per variant, the events conformance did not judge (their
-- activity has no d2c stage; conformance.py projects them out of the aligned sequence).
ALTER TABLE marts.conformance ADD COLUMN IF NOT EXISTS unjudged_events BIGINT;
-- What the validation of a run stopped by a batch-level expectation would have quarantined
-- (its rows are rolled back with the run, so quarantine.events does not have them): per rule,
-- source and column, the rows and up to five examples (value, file, row, reason). Shown by
-- `procmine quarantine list --failed-run` and `procmine status`.
CREATE TABLE IF NOT EXISTS marts.failed_quarantine (
    run_id       VARCHAR NOT NULL,
    rule         VARCHAR NOT NULL,
    source       VARCHAR,
    column_name  VARCHAR,
    rows         BIGINT NOT NULL,
    examples     JSON,                 -- [{value, file, row, reason}], at most 5
    recorded_at  TIMESTAMPTZ NOT NULL
);
