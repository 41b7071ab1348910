-- Migration 10: what the last mining run wrote, so that the next one rewrites only the rows
-- of marts.case_kpis and marts.waste of the cases that changed (mine/changes.py): per case
-- key a signature of its events and core.cases row, and a fingerprint of the mining settings
-- and code. Empty tables mean "rewrite every case".
CREATE SCHEMA IF NOT EXISTS mining;
CREATE TABLE IF NOT EXISTS mining.case_state (
    case_key   UINTEGER NOT NULL,
    signature  UBIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS mining.run_state (
    fingerprint VARCHAR NOT NULL
);
