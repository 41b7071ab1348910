-- A file was read and hashed to content the registry already holds under the same path (e.g.
-- touched, or loaded before migration 7): remember its current size and mtime, so the next
-- run recognises it without reading it.
UPDATE core.load_registry
SET mtime_ns = $mtime_ns
WHERE file_id = $file_id AND path = $path AND size_bytes = $size_bytes;
