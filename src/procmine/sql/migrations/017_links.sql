-- Migration 17: core.links, the links between records of different types (issue #18,
-- docs/d2c.md). Rebuilt from core.cases by every mining run (mine/d2c.py): given links from
-- the records' reference fields (problem_id, change_id, attributes related_* and caused_by),
-- inferred links from the configured rules ([links.rules.<name>]), kept apart by `origin`.
CREATE TABLE IF NOT EXISTS core.links (
    from_type   VARCHAR NOT NULL,    -- the earlier D2C stage first (interaction -> incident ...)
    from_id     VARCHAR NOT NULL,
    to_type     VARCHAR NOT NULL,
    to_id       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,    -- reported_as, escalated_to, fixed_by, induced, same_ci
    origin      VARCHAR NOT NULL,    -- 'given' | 'inferred'
    rule        VARCHAR NOT NULL,    -- the field a given link came from, or the rule's name
    evidence    VARCHAR,             -- what a person can check
    to_exists   BOOLEAN NOT NULL,    -- the `to` record is in the store (given links to
    from_exists BOOLEAN NOT NULL     -- records not in the store are kept and flagged)
);
