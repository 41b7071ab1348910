-- Record one loaded file (pipeline step after publishing core).
INSERT INTO core.load_registry
    (file_id, path, size_bytes, mtime_ns, source, rows_read, events, quarantined, run_id,
     loaded_at)
VALUES ($file_id, $path, $size_bytes, $mtime_ns, $source, $rows_read, $events, $quarantined,
        $run_id, $loaded_at);
