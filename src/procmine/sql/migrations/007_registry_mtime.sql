-- Migration 7: the load registry remembers each file's modification time (nanoseconds since
-- the epoch), beside its path and size. The extract step recognises a landing file whose
-- path, size and mtime equal a registry row as that row's content without reading it; NULL
-- (files loaded before this migration, or modified moments before they were read) means
-- "hash it".
ALTER TABLE core.load_registry ADD COLUMN IF NOT EXISTS mtime_ns BIGINT;
