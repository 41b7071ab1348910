-- Migration 20: core.d2c_records, each record's (core.cases row's) fields the links and the
-- Detect-to-Correct marts read, its JSON attributes parsed once (sql/core/d2c_records.sql,
-- docs/d2c.md). Publishing writes the rows of the cases it rewrites in core.cases, in the
-- same transaction (load.publish_d2c_records); mining reads them (mine/d2c.py), instead of
-- parsing every record's attributes on every run. Keyed by case_id as core.cases is.
CREATE TABLE IF NOT EXISTS core.d2c_records (
    case_id             VARCHAR NOT NULL,
    case_type           VARCHAR NOT NULL,
    opened_at           TIMESTAMPTZ,
    resolved_at         TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    problem_id          VARCHAR,
    change_id           VARCHAR,
    service             VARCHAR,
    related_interaction VARCHAR,
    related_incident    VARCHAR,
    related_change      VARCHAR,
    related_problem     VARCHAR,
    caused_by_ci        VARCHAR,
    caused_by           VARCHAR,
    change_type         VARCHAR,   -- changes only: attributes.change_type, else category
    risk                VARCHAR,   -- changes only: attributes.risk, else priority
    emergency           VARCHAR,
    cab_approval        VARCHAR,
    implemented_at      TIMESTAMPTZ,   -- changes only (docs/d2c.md)
    implemented_by      VARCHAR,
    cis                 VARCHAR[] NOT NULL
);

-- a store of version 19: every record parsed by the model publishing uses (the `-- model:`
-- line is replaced by its SELECT: store.available_migrations)
DELETE FROM core.d2c_records;
CREATE OR REPLACE TEMP VIEW _d2c_parse_cases AS SELECT * FROM core.cases;
INSERT INTO core.d2c_records BY NAME
-- model: core/d2c_records
;
DROP VIEW _d2c_parse_cases;
