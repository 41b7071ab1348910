-- Migration 11: how many writes the store has had since DuckDB last merged its row groups
-- (store.writing: writes leave small appended row groups as they are; every COMPACT_EVERY-th
-- write merges them in its final checkpoint).
CREATE TABLE IF NOT EXISTS main.store_maintenance (
    writes_since_compaction INTEGER NOT NULL
);
