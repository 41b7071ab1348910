-- Migration 1: schemas, canonical events and cases, load registry, run log.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;

-- Every file ever loaded (one row per distinct content).
CREATE TABLE IF NOT EXISTS core.load_registry (
    file_id      VARCHAR PRIMARY KEY,      -- sha256 of the content
    path         VARCHAR NOT NULL,
    size_bytes   BIGINT NOT NULL,
    source       VARCHAR NOT NULL,
    rows_read    BIGINT NOT NULL,
    events       BIGINT NOT NULL,
    quarantined  BIGINT NOT NULL,
    run_id       VARCHAR,
    loaded_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.events (
    event_id      VARCHAR,
    case_id       VARCHAR,
    case_type     VARCHAR,
    activity      VARCHAR,
    ts            TIMESTAMPTZ,
    resource      VARCHAR,
    org_group     VARCHAR,
    support_level VARCHAR,
    sourcing      VARCHAR,
    d2c_stage     VARCHAR,
    source        VARCHAR,
    source_file   VARCHAR,
    source_row    BIGINT,
    seq           INTEGER,                -- order of the event within its source row
    ts_raw        VARCHAR,                -- the timestamp as exported (kept for quarantine)
    run_id        VARCHAR
);

CREATE TABLE IF NOT EXISTS staging.cases (
    case_id        VARCHAR,
    case_type      VARCHAR,
    source         VARCHAR,
    priority       VARCHAR,
    category       VARCHAR,
    service        VARCHAR,
    opened_at      TIMESTAMPTZ,
    resolved_at    TIMESTAMPTZ,
    closed_at      TIMESTAMPTZ,
    sla_met        BOOLEAN,
    reopen_count   INTEGER,
    problem_id     VARCHAR,
    change_id      VARCHAR,
    vendor         VARCHAR,
    sourcing       VARCHAR,
    attributes     JSON
);

CREATE TABLE IF NOT EXISTS core.events (
    event_id      VARCHAR NOT NULL,      -- unique; enforced by the publish step (anti-join)
    case_id       VARCHAR NOT NULL,
    case_type     VARCHAR NOT NULL,
    activity      VARCHAR NOT NULL,
    ts            TIMESTAMPTZ NOT NULL,
    resource      VARCHAR,
    org_group     VARCHAR,
    support_level VARCHAR,
    sourcing      VARCHAR NOT NULL,
    d2c_stage     VARCHAR,
    source        VARCHAR NOT NULL,
    source_file   VARCHAR NOT NULL,
    source_row    BIGINT NOT NULL,
    seq           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS core.cases (
    case_id        VARCHAR NOT NULL,     -- one row per case (upserted by the publish step)
    case_type      VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    priority       VARCHAR,
    category       VARCHAR,
    service        VARCHAR,
    opened_at      TIMESTAMPTZ,
    resolved_at    TIMESTAMPTZ,
    closed_at      TIMESTAMPTZ,
    sla_met        BOOLEAN,
    reopen_count   INTEGER,
    problem_id     VARCHAR,
    change_id      VARCHAR,
    vendor         VARCHAR,
    sourcing       VARCHAR,
    attributes     JSON
);

CREATE TABLE IF NOT EXISTS quarantine.events (
    run_id        VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,       -- the failed expectation / check
    column_name   VARCHAR,
    bad_value     VARCHAR,
    reason        VARCHAR NOT NULL,
    event_id      VARCHAR,
    case_id       VARCHAR,
    case_type     VARCHAR,
    activity      VARCHAR,
    ts            TIMESTAMPTZ,
    resource      VARCHAR,
    org_group     VARCHAR,
    support_level VARCHAR,
    sourcing      VARCHAR,
    d2c_stage     VARCHAR,
    source        VARCHAR,
    source_file   VARCHAR,
    source_row    BIGINT,
    seq           INTEGER,
    quarantined_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS marts.run_log (
    run_id             VARCHAR PRIMARY KEY,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
    status             VARCHAR NOT NULL,  -- running, success, failed, failed_validation
    files_loaded       BIGINT NOT NULL DEFAULT 0,
    events_loaded      BIGINT NOT NULL DEFAULT 0,
    events_quarantined BIGINT NOT NULL DEFAULT 0,
    command            VARCHAR,
    message            VARCHAR
);
