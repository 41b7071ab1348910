-- The migrations applied to the store (store.migrate creates it before the first one).
CREATE TABLE IF NOT EXISTS main.schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL
);
