-- Migration 6: the mining index. core.events stays the canonical, readable event table; the
-- mining step reads a narrow, integer-coded copy kept in canonical order instead, so that it
-- is a plain scan (no joins to code tables, no hashing of case ids, no sort of every event):
--   core.case_keys    case_id -> case_key (dense, assigned when a case first gets events)
--   core.step_codes   (activity, d2c_stage, source) -> code
--   core.holder_codes (org_group, support_level, sourcing) -> code
--   core.event_codes  one row per event: (case_key, t = epoch µs, step, holder); each case's
--                     events contiguous, in canonical order (ts, source_file, source_row, seq)
-- publish_core.sql keeps it in step with core.events (core/event_index.sql); the mining
-- step rebuilds it when it finds it out of step (e.g. a database of migration 5 upgraded).
CREATE TABLE IF NOT EXISTS core.case_keys (
    case_key  UINTEGER NOT NULL,
    case_id   VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.step_codes (
    code      UINTEGER NOT NULL,
    activity  VARCHAR NOT NULL,
    d2c_stage VARCHAR,
    source    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.holder_codes (
    code          UINTEGER NOT NULL,
    org_group     VARCHAR,
    support_level VARCHAR,
    sourcing      VARCHAR
);

CREATE TABLE IF NOT EXISTS core.event_codes (
    case_key  UINTEGER NOT NULL,
    t         BIGINT NOT NULL,
    step      UINTEGER NOT NULL,
    holder    UINTEGER NOT NULL
);
