-- Loaded files the extract step may recognise without reading them: path, size and
-- modification time (recorded when the file was read) → the checksum of its content.
SELECT path, size_bytes, mtime_ns, file_id
FROM core.load_registry
WHERE mtime_ns IS NOT NULL;
